"""``latency``: ingest-to-Mixpanel latency at a fixed rate.

Every event carries ``properties.bench_sent_ns``; a record's latency is the time the fake
Mixpanel received the ``/import`` request carrying it minus that send time. Measured at half
the end-to-end rate, and at 5,000 events/s (the goal: p99 ≤ 2 s) when half is lower.
"""

from __future__ import annotations

import subprocess

from . import loadgen
from .pipeline import (
    BATCH,
    WORKDIR,
    Options,
    Section,
    fake_get,
    fake_reset,
    not_available,
    pipeline_stack,
    prove_delivery,
    vacuum_note,
    wait_drained,
)
from .stack import NotAvailable, load_average

GOAL_RATE = 5000.0  # events/s at which p99 must be ≤ 2 s


def latency_rates(e2e_rate: float | None) -> list[tuple[float, str]]:
    """Half the measured e2e rate, and the goal's 5,000 events/s when half is below it."""
    if not e2e_rate:
        return [(GOAL_RATE, "goal rate (no end-to-end figure in this run)")]
    half = e2e_rate / 2
    if half >= GOAL_RATE:
        return [(half, "half the end-to-end rate")]
    # Half first: a goal-rate run the pipeline cannot keep up with leaves a backlog that would
    # leave nothing to measure after it.
    rates = [(half, "half the end-to-end rate")] if half >= BATCH else []
    rates.append((GOAL_RATE, "goal rate (half the end-to-end rate is lower)"))
    return rates


