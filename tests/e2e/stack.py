"""The end-to-end stack: every segmix process for real, and the faults the tests inflict on it.

:class:`Stack` runs, each in its own session (so one ``killpg`` reaches a process and all its
children, e.g. gunicorn's and Celery's workers):

* a private, memory-only ``redis-server`` on a free loopback port (restartable empty);
* one fresh PostgreSQL database ``segmix_e2e_<pid>`` on the configured server, migrated with
  ``manage.py migrate`` and dropped at the end;
* gunicorn with the production command (``gunicorn segmix_site.wsgi -w 2 -b …``, ``DEBUG=0``);
* a Celery worker (prefork, 2 processes) and Celery beat (the relay every second);
* the fake Mixpanel, in this process (``stack.mp``).

Children are SIGKILLed if this process dies (``PR_SET_PDEATHSIG``); :meth:`Stack.close` kills
every one of them and drops the database, whatever happened. Waits poll with deadlines.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from cryptography.fernet import Fernet
from psycopg import sql
from psycopg.rows import dict_row

from tests.databases import recreate_database
from tests.fake_mixpanel import FakeMixpanel
from tests.processes import die_with_parent, free_port

# The servers die with the test process, however it ends.
_KILL_WITH_PARENT = die_with_parent(signal.SIGKILL)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DB_PREFIX = "segmix_e2e_"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
START_TIMEOUT = 60.0

# Short delivery timings so faults resolve in seconds (see conftest's module docstring).
MIXPANEL_TIMEOUT = 2.0
FLUSH_LINGER = 0.2
RELAY_INTERVAL = 1.0
LEASE_SECONDS = 8

_T = TypeVar("_T")


class Unavailable(Exception):
    """A service the stack needs is missing on this machine (PostgreSQL, redis-server)."""


def wait_until(
    condition: Callable[[], _T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    ignore: tuple[type[BaseException], ...] = (),
    diagnostics: Callable[[], str] | None = None,
) -> _T:
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout``.

    Exceptions in ``ignore`` count as "not yet" (e.g. a server still starting).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
        except ignore as exc:
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f} s waiting for {what}"
            if last_error is not None:
                message += f" (last error: {last_error!r})"
            if diagnostics is not None:
                message += "\n" + diagnostics()
            raise AssertionError(message)
        time.sleep(interval)


def postgres_server_url() -> str:
    """The PostgreSQL server to create the e2e database on: ``DATABASE_URL``'s when it is
    PostgreSQL (CI), else ``SEGMIX_E2E_POSTGRES_URL`` or the local default."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"}:
        return url.replace("pgsql://", "postgres://", 1)
    return os.environ.get("SEGMIX_E2E_POSTGRES_URL", DEFAULT_SERVER)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name, query=""))


