"""``costs``: the CPU one event costs at each stage, and the ceiling that puts on one machine.

Runs ``bench.costs_probe`` (ingest through Django's test client, then flushes, in one process)
against a fresh database, a private Redis and the fake Mixpanel. The pipeline sections measure
what the whole stack does under load; this one says where the cores go, so the pipeline
figures can be checked against what the work itself costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .pipeline import ROOT, WORKDIR, Options, Section, not_available, start_services
from .stack import NotAvailable, Stack, load_average

REQUESTS = 100  # 10,000 events (the probe adds warm-up requests), flushed 1,000 at a time
GOAL_EVENTS_PER_SECOND = 10_000  # issue 4's end-to-end goal


def costs_section(options: Options) -> Section:
    title = "Cost per event by stage (in-process)"
    workdir = WORKDIR / "costs"
    try:
        with Stack(workdir, 900) as stack:
            # The probe posts through Django's test client, whose host is "testserver".
            env, _, write_key = start_services(stack, options, workdir, ALLOWED_HOSTS="testserver")
            fake_pid = next(p.pid for p in stack.procs if p.name == "fake-mixpanel")
            print(f"costs: {REQUESTS} requests, then their flushes (load {load_average()})")
            done = subprocess.run(
                [sys.executable, "-m", "bench.costs_probe", write_key, str(REQUESTS), str(fake_pid)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise NotAvailable(f"the probe failed:\n{done.stderr[-3000:]}")
            stages = json.loads(done.stdout.strip().splitlines()[-1])
    except (NotAvailable, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        return not_available(title, exc)
    return _section(title, stages)


def _us(seconds: float, count: float) -> str:
    return f"{seconds / count * 1e6:,.0f} µs"


def _section(title: str, stages: dict[str, dict[str, float]]) -> Section:
    ingest, delivery = stages["ingest"], stages["delivery"]
    per_event = {
        name: sum(stage[k] for k in ("python", "postgres", "fake")) / stage["count"]
        for name, stage in stages.items()
    }
    total = sum(per_event.values())
    cores = os.cpu_count() or 1
    ceiling = cores / total  # every core, nothing else running
    lines = [
        f"## {title}",
        "",
        f"`python -m bench.costs_probe` ingests {ingest['count']:,.0f} events as "
        f"{ingest['count'] / 100:,.0f} `/v1/batch` requests of 100 messages through Django's "
        f"test client (the view, normalisation and the commit, without a web server), then "
        f"flushes the {delivery['count']:,.0f} deliveries those and the warm-up requests created "
        "(claim, evaluation of the six presets, requests to the fake Mixpanel, recording), all in "
        "one process against a fresh PostgreSQL database. CPU time is read from `/proc` for the "
        "process, its PostgreSQL backend and the fake Mixpanel.",
        "",
        "| stage | segmix (Python) | PostgreSQL | fake Mixpanel | total per event | wall |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, stage in (("ingest", ingest), ("delivery", delivery)):
        count = stage["count"]
        lines.append(
            f"| {name} | {_us(stage['python'], count)} | {_us(stage['postgres'], count)} | "
            f"{_us(stage['fake'], count)} | **{per_event[name] * 1e6:,.0f} µs** | "
            f"{stage['wall']:.1f} s for {count:,.0f} events |"
        )
    lines += [
        "",
        f"**One event costs {total * 1e6:,.0f} µs of CPU from the request to Mixpanel's "
        f"answer, so {cores} cores can carry at most ≈ {ceiling:,.0f} events/s end to end** "
        "before the web server, Celery, Redis and the load generator take their share. "
        f"The end-to-end goal of {GOAL_EVENTS_PER_SECOND:,} events/s would need at most "
        f"{cores / GOAL_EVENTS_PER_SECOND * 1e6:,.0f} µs per event.",
        "",
    ]
    print(
        f"costs: ingest {per_event['ingest'] * 1e6:,.0f} µs/event, delivery "
        f"{per_event['delivery'] * 1e6:,.0f} µs/event, ceiling ≈ {ceiling:,.0f} events/s"
    )
    return Section(
        lines,
        {
            "cost_ingest_us": per_event["ingest"] * 1e6,
            "cost_delivery_us": per_event["delivery"] * 1e6,
            "cost_ceiling_events_per_second": ceiling,
        },
    )
