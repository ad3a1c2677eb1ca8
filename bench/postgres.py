"""PostgreSQL for the benchmarks: a private cluster with production settings, fresh databases,
the settings a run reports, and a stand-in for autovacuum on clusters that run without it."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.databases import recreate_database
from tests.processes import free_port

from .stack import ROOT, NotAvailable


def fresh_database(url: str) -> None:
    """Drop and create the database named in ``url`` (connecting to ``postgres`` to do it)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("segmix_bench"):
        raise SystemExit(f"refusing to drop {name!r}: bench databases are named segmix_bench*")
    admin = urlunsplit(parts._replace(path="/postgres"))
    _ensure_postgres(admin)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            recreate_database(conn, name)
    except psycopg.OperationalError as exc:
        raise NotAvailable(f"PostgreSQL is not reachable at {admin}: {exc}".strip()) from exc


def _ensure_postgres(admin: str) -> None:
    """Start the machine's cluster (``scripts/ensure_postgres.sh``) when nothing answers."""
    import psycopg

    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError:
        script = ROOT / "scripts" / "ensure_postgres.sh"
        if script.exists():
            subprocess.run([str(script)], cwd=ROOT, timeout=60, check=False)


class PrivatePostgres:
    """A PostgreSQL cluster of the benchmark's own, configured as a production server would be.

    The machine's shared cluster keeps Debian's defaults (128 MB of shared buffers) and, on some
    images, autovacuum off: a write-heavy benchmark on it measures those settings as much as
    segmix. This one is created with ``initdb`` under the work directory, started on a free
    loopback port with ``SETTINGS`` (durability untouched: ``fsync`` and ``synchronous_commit``
    on, as segmix requires), and removed afterwards. ``url`` names its bench database.
    """

    SETTINGS = {
        "shared_buffers": "1GB",
        "max_wal_size": "4GB",
        "checkpoint_timeout": "15min",
        "autovacuum": "on",
        "synchronous_commit": "on",
        "fsync": "on",
        "max_connections": "200",
    }

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/segmix_bench"
        self._pg_ctl: str | None = None

    def __enter__(self) -> PrivatePostgres:
        bindir = _postgres_bindir()
        if bindir is None:
            raise NotAvailable("no initdb/pg_ctl found (apt-get install postgresql)")
        self._pg_ctl = str(bindir / "pg_ctl")
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.workdir, "postgres")
        options = " ".join(
            [f"-p {self.port}", f"-k {self.workdir}", "-c listen_addresses=127.0.0.1"]
            + [f"-c {name}={value}" for name, value in self.SETTINGS.items()]
        )
        for argv in (
            [str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            [self._pg_ctl, "-D", str(self.data), "-l", str(self.workdir / "log"), "-o", options,
             "-w", "start"],
        ):  # fmt: skip
            try:
                done = subprocess.run(
                    self._as_postgres(argv), capture_output=True, text=True, timeout=120
                )
            except subprocess.TimeoutExpired:
                done = None
            if done is None or done.returncode != 0:
                self.__exit__()  # a half-started server must not outlive the run
                output = "timed out" if done is None else (done.stderr or done.stdout)[-2000:]
                raise NotAvailable(f"{argv[0]} failed: {output}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pg_ctl is not None:
            subprocess.run(
                self._as_postgres([self._pg_ctl, "-D", str(self.data), "-m", "fast", "stop"]),
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def _as_postgres(argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _postgres_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        done = subprocess.run([found, "--bindir"], capture_output=True, text=True)
        bindir = Path(done.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    candidates = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    newest = max(candidates, key=lambda p: [int(n) for n in p.parts[-3].split(".")], default=None)
    return newest.parent if newest else None


def postgres_settings(url: str) -> dict[str, str]:
    import psycopg

    names = [
        "server_version",
        "synchronous_commit",
        "fsync",
        "shared_buffers",
        "max_connections",
        "max_wal_size",
        "autovacuum",
    ]
    with psycopg.connect(url, connect_timeout=5) as conn:
        return {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}


class StandInAutovacuum:
    """``VACUUM (ANALYZE)`` every ``every`` seconds while the cluster's autovacuum is off.

    Some machines (CI images) turn autovacuum off; without statistics the planner picks
    whole-table plans on tables that grew from empty, which no production database would see.
    Does nothing when autovacuum is on.
    """

    def __init__(self, url: str, every: float = 30.0) -> None:
        self.url = url
        self.every = every
        self.runs = 0
        self.active = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StandInAutovacuum:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            self.active = conn.execute("SHOW autovacuum").fetchone()[0] == "off"
        if self.active:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.active:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            while not self._stop.wait(self.every):
                conn.execute("VACUUM (ANALYZE)")
                self.runs += 1
