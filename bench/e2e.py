"""``e2e``: paced ingest at the goal rate while Celery delivers to the fake Mixpanel.

Measures the rate at which source events are fully processed (accepted − still open), the
records per second arriving at the fake, and the backlog of open ``Delivery`` rows over time.
Goal: ≥ 10,000 events/s sustained for 5 minutes with a bounded backlog (``--quick``: 30 s).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import loadgen, profiling
from .pipeline import (
    BATCH,
    WORKDIR,
    Options,
    Pipeline,
    Section,
    fake_get,
    fake_records,
    not_available,
    pipeline_stack,
    profiled,
    prove_delivery,
    shown_env,
    vacuum_note,
    wait_drained,
)
from .stack import CpuMeter, NotAvailable, format_cores, load_average

SAMPLE_EVERY = 5.0  # seconds; the fake's counters (O(records) to compute) every third sample


@dataclass
class Sample:
    t: float
    accepted: int  # events the sender got a 200 for
    open: int  # deliveries still pending or retrying
    records: int | None  # records at the fake since the start (not every sample)

    @property
    def processed(self) -> int:
        return self.accepted - self.open


@dataclass
class Run:
    samples: list[Sample]
    load: loadgen.PacedResult
    cores: dict[str, float]
    drained: float | None
    drain_limit: float
    fake_stats: dict
    statuses: dict[str, int]


def e2e_section(options: Options) -> Section:
    title = "End to end: ingest → Celery → fake Mixpanel"
    workdir = WORKDIR / "e2e"
    warm, measured = options.e2e_seconds
    drain_limit = 60 if options.quick else 180
    profiles: list[str] = []
    try:
        with pipeline_stack(options, workdir, warm + measured + drain_limit + 600) as p:
            print("e2e: proving one batch gets through …", flush=True)
            prove_delivery(p, 90)
            run = _run(options, p, workdir, drain_limit, profiles)
            return Section(*_lines(title, options, p, run), profile="\n".join(profiles))
    except (NotAvailable, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        return not_available(title, exc)


def _run(
    options: Options, p: Pipeline, workdir: Path, drain_limit: float, profiles: list[str]
) -> Run:
    warm, measured = options.e2e_seconds
    start_records = fake_records(p.fake)
    print(
        f"e2e: offering {options.e2e_rate:,.0f} events/s for {warm:.0f} s warm-up + "
        f"{measured:.0f} s (load {load_average()})",
        flush=True,
    )
    pids = _children_of(p, "worker") + _children_of(p, "web")
    load = loadgen.PacedLoad(
        "127.0.0.1",
        p.port,
        p.write_key,
        events_per_second=options.e2e_rate,
        seconds=warm + measured,
        threads=16,
    )
    try:
        window_start = load.started_at + warm
        time.sleep(max(0.0, window_start - time.time()))
        samples: list[Sample] = []
        meter = CpuMeter(p.stack, database=options.database_name)
        meter.start()
        with profiled(options, "e2e", pids, min(measured, 60), workdir, profiles):
            while True:
                p.stack.check_alive()
                samples.append(_sample(p, load, start_records, len(samples) % 3 == 0))
                _print(samples[-1], samples[0], options.e2e_rate)
                remaining = window_start + measured - time.time()
                if remaining <= 0.5:
                    break
                next_at = window_start + SAMPLE_EVERY * len(samples)
                time.sleep(max(0.0, min(next_at - time.time(), remaining)))
            samples.append(_sample(p, load, start_records, True))
            cores = meter.stop()
        result = load.wait()
    finally:
        load.kill()
    print("e2e: load stopped; draining the backlog …", flush=True)
    drained = wait_drained(p, drain_limit)
    return Run(
        samples,
        result,
        cores,
        drained,
        drain_limit,
        fake_get(p.fake, "/_fake/stats"),
        p.db.statuses(),
    )


def _children_of(p: Pipeline, name: str) -> list[int]:
    return profiling.children(next(x for x in p.stack.procs if x.name == name).pid)


def _sample(p: Pipeline, load: loadgen.PacedLoad, start_records: int, with_records: bool) -> Sample:
    return Sample(
        t=time.time(),
        accepted=load.accepted_events,
        open=p.db.open_deliveries(),
        records=fake_records(p.fake) - start_records if with_records else None,
    )


def _print(s: Sample, first: Sample, offered: float) -> None:
    elapsed = s.t - first.t
    rate = (s.processed - first.processed) / elapsed if elapsed > 0 else 0.0
    records = f", fake records {s.records:,}" if s.records is not None else ""
    print(
        f"  t={elapsed:5.0f}s accepted {s.accepted:,} open {s.open:,} "
        f"processed {rate:,.0f}/s (offered {offered:,.0f}){records}",
        flush=True,
    )


def _lines(title: str, options: Options, p: Pipeline, run: Run) -> tuple[list[str], dict]:
    warm, measured = options.e2e_seconds
    samples, result, stats = run.samples, run.load, run.fake_stats
    first, last = samples[0], samples[-1]
    span = last.t - first.t
    rate = (last.processed - first.processed) / span if span else 0.0
    accepted_rate = (last.accepted - first.accepted) / span if span else 0.0
    counted = [s for s in samples if s.records is not None]
    rec_span = counted[-1].t - counted[0].t if len(counted) > 1 else 0.0
    record_rate = (counted[-1].records - counted[0].records) / rec_span if rec_span else 0.0
    slope = _slope([(s.t, s.open) for s in samples if s.t >= first.t + span / 2])
    max_open = max(s.open for s in samples)
    # Bounded: not growing over the second half, and under 10 s worth of offered events.
    bounded = slope <= 0.02 * options.e2e_rate and last.open <= 10 * options.e2e_rate
    mode = "quick (SEGMIX_BENCH_QUICK / --quick)" if options.quick else "full"
    met = rate >= 10_000 and bounded and measured >= 300
    drained = (
        f"{run.drained:.0f} s"
        if run.drained is not None
        else f"not drained within {run.drain_limit:.0f} s"
    )
    lines = [
        f"## {title}",
        "",
        f"Mode: **{mode}** — {warm:.0f} s warm-up, then **{measured:.0f} s measured**. A paced "
        f"sender offers {options.e2e_rate:,.0f} events/s ({BATCH}-message batches); web, "
        "Celery worker, beat, PostgreSQL, Redis and the fake Mixpanel share the machine. "
        "Processed = accepted by ingest − deliveries still open; counted from PostgreSQL every "
        f"{SAMPLE_EVERY:.0f} s.",
        "",
        f"- web: `{p.commands['web']}`",
        f"- worker: `{p.commands['worker']}`",
        f"- beat: `{p.commands['beat']}`",
        f"- fake Mixpanel: `{p.commands['fake']}`; destination: six presets, API secret auth, "
        "`SEGMIX_MIXPANEL_API_URL` pointing at the fake",
        f"- environment: `{shown_env(p.env)}` (flush, relay and linger settings at their "
        "defaults unless listed)",
        f"- {vacuum_note(p.vacuum)}",
        "",
        "| measure | result | goal |",
        "| --- | --- | --- |",
        f"| offered / accepted by ingest | {options.e2e_rate:,.0f} / {accepted_rate:,.0f} "
        f"events/s (ingest p50 {result.latency_ms['p50']:.0f} ms, p99 "
        f"{result.latency_ms['p99']:.0f} ms; failed requests {result.failures()}; not sent because "
        f"ingest fell behind: {result.behind:,} of {result.planned:,}) | — |",
        f"| **source events processed end to end** | **{rate:,.0f} events/s** | "
        "≥ 10,000 events/s for 5 min |",
        f"| records arriving at the fake Mixpanel | {record_rate:,.0f} records/s | — |",
        f"| backlog (open deliveries) at start / max / end of window | {first.open:,} / "
        f"{max_open:,} / {last.open:,}; second-half trend {slope:+,.0f} rows/s | "
        f"bounded: **{'yes' if bounded else 'no'}** |",
        f"| drain after the load stopped | {drained} | — |",
        f"| fake Mixpanel totals | records {json.dumps(stats.get('records_by_endpoint'))}; "
        f"duplicates {stats.get('duplicates')}; failed {stats.get('failed_records')}; dropped "
        f"{stats.get('dropped_records')}; responses "
        f"{json.dumps(stats.get('responses_by_status'))} | no duplicates, no failures |",
        f"| delivery rows by status (after the drain) | "
        f"{json.dumps(run.statuses, sort_keys=True)} | — |",
        f"| CPU during the window (cores) | {format_cores(run.cores)} | — |",
        "",
        "Goal (≥ 10,000 events/s sustained for 5 minutes, backlog bounded): "
        f"**{'met' if met else 'not met'}**"
        + ("" if measured >= 300 else " (quick run: not a 5-minute measurement)")
        + ".",
        "",
    ]
    return lines, {"e2e_events_per_second": rate}


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (rows per second) of ``(t, value)`` points."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0