def _killpg(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Proc:
    """One started process (the leader of its own session) and its log."""

    name: str
    popen: subprocess.Popen
    log: Path
    offset: int  # where this run's output starts in the (shared, appended) log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        try:
            with self.log.open("rb") as handle:
                handle.seek(self.offset)
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


class Stack:
    """The processes of one test session; see the module docstring."""

    def __init__(self, workdir: Path, server_url: str) -> None:
        self.workdir = workdir
        self.server_url = server_url
        self.db_name = f"{DB_PREFIX}{os.getpid()}"
        self.db_url = with_database(server_url, self.db_name)
        self.procs: dict[str, Proc] = {}
        self.mp = FakeMixpanel()
        self.redis_port = free_port()
        self.web_port = free_port()
        self.host = f"http://127.0.0.1:{self.web_port}"
        self.env: dict[str, str] = {}
        self._db_created = False
        self._workers_started = 0

    # -- whole stack ---------------------------------------------------------------------

    def start(self) -> Stack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._create_database()
        self.start_redis()
        self.mp.start()
        self.env = self._environment()
        # The boots overlap the migration (neither the web server nor the worker touches a table
        # until work arrives); beat starts once the tables exist, since its relay reads them.
        migrate = self.spawn("migrate", [sys.executable, "manage.py", "migrate", "--noinput"])
        waits = [self.start_web(wait=False), self.start_worker(wait=False), self.start_ops()]
        try:
            migrate.popen.wait(timeout=180)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"manage.py migrate hung:\n{migrate.tail()}") from None
        if migrate.popen.returncode != 0:
            raise AssertionError(f"manage.py migrate failed:\n{migrate.tail(60)}")
        del self.procs["migrate"]
        waits.append(self.start_beat(wait=False))
        for wait in waits:
            wait()
        return self

    def close(self) -> None:
        """Kill every process, stop the fake, drop the database. Never raises."""
        for name in list(self.procs):
            try:
                self.kill(name)
            except Exception:  # cleanup must reach every step
                pass
        try:
            self.mp.stop()
        except Exception:
            pass
        if self._db_created:
            try:
                self.database_up()
                with self._admin() as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(self.db_name)
                        )
                    )
                self._db_created = False
            except Exception as exc:
                print(f"e2e: could not drop database {self.db_name}: {exc}", file=sys.stderr)

    def ensure_running(self) -> None:
        """Bring back whatever a previous (failed) test left stopped or unreachable."""
        self.database_up()
        for name, start in (
            ("redis", self.start_redis),
            ("web", self.start_web),
            ("worker", self.start_worker),
            ("beat", self.start_beat),
            ("ops", self.start_ops),
        ):
            proc = self.procs.get(name)
            if proc is None or not proc.alive():
                start()

    def diagnostics(self) -> str:
        """Tails of every log, for assertion messages."""
        parts = []
        for name, proc in self.procs.items():
            state = "running" if proc.alive() else f"exited {proc.popen.returncode}"
            parts.append(f"--- {name} (pid {proc.pid}, {state}) ---\n{proc.tail()}")
        return "\n".join(parts)

    def _environment(self) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SEGMIX_", "CELERY_", "PYTEST_", "DJANGO_"))
            and k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
        }
        return {
            **inherited,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "segmix_site.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SEGMIX_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SEGMIX_HTTPS": "0",
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "SEGMIX_VAR_DIR": str(self.workdir / "var"),
            "SEGMIX_STATIC_ROOT": str(self.workdir / "static"),
            "SEGMIX_MIXPANEL_API_URL": self.mp.url,
            "SEGMIX_MIXPANEL_TIMEOUT": str(MIXPANEL_TIMEOUT),
            "SEGMIX_FLUSH_LINGER": str(FLUSH_LINGER),
            "SEGMIX_RELAY_INTERVAL": str(RELAY_INTERVAL),
            "SEGMIX_LEASE_SECONDS": str(LEASE_SECONDS),
            "SEGMIX_LOG_LEVEL": "INFO",
        }

    # -- processes -----------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str]) -> Proc:
        log = self.workdir / f"{name}.log"
        offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env or None,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_KILL_WITH_PARENT,
            )
        proc = Proc(name, popen, log, offset)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything in its session; wait for the leader."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        _killpg(proc.pid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _started(
        self, proc: Proc, check: Callable[[], Any], what: str, wait: bool
    ) -> Callable[[], None]:
        """Wait for ``check`` now (``wait``) or return the wait for the caller to run later."""

        def ready() -> Any:
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited while starting:\n{proc.tail(60)}")
            return check()

        def wait_ready() -> None:
            wait_until(
                ready,
                START_TIMEOUT,
                what,
                interval=0.1,
                ignore=(OSError, requests.RequestException, redis.RedisError),
                diagnostics=lambda: proc.tail(60),
            )

        if wait:
            wait_ready()
        return wait_ready

    # Redis ---------------------------------------------------------------------------------

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)

    def start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise Unavailable("redis-server is not installed (apt-get install redis-server)")
        # Memory only, like a Redis restarted without persistence: a restart comes back empty.
        proc = self.spawn(
            "redis",
            [binary, "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
        )  # fmt: skip
        self._started(proc, lambda: self.redis().ping(), "redis-server to answer PING", True)

    def restart_redis(self) -> None:
        """``kill -9`` Redis and start it again, empty, on the same port."""
        self.kill("redis")
        self.start_redis()

    # Web -------------------------------------------------------------------------------------

    def start_web(self, *, wait: bool = True) -> Callable[[], None]:
        # The production command; only gunicorn's control socket moves out of the shared
        # ~/.gunicorn/ so that other gunicorns on this machine are not disturbed.
        proc = self.spawn(
            "web",
            [str(BIN / "gunicorn"), "segmix_site.wsgi", "-w", "2", "-b", f"127.0.0.1:{self.web_port}",
             "--control-socket", str(self.workdir / "gunicorn.ctl")],
        )  # fmt: skip
        return self._started(
            proc,
            lambda: requests.get(f"{self.host}/healthz", timeout=2).status_code == 200,
            "gunicorn to answer /healthz",
            wait,
        )

    def kill_web(self) -> None:
        """SIGKILL gunicorn's master and workers at once."""
        self.kill("web")

    # Celery ----------------------------------------------------------------------------------

    def start_worker(self, *, wait: bool = True) -> Callable[[], None]:
        self._workers_started += 1
        proc = self.spawn(
            "worker",
            [str(BIN / "celery"), "-A", "segmix_site", "worker", "--concurrency=2",
             "--loglevel=INFO", f"--hostname=e2e{self._workers_started}@%h",
             "--without-mingle", "--without-gossip"],
        )  # fmt: skip
        return self._started(
            proc, lambda: re.search(r"@\S+ ready\.", proc.output()), "the worker", wait
        )

    def kill_worker(self) -> None:
        """SIGKILL the worker's main process and its pool processes at once."""
        self.kill("worker")

    def stop_worker(self) -> None:
        """Warm shutdown (SIGTERM to the main process), then make sure nothing is left."""
        proc = self.procs.get("worker")
        if proc is None:
            return
        try:
            proc.popen.send_signal(signal.SIGTERM)
            proc.popen.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
        self.kill("worker")

    def start_beat(self, *, wait: bool = True) -> Callable[[], None]:
        proc = self.spawn(
            "beat",
            [str(BIN / "celery"), "-A", "segmix_site", "beat", "--loglevel=INFO",
             "--schedule", str(self.workdir / "celerybeat-schedule")],
        )  # fmt: skip
        return self._started(proc, lambda: "beat: Starting" in proc.output(), "celery beat", wait)

    # Configuration through Django ----------------------------------------------------------

    def start_ops(self) -> Callable[[], None]:
        """The long-lived ``tests/e2e/ops.py`` process (answers once Django has booted)."""
        log = self.workdir / "ops.log"
        with log.open("ab") as errors:
            popen = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.ops"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
                preexec_fn=_KILL_WITH_PARENT,
            )
        self.procs["ops"] = Proc("ops", popen, log, 0)
        return lambda: None  # the first command simply waits for the boot

    def ops(self, command: str, timeout: float = 60, **payload: Any) -> dict[str, Any]:
        """Run a configuration change through segmix's functions and models (``ops.py``)."""
        proc = self.procs["ops"]
        assert proc.popen.stdin is not None and proc.popen.stdout is not None
        proc.popen.stdin.write(
            json.dumps({"command": command, "payload": payload}).encode() + b"\n"
        )
        proc.popen.stdin.flush()
        answer = json.loads(self._read_line(proc, timeout))
        if "error" in answer:
            raise AssertionError(f"ops {command} failed:\n{answer['error']}")
        return answer["result"]

    @staticmethod
    def _read_line(proc: Proc, timeout: float) -> bytes:
        """One line from the process's stdout, or AssertionError after ``timeout``."""
        fd = proc.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not proc.alive():
                raise AssertionError(f"ops gave no answer within {timeout:.0f} s:\n{proc.tail()}")
            readable, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(f"ops exited:\n{proc.tail()}")
                data += chunk
        return data

    # PostgreSQL -------------------------------------------------------------------------------

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            with_database(self.server_url, "postgres"), autocommit=True, connect_timeout=5
        )

    def _create_database(self) -> None:
        try:
            with self._admin() as conn:
                self._drop_abandoned(conn)
                recreate_database(conn, self.db_name)
        except psycopg.OperationalError as exc:
            raise Unavailable(f"PostgreSQL is not reachable at {self.server_url}: {exc}") from exc
        self._db_created = True

    @staticmethod
    def _drop_abandoned(conn: psycopg.Connection) -> None:
        """Drop e2e databases left by test runs that were killed (their pid is gone)."""
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [DB_PREFIX + "%"]
        ).fetchall()
        for (name,) in names:
            pid = name.removeprefix(DB_PREFIX)
            if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                continue
            try:  # plain DROP: a database somebody is connected to is left alone
                conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
            except psycopg.Error:
                pass

    def sql(self, query: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run ``query`` on the e2e database (autocommit) and return its rows as dicts."""
        with psycopg.connect(
            self.db_url, autocommit=True, connect_timeout=5, row_factory=dict_row
        ) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def database_down(self) -> None:
        """Make the e2e database refuse every connection and cut the open ones.

        Only this run's database is touched (``ALLOW_CONNECTIONS false`` also refuses
        superusers); the shared PostgreSQL server keeps running.
        """
        with self._admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                    sql.Identifier(self.db_name)
                )
            )
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.db_name],
            )

    def database_up(self) -> None:
        if not self._db_created:
            return
        with self._admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(
                    sql.Identifier(self.db_name)
                )
            )
