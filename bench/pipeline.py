"""Pipeline benchmarks (issue 4): what the ``costs``, ``ingest``, ``e2e`` and ``latency`` sections
share.

The commands under test, the production-like environment, the fresh database, and the running
stack of web + Celery worker + beat + fake Mixpanel. Each section (``bench/ingest.py``,
``bench/e2e.py``, ``bench/latency.py``) starts what it needs — a private ``redis-server``, a
fresh PostgreSQL database (``segmix_bench``), the production web command, Celery worker and
beat, the standalone fake Mixpanel — on loopback, measures, stops everything, and returns
Markdown lines for docs/benchmarks.md. A piece that is missing or broken yields a "not
available yet" paragraph instead of a crash.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import free_port

from . import loadgen, profiling
from .postgres import StandInAutovacuum, fresh_database
from .stack import (
    ROOT,
    NotAvailable,
    Stack,
    http_answers,
    start_redis,
    wait_for,
)

# The production server command (the README's deployment section must show the same).
# Threads: SDKs keep connections alive, and a request's database commit need not idle its worker.
PRODUCTION_WEB_COMMAND = (
    "gunicorn segmix_site.wsgi --workers 2 --worker-class gthread --threads 4 --bind {bind}"
)
# The floor: the same command shape serving the bare Django + Redis endpoint.
BARE_WEB_COMMAND = PRODUCTION_WEB_COMMAND.replace("segmix_site.wsgi", "bench.bare.wsgi")
# Harness-only: gunicorn 27's control socket defaults to one path per user, shared by every
# gunicorn on the machine; each benchmark server gets its own.
HARNESS_WEB_FLAGS = "--control-socket {workdir}/{name}.ctl"
WORKER_COMMAND = (
    "celery -A segmix_site worker --pool prefork --concurrency {concurrency} "
    "--loglevel WARNING --without-gossip --without-mingle --hostname bench@%h"
)
BEAT_COMMAND = "celery -A segmix_site beat --loglevel WARNING --schedule {workdir}/beat-schedule"
FAKE_COMMAND = "{python} -m tests.fake_mixpanel --port 0 --no-record-bodies"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/segmix_bench"
BATCH = 100
WORKDIR = ROOT / "var" / "bench"
WRITE_KEY_BYTES = 24


@dataclass
class Options:
    """What ``python -m bench`` was asked for (``--quick`` / ``SEGMIX_BENCH_QUICK=1``)."""

    quick: bool = False
    profile: bool = False
    database_url: str = field(
        default_factory=lambda: os.environ.get("SEGMIX_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    worker_concurrency: int = field(
        default_factory=lambda: int(os.environ.get("SEGMIX_BENCH_WORKER_CONCURRENCY", "2"))
    )
    e2e_rate: float = field(
        default_factory=lambda: float(os.environ.get("SEGMIX_BENCH_E2E_RATE", "10000"))
    )
    wrk_connections: int = 8
    wrk_threads: int = 2

    @property
    def database_name(self) -> str:
        return self.database_url.rsplit("/", 1)[1].split("?", 1)[0]

    @property
    def ingest_seconds(self) -> tuple[float, float]:
        """(warm-up, measured) per ingest target."""
        return (3, 10) if self.quick else (5, 25)

    @property
    def e2e_seconds(self) -> tuple[float, float]:
        return (10, 30) if self.quick else (30, 300)

    @property
    def latency_seconds(self) -> tuple[float, float]:
        return (5, 20) if self.quick else (10, 60)


@dataclass
class Section:
    """A section's Markdown and the figures later sections (and the summary) use."""

    lines: list[str]
    figures: dict[str, float] = field(default_factory=dict)
    profile: str = ""


# --- environment and processes -----------------------------------------------------------------


def _bin(name: str) -> str:
    local = ROOT / ".venv" / "bin" / name
    return str(local) if local.exists() else name


def command(template: str, **values: object) -> list[str]:
    """``template`` filled in, its program taken from the venv."""
    argv = shlex.split(template.format(**values))
    return [_bin(argv[0]), *argv[1:]]


def shown(template: str, **values: object) -> str:
    """``template`` as the docs show it (program names as run from the venv)."""
    return template.format(**values)


