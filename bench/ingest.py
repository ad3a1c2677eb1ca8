"""``ingest``: ``/v1/batch`` next to a bare Django + Redis endpoint, both saturated by wrk.

Both servers run the same gunicorn command shape with 2 workers (:data:`PRODUCTION_WEB_COMMAND`
and :data:`BARE_WEB_COMMAND`) against a private Redis; segmix also has its fresh PostgreSQL
database with one source and a six-preset destination, and no Celery worker (ingest only).
Goal: segmix ≥ 40% of the bare endpoint, ≈ 40,000 events/s.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import loadgen, profiling
from .pipeline import (
    BARE_WEB_COMMAND,
    BATCH,
    PRODUCTION_WEB_COMMAND,
    WORKDIR,
    Db,
    Options,
    Section,
    not_available,
    prepare_database,
    production_env,
    profiled,
    shown,
    start_web,
    vacuum_note,
)
from .postgres import StandInAutovacuum, postgres_settings
from .stack import (
    CpuMeter,
    NotAvailable,
    Stack,
    format_cores,
    load_average,
    named_pids,
    start_redis,
)


@dataclass
class Target:
    name: str
    result: loadgen.WrkResult
    cores: dict[str, float]
    command: str
    stored: int | None  # events the database gained during the measured run (segmix only)


def ingest_section(options: Options) -> Section:
    title = "Ingest: `/v1/batch` vs a bare Django + Redis endpoint"
    workdir = WORKDIR / "ingest"
    warm, measured = options.ingest_seconds
    targets: list[Target] = []
    notes: list[str] = []
    profiles: list[str] = []
    pg: dict[str, str] = {}
    try:
        if not loadgen.ensure_wrk():
            raise NotAvailable(
                "wrk is not installed and could not be installed (apt-get install wrk)"
            )
        with Stack(workdir, 2 * (warm + measured) + 400) as stack:
            env = production_env(options.database_url, start_redis(stack), workdir)
            write_key = prepare_database(options, env, workdir, with_destination=True)
            pg = postgres_settings(options.database_url)
            bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
            db = Db(options.database_url)
            with StandInAutovacuum(options.database_url) as vacuum:
                for name, template, web_env in (
                    ("bare", BARE_WEB_COMMAND, bare_env),
                    ("segmix", PRODUCTION_WEB_COMMAND, env),
                ):
                    count = db.events if name == "segmix" else None
                    target = _measure(
                        options, stack, workdir, name, template, web_env, write_key, count, profiles
                    )
                    targets.append(target)
                    if target.stored is not None:
                        notes.append(_stored_note(target.stored, target.result, options))
            notes.append(vacuum_note(vacuum))
            db.close()
    except (NotAvailable, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        if not targets:
            return not_available(title, exc)
        notes.append(f"Stopped early: {exc}")
    return _ingest_lines(title, options, targets, notes, pg, "\n".join(profiles))


def _measure(
    options: Options,
    stack: Stack,
    workdir: Path,
    name: str,
    template: str,
    env: dict[str, str],
    write_key: str,
    count: Callable[[], int] | None,
    profiles: list[str],
) -> Target:
    """Start ``name``'s server, warm it up, saturate it for the measured time, stop it."""
    warm, measured = options.ingest_seconds
    body = loadgen.batch_template(BATCH)
    print(f"ingest: starting {name} web server …", flush=True)
    url = start_web(stack, f"web-{name}", template, env) + loadgen.BATCH_PATH
    web = stack.procs[-1]

    def wrk(seconds: float, label: str) -> loadgen.WrkResult:
        return loadgen.run_wrk(
            url,
            body,
            write_key,
            seconds=seconds,
            connections=options.wrk_connections,
            threads=options.wrk_threads,
            workdir=workdir,
            label=label,
        )

    print(f"ingest: {name}: warm-up {warm:.0f} s", flush=True)
    wrk(warm, f"{name}-warmup")
    time.sleep(1)  # requests in flight when wrk stopped commit before counting
    before = count() if count else 0
    print(f"ingest: {name}: measuring {measured:.0f} s (load {load_average()})", flush=True)
    meter = CpuMeter(stack, lambda: {"wrk": named_pids("wrk")}, options.database_name)
    meter.start()
    with profiled(options, f"web-{name}", profiling.children(web.pid), measured, workdir, profiles):
        result = wrk(measured, name)
    cores = meter.stop()
    time.sleep(1)
    stored = count() - before if count else None
    stack.stop(web)
    print(
        f"ingest: {name}: {result.requests_per_second:,.0f} req/s = "
        f"{result.requests_per_second * BATCH:,.0f} events/s; non-2xx {result.non_2xx}; "
        f"cores: {format_cores(cores)}",
        flush=True,
    )
    return Target(name, result, cores, shown(template, bind="127.0.0.1:PORT"), stored)


