"""``python -m bench [engine] [costs] [ingest] [e2e] [latency] [--quick] [--profile]``.

Runs the named sections (all of them when none is named), in that order, and rewrites
docs/benchmarks.md with one table per section, the command that produced them, the machine and
the versions used. ``--quick`` (or ``SEGMIX_BENCH_QUICK=1``) shortens the pipeline runs for
development (the end-to-end run lasts 30 s instead of 5 minutes; the page says so).
``--profile`` samples the web and worker processes with py-spy, when it is installed, and
prints where their time went. Ctrl-C stops every process a section started.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.pipeline import Options

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ALL_SECTIONS = ["engine", "costs", "ingest", "e2e", "latency"]
FLAGS = {"--quick", "--profile"}


def engine_lines() -> list[str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segmix_site.settings")
    os.environ.setdefault("DEBUG", "1")  # as `make bench` sets it: local settings, no secrets
    import django

    django.setup()
    from bench.engine import engine_rates

    rates = engine_rates()
    lines = [
        "## Engine (one core)",
        "",
        "A 50,000-event realistic mix (55% track, 5% Order Completed, 15% page, 5% screen, "
        "12% identify, 8% group; web and mobile contexts). Each event is checked against the "
        "six preset triggers and run through every matching preset mapping. Best of 3 runs.",
        "",
        "| measure | result | goal |",
        "| --- | --- | --- |",
    ]
    for name, rate in rates.items():
        goal = (
            "≥ 40,000 (Segment's Node engine: ~19,000)"
            if name.startswith("triggers + mappings (")
            else "—"
        )
        lines.append(f"| {name} | {rate:,.0f} | {goal} |")
        print(f"{name}: {rate:,.0f}")
    lines.append("")
    return lines


def _versions() -> str:
    names = ["Django", "gunicorn", "celery", "redis", "psycopg", "orjson"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (missing)")
    for tool, argv in (
        ("redis-server", ["redis-server", "--version"]),
        ("wrk", ["wrk", "--version"]),
    ):
        if shutil.which(tool):
            out = subprocess.run(argv, capture_output=True, text=True).stdout.split()
            found.append(
                f"{tool} {next((w[2:] for w in out if w.startswith('v=')), out[1] if len(out) > 1 else '?')}"
            )
    return ", ".join(found)


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        memory = ""
    return f"{os.cpu_count()} cores ({model or platform.machine()}){memory}"


def summary(figures: dict[str, float], sections: list[str], quick: bool) -> list[str]:
    """The issue's three goals side by side (details in the sections below)."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    rows = []
    if "ingest" in sections:
        if "ingest_ratio" in figures:
            ours, ratio = figures["ingest_events_per_second"], figures["ingest_ratio"]
            rows.append(
                f"| ingest `/v1/batch` (100-message batches) | {ours:,.0f} events/s = "
                f"{ratio:.0%} of the bare endpoint ({figures['bare_events_per_second']:,.0f}) | "
                f"≥ 40% of bare, ≈ 40,000 events/s | {verdict(ratio >= 0.4 and ours >= 40_000)} |"
            )
        else:
            rows.append("| ingest `/v1/batch` | not available (see below) | ≥ 40% of bare | — |")
    if "e2e" in sections:
        if "e2e_events_per_second" in figures:
            rate = figures["e2e_events_per_second"]
            span = "30 s (quick)" if quick else "5 min"
            rows.append(
                f"| end to end, sustained {span} | {rate:,.0f} events/s | ≥ 10,000 events/s "
                f"for 5 min | {verdict(rate >= 10_000 and not quick)} |"
            )
        else:
            rows.append("| end to end | not available (see below) | ≥ 10,000 events/s | — |")
    if "latency" in sections:

        def p99_shown(key: str) -> str:
            p99 = figures[key]
            return "records still missing" if p99 == float("inf") else f"{p99 / 1000:,.2f} s"

        if "latency_half_p99_ms" in figures:
            rows.append(
                f"| p99 ingest → Mixpanel at half the end-to-end rate "
                f"({figures['latency_half_rate']:,.0f} events/s) | "
                f"{p99_shown('latency_half_p99_ms')} | (reported) | — |"
            )
        if "latency_p99_ms" in figures:
            rows.append(
                f"| p99 ingest → Mixpanel at {figures['latency_rate']:,.0f} events/s | "
                f"{p99_shown('latency_p99_ms')} | ≤ 2 s at 5,000 events/s | "
                f"{verdict(figures['latency_p99_ms'] <= 2000)} |"
            )
        else:
            rows.append("| p99 latency at 5,000 events/s | not measured (see below) | ≤ 2 s | — |")
    if not rows:
        return []
    return [
        "## Summary",
        "",
        "| measure | result | goal | verdict |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
    ]


