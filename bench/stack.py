"""The processes a pipeline benchmark starts, and how they are always stopped.

:class:`Stack` starts every process in its own session (so one ``killpg`` stops it and its
children, e.g. gunicorn's workers), asks the kernel to SIGTERM it if the harness dies
(``PR_SET_PDEATHSIG``), and stops them all on exit — normal, exception or Ctrl-C — and when its
deadline passes (a watchdog interrupts the harness). Only loopback addresses are used.

Also here: a private ``redis-server``, the fresh PostgreSQL bench database, and CPU accounting
from ``/proc`` (which processes used the cores during a measurement).
"""

from __future__ import annotations

import _thread
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1


class NotAvailable(Exception):
    """A piece of the pipeline is missing or not working yet; the section reports why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    """Processes of one benchmark section; a context manager that always stops them."""

    workdir: Path
    deadline_seconds: float
    procs: list[Proc] = field(default_factory=list)
    _timer: threading.Timer | None = None
    expired: bool = False

    def __enter__(self) -> Stack:
        if self.workdir.exists():
            shutil.rmtree(self.workdir)  # logs and profiles of the previous run
        self.workdir.mkdir(parents=True)
        self._timer = threading.Timer(self.deadline_seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.stop_all()

    def _expire(self) -> None:
        self.expired = True
        print(
            f"!! deadline of {self.deadline_seconds:.0f} s passed: stopping everything", flush=True
        )
        self.stop_all()
        _thread.interrupt_main()

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Proc:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        handle.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc, grace: float = 10.0) -> None:
        if proc.popen.poll() is None:
            # The leader only: gunicorn and Celery stop their own children (a Celery pool child
            # that gets SIGTERM directly is reported as a lost worker).
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The session may hold children that outlived their leader (e.g. pool processes).
        _signal_group(proc.pid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is not None:
                raise NotAvailable(
                    f"{proc.name} exited with {proc.popen.returncode}; last lines of "
                    f"{proc.log}:\n{proc.tail()}"
                )


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def wait_for(check: Callable[[], bool], timeout: float, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise NotAvailable(f"{what} did not come up within {timeout:.0f} s")


def http_answers(url: str) -> Callable[[], bool]:
    """True once ``url`` gives any HTTP answer (a 404 or 405 proves the server is up)."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True

    return check


# --- Redis ------------------------------------------------------------------------------------


def start_redis(stack: Stack) -> str:
    """A private, memory-only ``redis-server`` on a free loopback port; returns its URL."""
    binary = _which("redis-server")
    if binary is None:
        raise NotAvailable("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    stack.start(
        "redis",
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(stack.workdir),
        ],
        dict(os.environ),
    )

    def ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    wait_for(ping, 10, "redis-server", stack)
    return f"redis://127.0.0.1:{port}/0"


def _which(name: str) -> str | None:
    return shutil.which(name)


# --- PostgreSQL --------------------------------------------------------------------------------


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
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
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
            done = subprocess.run(
                self._as_postgres(argv), capture_output=True, text=True, timeout=120
            )
            if done.returncode != 0:
                raise NotAvailable(f"{argv[0]} failed: {(done.stderr or done.stdout)[-2000:]}")
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
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


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


# --- CPU accounting ----------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """User + system seconds of ``pid`` (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _session_pids(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # field 6 of stat: session id
            found.append(int(entry))
    return found


def named_pids(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def postgres_pids(database: str) -> dict[str, list[int]]:
    """PostgreSQL processes: backends of ``database``, and the cluster's shared processes
    (WAL writer, checkpointer, …). Backends of other databases are left to ``other``."""
    groups: dict[str, list[int]] = {"postgres": [], "postgres-shared": []}
    for pid in named_pids("postgres"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # A backend's title: "postgres: [cluster:] user database host(port) activity".
        words = title.split()
        host = next((i for i, w in enumerate(words) if w == "[local]" or w.endswith(")")), None)
        if host is None:
            groups["postgres-shared"].append(pid)
        elif host >= 1 and words[host - 1] == database:
            groups["postgres"].append(pid)
    return groups


def _machine_busy() -> tuple[float, float]:
    """(busy seconds, total seconds) summed over all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


class CpuMeter:
    """CPU seconds used during a window by each named group of processes, and by everything else.

    Groups are sessions started by a :class:`Stack` (a process and all its children), the
    PostgreSQL backends of the bench database (``postgres``) and the cluster's shared processes
    (``postgres-shared``).
    Processes that start or exit inside the window are counted from when they are first seen.
    """

    def __init__(
        self,
        stack: Stack,
        extra_pids: Callable[[], dict[str, list[int]]] | None = None,
        database: str = "segmix_bench",
    ):
        self.stack = stack
        self.database = database
        self.extra_pids = extra_pids or dict
        self._seen: dict[int, tuple[str, float]] = {}
        self._start_busy: tuple[float, float] | None = None
        self._wall = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _groups(self) -> dict[str, list[int]]:
        groups = {p.name: _session_pids(p.pid) for p in self.stack.procs}
        groups.update(postgres_pids(self.database))
        groups.update(self.extra_pids())
        return groups

    def _sample(self) -> dict[int, tuple[str, float]]:
        return {
            pid: (name, _proc_cpu(pid)) for name, pids in self._groups().items() for pid in pids
        }

    def start(self) -> None:
        self._seen = self._sample()
        self._last = dict(self._seen)
        self._start_busy = _machine_busy()
        self._wall = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        # New processes (wrk, pool children) are picked up; exited ones keep their last value.
        while not self._stop.wait(1.0):
            for pid, (name, cpu) in self._sample().items():
                self._seen.setdefault(pid, (name, cpu))
                self._last[pid] = (name, cpu)

    def stop(self) -> dict[str, float]:
        """Cores used on average per group over the window, plus ``other`` and ``idle``."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for pid, (name, cpu) in self._sample().items():
            self._seen.setdefault(pid, (name, cpu))
            self._last[pid] = (name, cpu)
        wall = time.monotonic() - self._wall
        busy0, total0 = self._start_busy or (0.0, 0.0)
        busy1, total1 = _machine_busy()
        used: dict[str, float] = {}
        for pid, (name, cpu) in self._last.items():
            start = self._seen[pid][1]
            used[name] = used.get(name, 0.0) + max(0.0, cpu - start)
        cores = {name: seconds / wall for name, seconds in used.items()}
        ncores = os.cpu_count() or 1
        machine_busy = (busy1 - busy0) / (total1 - total0) * ncores if total1 > total0 else 0.0
        cores["other"] = max(0.0, machine_busy - sum(cores.values()))
        cores["idle"] = max(0.0, ncores - machine_busy)
        return cores


def format_cores(cores: dict[str, float]) -> str:
    order = sorted((k for k in cores if k not in {"other", "idle"}), key=lambda k: -cores[k])
    return ", ".join(f"{k} {cores[k]:.2f}" for k in [*order, "other", "idle"] if k in cores)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