def _stored_note(stored: int, result: loadgen.WrkResult, options: Options) -> str:
    """Events stored vs 200s: wrk stops without reading the answers still in flight."""
    expected = result.ok_requests * BATCH
    in_flight = options.wrk_connections * BATCH
    ok = expected <= stored <= expected + in_flight
    return (
        f"Events stored by the measured run: {stored:,}; accepted requests × {BATCH} = "
        f"{expected:,} (+ at most {in_flight:,} from requests in flight when wrk stopped): "
        + ("consistent ✓." if ok else "**inconsistent ✗**.")
    )


def _ingest_lines(
    title: str,
    options: Options,
    targets: list[Target],
    notes: list[str],
    pg: dict[str, str],
    profile: str,
) -> Section:
    warm, measured = options.ingest_seconds
    any_result = targets[0].result
    lines = [
        f"## {title}",
        "",
        f"Each server gets {warm:.0f} s of warm-up, then {measured:.0f} s measured with wrk "
        f"(`{any_result.command}`): every request is a {BATCH}-message batch (~79 KB, the "
        "realistic mix of `bench/events.py`, unique messageIds per request, Basic-auth write "
        "key). Requests/s count 2xx answers only. CPU is the average number of cores each "
        "group of processes used during the measured run (`postgres` = the bench database's "
        "backends, `postgres-shared` = WAL writer, checkpointer …, `other` = everything outside "
        "the benchmark, e.g. other people's test runs on a shared machine).",
        "",
        "| server | command | requests/s | events/s | latency p50 / p99 | non-2xx | CPU (cores) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in targets:
        result, cores = t.result, t.cores
        lines.append(
            f"| {t.name} | `{t.command}` | {result.requests_per_second:,.0f} | "
            f"{result.requests_per_second * BATCH:,.0f} | {result.latency_ms['p50']:.0f} / "
            f"{result.latency_ms['p99']:.0f} ms | {result.non_2xx:,} | {format_cores(cores)} |"
        )
    figures: dict[str, float] = {}
    by_name = {t.name: t.result for t in targets}
    if "bare" in by_name and "segmix" in by_name:
        bare = by_name["bare"].requests_per_second
        ours = by_name["segmix"].requests_per_second
        ratio = ours / bare if bare else 0.0
        figures = {
            "ingest_events_per_second": ours * BATCH,
            "bare_events_per_second": bare * BATCH,
            "ingest_ratio": ratio,
        }
        verdict = "met" if ratio >= 0.4 and ours * BATCH >= 40_000 else "not met"
        lines += [
            "",
            f"**segmix = {ratio:.0%} of the bare endpoint** ({ours * BATCH:,.0f} vs "
            f"{bare * BATCH:,.0f} events/s). Goal: ≥ 40% of bare, ≈ 40,000 events/s — "
            f"**{verdict}**.",
        ]
    lines += ["", *[f"- {n}" for n in notes]]
    if pg:
        lines.append(
            f"- segmix environment: `{PRODUCTION_WEB_COMMAND.format(bind='127.0.0.1:PORT')}` "
            f"with DEBUG=0, generated SECRET_KEY and SEGMIX_ENCRYPTION_KEY, "
            f"ALLOWED_HOSTS=127.0.0.1, SEGMIX_HTTPS=0, a fresh PostgreSQL database "
            f"(PostgreSQL {pg.get('server_version')}, synchronous_commit={pg.get('synchronous_commit')}, "
            f"fsync={pg.get('fsync')}, shared_buffers={pg.get('shared_buffers')}, "
            f"max_wal_size={pg.get('max_wal_size')}, "
            f"autovacuum={pg.get('autovacuum')}), a private "
            "redis-server, rate limits raised (SEGMIX_RATE_LIMIT_REQUESTS=1000000, "
            "SEGMIX_RATE_LIMIT_MESSAGES=100000000) so one synthetic source is never refused; "
            "one enabled destination with the six presets, no Celery worker running."
        )
    lines.append(
        "- bare: `bench/bare/` — Django with no apps or middleware, one view that reads the "
        "body, parses it with orjson and LPUSHes it to Redis (LTRIM in the same round trip)."
    )
    lines.append("")
    return Section(lines, figures, profile)