def production_env(
    database_url: str, redis_url: str, workdir: Path, **extra: str
) -> dict[str, str]:
    """A production-like environment: DEBUG off, fresh secrets, HTTPS off (loopback, no TLS)."""
    from cryptography.fernet import Fernet

    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="segmix_site.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SEGMIX_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1",
        SEGMIX_HTTPS="0",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SEGMIX_VAR_DIR=str(workdir / "var"),
        # One synthetic source sends far more than the per-source defaults allow; the limiter
        # still runs on every request (its Redis round trips are part of the cost).
        SEGMIX_RATE_LIMIT_REQUESTS="1000000",
        SEGMIX_RATE_LIMIT_MESSAGES="100000000",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def shown_env(env: dict[str, str]) -> str:
    hidden = {"SECRET_KEY", "SEGMIX_ENCRYPTION_KEY"}
    keys = [
        "DEBUG",
        "ALLOWED_HOSTS",
        "SEGMIX_HTTPS",
        "DATABASE_URL",
        "REDIS_URL",
        "SEGMIX_RATE_LIMIT_REQUESTS",
        "SEGMIX_RATE_LIMIT_MESSAGES",
        "SEGMIX_MIXPANEL_API_URL",
        "SEGMIX_FLUSH_LINGER",
        "SEGMIX_FLUSH_MAX_EVENTS",
        "SEGMIX_RELAY_INTERVAL",
    ]
    shown = [f"{k}={env[k]}" for k in keys if k in env]
    shown += [f"{k}=<generated>" for k in sorted(hidden) if k in env]
    return " ".join(shown)


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [_bin("python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise NotAvailable(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare_database(
    options: Options, env: dict[str, str], workdir: Path, *, with_destination: bool
) -> str:
    """Fresh database, migrations, one source (and a six-preset destination); its write key."""
    fresh_database(options.database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    write_key = "wk_bench_" + secrets.token_urlsafe(WRITE_KEY_BYTES)
    config: dict = {"version": 1, "sources": [{"name": "bench", "writeKey": write_key}]}
    if with_destination:
        from tests.fake_mixpanel import DEFAULT_API_SECRET, DEFAULT_TOKEN

        config["destinations"] = [
            {
                "name": "bench mixpanel",
                "type": "mixpanel",
                "enabled": True,
                "sources": ["bench"],
                "settings": {"projectToken": DEFAULT_TOKEN, "apiSecret": DEFAULT_API_SECRET},
            }
        ]  # no "mappings": a new destination gets the six presets
    path = workdir / "segmix-config.json"
    path.write_text(json.dumps(config))
    manage(env, "import_config", str(path))
    return write_key


def start_web(stack: Stack, name: str, template: str, env: dict[str, str]) -> str:
    port = free_port()
    argv = command(template, bind=f"127.0.0.1:{port}")
    argv += shlex.split(HARNESS_WEB_FLAGS.format(workdir=stack.workdir, name=name))
    stack.start(name, argv, env)
    base = f"http://127.0.0.1:{port}"
    wait_for(http_answers(base + "/v1/batch"), 60, f"{name} ({' '.join(argv)})", stack)
    return base


def start_fake(stack: Stack) -> str:
    proc = stack.start(
        "fake-mixpanel",
        command(FAKE_COMMAND, python=sys.executable),
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url: list[str] = []

    def printed_url() -> bool:
        first = proc.log.read_text().split("\n", 1)[0].strip()
        if first.startswith("http://"):
            url.append(first)
        return bool(url)

    wait_for(printed_url, 30, "the fake Mixpanel", stack)
    return url[0]


def fake_get(base: str, path: str, timeout: float = 120) -> dict:
    with urllib.request.urlopen(base + path, timeout=timeout) as response:
        return json.loads(response.read())


def fake_reset(base: str) -> None:
    request = urllib.request.Request(base + "/_fake/reset", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass


class Db:
    """The harness's own read-only queries against the bench database."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True, connect_timeout=5)

    def scalar(self, sql: str) -> int:
        return self.conn.execute(sql).fetchone()[0]

    def events(self) -> int:
        return self.scalar("SELECT count(*) FROM mappings_event")

    def open_deliveries(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM mappings_delivery WHERE status IN ('pending', 'retrying')"
        )

    def statuses(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM mappings_delivery GROUP BY 1")
        return dict(rows.fetchall())

    def close(self) -> None:
        self.conn.close()


@contextmanager
def profiled(
    options: Options, label: str, pids: list[int], seconds: float, workdir: Path, into: list[str]
) -> Iterator[None]:
    """With ``--profile``: py-spy on ``pids`` and a sampler of the database's sessions."""
    if not options.profile:
        yield
        return
    recordings = profiling.start(label, pids, seconds, workdir)
    if not recordings:
        into.append("--- profile: py-spy is not installed (.venv/bin/pip install py-spy)")
    sampler = profiling.PgSampler(options.database_url, options.database_name).start()
    try:
        yield
    finally:
        if recordings:
            into.append(profiling.finish(recordings))
        into.append(sampler.finish(label))


def not_available(title: str, exc: Exception) -> Section:
    reason = str(exc).strip() or type(exc).__name__
    print(f"{title}: not available yet — {reason}", flush=True)
    indented = "\n".join("    " + line for line in reason.splitlines()[:40])
    return Section([f"## {title}", "", "**Not available yet.**", "", indented, ""])


# --- the full pipeline (e2e and latency) ---------------------------------------------------------


@dataclass
class Pipeline:
    """A running web + worker + beat + fake Mixpanel stack for e2e and latency runs."""

    stack: Stack
    env: dict[str, str]
    web: str
    fake: str
    write_key: str
    db: Db
    commands: dict[str, str]
    vacuum: StandInAutovacuum

    @property
    def port(self) -> int:
        return int(self.web.rsplit(":", 1)[1])


def start_services(
    stack: Stack, options: Options, workdir: Path, **env_extra: str
) -> tuple[dict[str, str], str, str]:
    """A private Redis, the fake Mixpanel and a fresh database holding a source with one Mixpanel
    destination: ``(env, fake Mixpanel URL, write key)``."""
    redis_url = start_redis(stack)
    fake = start_fake(stack)
    env = production_env(
        options.database_url, redis_url, workdir, SEGMIX_MIXPANEL_API_URL=fake, **env_extra
    )
    write_key = prepare_database(options, env, workdir, with_destination=True)
    return env, fake, write_key


@contextmanager
def pipeline_stack(options: Options, workdir: Path, budget: float) -> Iterator[Pipeline]:
    with Stack(workdir, budget) as stack:
        env, fake, write_key = start_services(stack, options, workdir)
        print("pipeline: starting web, Celery worker and beat …", flush=True)
        web = start_web(stack, "web", PRODUCTION_WEB_COMMAND, env)
        worker_argv = command(WORKER_COMMAND, concurrency=options.worker_concurrency)
        beat_argv = command(BEAT_COMMAND, workdir=workdir)
        stack.start("worker", worker_argv, env)
        stack.start("beat", beat_argv, env)
        db = Db(options.database_url)
        vacuum = StandInAutovacuum(options.database_url).__enter__()
        try:
            yield Pipeline(
                stack,
                env,
                web,
                fake,
                write_key,
                db,
                {
                    "web": shown(PRODUCTION_WEB_COMMAND, bind="127.0.0.1:PORT"),
                    "worker": shown(WORKER_COMMAND, concurrency=options.worker_concurrency),
                    "beat": shown(BEAT_COMMAND, workdir=workdir.relative_to(ROOT)),
                    "fake": shown(FAKE_COMMAND, python="python"),
                },
                vacuum,
            )
        finally:
            vacuum.__exit__()
            db.close()


def prove_delivery(p: Pipeline, timeout: float) -> int:
    """Two batches in, their records out at the fake — or the pipeline is not there yet.

    Returns how many ``/import`` records carrying ``bench_sent_ns`` one batch yields (every
    batch is the same template, so the latency section knows how many to expect).
    """
    load = loadgen.PacedLoad(
        "127.0.0.1",
        p.port,
        p.write_key,
        events_per_second=BATCH * 2,
        seconds=1,
        threads=2,
    )
    result = load.wait()
    if result.ok == 0:
        raise NotAvailable(f"ingest answered {result.statuses or result.errors} to /v1/batch")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p.stack.check_alive()
        if p.db.open_deliveries() == 0 and fake_records(p.fake) > 0:
            records = fake_get(p.fake, "/_fake/records?endpoint=/import")["records"]
            stamped = [r for r in records if "bench_sent_ns" in r["properties"]]
            return len(stamped) // max(1, result.ok)
        time.sleep(1)
    raise NotAvailable(
        f"{result.ok * BATCH} events accepted, but after {timeout:.0f} s "
        f"{p.db.open_deliveries()} deliveries are still open and the fake Mixpanel has "
        f"{fake_records(p.fake)} records. Worker log:\n"
        + next((x.tail() for x in p.stack.procs if x.name == "worker"), "")
    )


def wait_drained(p: Pipeline, limit: float) -> float | None:
    """Seconds until no delivery is open (checked every half second), or ``None`` after ``limit``."""
    started = time.time()
    while time.time() - started < limit:
        p.stack.check_alive()
        if p.db.open_deliveries() == 0:
            return time.time() - started
        time.sleep(0.5)
    return None


def fake_records(fake: str) -> int:
    return sum(fake_get(fake, "/_fake/stats")["records_by_endpoint"].values())


def vacuum_note(vacuum: StandInAutovacuum) -> str:
    if not vacuum.active:
        return "PostgreSQL autovacuum is on."
    return (
        "This cluster runs with `autovacuum = off`, so the harness runs `VACUUM (ANALYZE)` on the "
        f"bench database every {vacuum.every:.0f} s in its place ({vacuum.runs} runs here), as "
        "autovacuum would keep the planner's statistics current on a production database."
    )