def latency_section(options: Options, e2e_rate: float | None) -> Section:
    title = "Latency: ingest → fake Mixpanel"
    workdir = WORKDIR / "latency"
    warm, measured = options.latency_seconds
    rates = latency_rates(e2e_rate)
    drain_limit = 60 if options.quick else 120
    budget = len(rates) * (warm + measured + drain_limit + 120) + 600
    rows: list[str] = []
    figures: dict[str, float] = {}
    try:
        with pipeline_stack(options, workdir, budget) as p:
            print("latency: proving one batch gets through …", flush=True)
            per_batch = prove_delivery(p, 90)
            port = p.port
            drained: float | None = 0.0
            for rate, why in rates:
                if drained is None:
                    rows.append(
                        f"| {rate:,.0f} events/s | {why} | skipped: the previous run's backlog "
                        "did not drain | | | | | | | |"
                    )
                    continue
                fake_reset(p.fake)
                print(
                    f"latency: {rate:,.0f} events/s for {warm + measured:.0f} s "
                    f"(load {load_average()})",
                    flush=True,
                )
                load = loadgen.PacedLoad(
                    "127.0.0.1",
                    port,
                    p.write_key,
                    events_per_second=rate,
                    seconds=warm + measured,
                    threads=16,
                )
                try:
                    result = load.wait()
                finally:
                    load.kill()
                window_from_ns = int((load.started_at + warm) * 1e9)
                drained = wait_drained(p, drain_limit)
                latencies, expected = _arrival_latencies(p.fake, window_from_ns, result, per_batch)
                row = _latency_row(rate, why, result, latencies, expected, drained, drain_limit)
                rows.append(row)
                print("latency:", row, flush=True)
                if expected:
                    # The goal is judged at 5,000 events/s (or more); half the end-to-end rate,
                    # when lower, is reported beside it.
                    prefix = "latency" if rate >= GOAL_RATE else "latency_half"
                    figures[f"{prefix}_rate"] = rate
                    figures[f"{prefix}_p99_ms"] = _with_missing(latencies, expected, 99) * 1000
            commands = p.commands
            vacuum = vacuum_note(p.vacuum)
    except (NotAvailable, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        if not rows:
            return not_available(title, exc)
        rows.append(f"| stopped early: {exc} | | | | | | | | | |")
        commands = {}
        vacuum = ""
    lines = [
        f"## {title}",
        "",
        f"Fixed-rate `/v1/batch` traffic ({BATCH}-message batches) for {warm:.0f} s warm-up + "
        f"{measured:.0f} s; only events sent after the warm-up count. Every event carries "
        "`properties.bench_sent_ns` (wall clock just before its request was sent); a record's "
        "latency is the time the fake Mixpanel received the `/import` request carrying it "
        "(`GET /_fake/requests` `time`) minus that send time, so it covers ingest, the flush "
        f"linger, the worker and the HTTP call (track/page/screen records; "
        "profile updates carry no send time). Same processes and settings as the end-to-end "
        "section" + (f" (`{commands['worker']}`)" if commands else "") + ". " + vacuum,
        "",
        "| rate | why | records arrived of expected | p50 | p90 | p99 | max | "
        "ingest HTTP p50 / p99 | drained after | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    if "latency_p99_ms" in figures:
        met = figures["latency_p99_ms"] <= 2000
        lines += [
            f"Goal (p99 ≤ 2 s at 5,000 events/s; measured at {figures['latency_rate']:,.0f}): "
            f"**{'met' if met else 'not met'}**.",
            "",
        ]
    return Section(lines, figures)


def _arrival_latencies(
    fake: str, window_from_ns: int, result: loadgen.PacedResult, per_batch: int
) -> tuple[list[float], int]:
    """Sorted latencies (s) of the ``/import`` records of batches sent at or after
    ``window_from_ns``, and how many such records were expected (``per_batch`` × the batches
    of the window that ingest accepted). Records not (yet) at the fake count as infinitely late
    in the percentiles.
    """
    arrived = {
        r["seq"]: r["time"] for r in fake_get(fake, "/_fake/requests?path=/import")["requests"]
    }
    latencies = []
    for record in fake_get(fake, "/_fake/records?endpoint=/import", timeout=600)["records"]:
        sent = record["properties"].get("bench_sent_ns")
        at = arrived.get(record["request_seq"])
        if isinstance(sent, int) and sent >= window_from_ns and at is not None:
            latencies.append(at - sent / 1e9)
    latencies.sort()
    in_window = sum(1 for sent in result.ok_sent_ns if sent >= window_from_ns)
    return latencies, max(len(latencies), in_window * per_batch)


def _with_missing(latencies: list[float], expected: int, pct: float) -> float:
    """Percentile counting the ``expected - len(latencies)`` missing records as infinite."""
    if not expected:
        return 0.0
    rank = max(0, min(expected - 1, round(pct / 100 * expected + 0.5) - 1))
    return latencies[rank] if rank < len(latencies) else float("inf")


def _latency_row(
    rate: float,
    why: str,
    result: loadgen.PacedResult,
    latencies: list[float],
    expected: int,
    drained: float | None,
    drain_limit: float,
) -> str:
    def ms(pct: float) -> str:
        value = _with_missing(latencies, expected, pct)
        if value == float("inf"):
            return "not arrived"
        return f"{value * 1000:,.0f} ms" if expected else "—"

    p99 = _with_missing(latencies, expected, 99)
    goal = "—"
    if rate >= GOAL_RATE:
        goal = "≤ 2 s p99: " + ("**met**" if expected and p99 <= 2.0 else "**not met**")
    drained_text = f"{drained:.0f} s" if drained is not None else f"not within {drain_limit:.0f} s"
    accepted = result.ok * BATCH / result.seconds if result.seconds else 0.0
    return (
        f"| {rate:,.0f} events/s (ingest accepted {accepted:,.0f}/s) | {why} | "
        f"{len(latencies):,} of {expected:,} | {ms(50)} | {ms(90)} | **{ms(99)}** | {ms(100)} | "
        f"{result.latency_ms['p50']:.0f} / {result.latency_ms['p99']:.0f} ms "
        f"(failed {result.failures()}, not sent {result.behind}) | {drained_text} | {goal} |"
    )
