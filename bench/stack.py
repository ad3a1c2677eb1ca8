"""The processes a pipeline benchmark starts, and how they are always stopped.

:class:`Stack` starts every process in its own session (so one ``killpg`` stops it and its
children, e.g. gunicorn's workers), asks the kernel to SIGTERM it if the harness dies
(``PR_SET_PDEATHSIG``), and stops them all on exit — normal, exception or Ctrl-C — and when its
deadline passes (a watchdog interrupts the harness). Only loopback addresses are used.

Also here: a private ``redis-server`` and CPU accounting from ``/proc`` (which processes used
the cores during a measurement). PostgreSQL is in ``bench.postgres``.
"""

from __future__ import annotations

import _thread
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

from tests.processes import die_with_parent, free_port

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


class NotAvailable(Exception):
    """A piece of the pipeline is missing or not working yet; the section reports why."""


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
            preexec_fn=die_with_parent(signal.SIGTERM),
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


# --- CPU accounting ----------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
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
        return {pid: (name, proc_cpu(pid)) for name, pids in self._groups().items() for pid in pids}

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