def main(argv: list[str]) -> None:
    unknown = [a for a in argv if a.startswith("-") and a not in FLAGS]
    sections = [a for a in argv if not a.startswith("-")]
    bad = [s for s in sections if s not in ALL_SECTIONS] + unknown
    if bad:
        raise SystemExit(f"unknown section or flag {bad}; sections: {ALL_SECTIONS}, flags: {FLAGS}")
    sections = sections or ALL_SECTIONS
    quick = "--quick" in argv or os.environ.get("SEGMIX_BENCH_QUICK", "") in {"1", "true", "yes"}
    shown = " ".join(argv)
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{'python -m bench ' + shown if shown else 'make bench'}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {platform.python_implementation()} "
        f"{platform.python_version()}, {_machine()}, load average at start "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}.",
        "",
        f"Versions: {_versions()}.",
        "",
    ]
    if any(s != "engine" for s in sections):
        lines += [
            "Everything runs on this one machine: load generator, web, workers, PostgreSQL, "
            "Redis and the fake Mixpanel compete for the same cores, so the pipeline figures "
            "are what a single 2-core box does, not what segmix does per core. The CPU columns "
            "show who used the cores; `other` is load from outside the benchmark, which makes a "
            "run pessimistic.",
            "",
        ]
    profiles: list[str] = []
    figures: dict[str, float] = {}
    e2e_rate: float | None = None
    summary_at = len(lines)
    if "engine" in sections:
        lines += engine_lines()
    if any(s in sections for s in ("costs", "ingest", "e2e", "latency")):
        from bench import costs, e2e, ingest, latency, pipeline

        options = pipeline.Options(quick=quick, profile="--profile" in argv)
        with _database(options) as note:
            lines += [note, ""]
            for name in ("costs", "ingest", "e2e", "latency"):
                if name not in sections:
                    continue
                print(f"== {name}", flush=True)
                if name == "costs":
                    section = costs.costs_section(options)
                elif name == "ingest":
                    section = ingest.ingest_section(options)
                elif name == "e2e":
                    section = e2e.e2e_section(options)
                else:
                    section = latency.latency_section(options, e2e_rate)
                lines += section.lines
                figures.update(section.figures)
                e2e_rate = section.figures.get("e2e_events_per_second", e2e_rate)
                if section.profile:
                    profiles.append(section.profile)
                DOC.write_text("\n".join(lines) + "\n")  # keep what is done if a later one fails
    if figures or any(s != "engine" for s in sections):
        lines[summary_at:summary_at] = summary(figures, sections, quick)
    DOC.write_text("\n".join(lines) + "\n")
    for block in profiles:
        print(block)
    print(f"wrote {DOC}")


@contextmanager
def _database(options: Options) -> Iterator[str]:
    """Where the pipeline sections keep their data (sets ``options.database_url``); yields the
    sentence that says so. A private, production-configured PostgreSQL, stopped and removed on
    the way out whatever ends the run, unless ``SEGMIX_BENCH_DATABASE_URL`` names a server."""
    from bench.pipeline import WORKDIR
    from bench.postgres import PrivatePostgres
    from bench.stack import NotAvailable

    if os.environ.get("SEGMIX_BENCH_DATABASE_URL"):
        yield f"Database: `{options.database_url}` (from `SEGMIX_BENCH_DATABASE_URL`)."
        return
    cluster = PrivatePostgres(WORKDIR / "postgres")
    try:
        cluster.__enter__()
    except NotAvailable as exc:
        yield (
            f"Database: the machine's cluster at `{options.database_url}` (no private cluster: "
            f"{exc})."
        )
        return
    try:
        options.database_url = cluster.url
        settings = ", ".join(f"{k}={v}" for k, v in PrivatePostgres.SETTINGS.items())
        yield (
            "Database: a PostgreSQL cluster of the benchmark's own (`initdb` under `var/bench/`, "
            f"removed afterwards) with production settings: {settings}. The machine's shared "
            "cluster keeps Debian's defaults (128 MB of shared buffers), and some images run it "
            "with autovacuum off; `SEGMIX_BENCH_DATABASE_URL` points the benchmark at any other "
            "server."
        )
    finally:
        cluster.__exit__(None, None, None)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack's processes on kill too
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        print("interrupted: every process the benchmarks started has been stopped", file=sys.stderr)
        sys.exit(130)
