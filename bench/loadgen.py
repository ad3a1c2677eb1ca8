"""Load generators for the pipeline benchmarks: wrk (saturation) and a paced Python sender.

Every request carries a 100-message ``/v1/batch`` body built from one template of realistic
events (``bench.events``) in which only the ``messageId``s (unique per run, process, thread and
request) and, for the paced sender, ``properties.bench_sent_ns`` (the send time, for latency)
change. Filling a template costs microseconds, so the generator is never what is measured.

* :func:`run_wrk` drives a server as fast as it answers (closed loop, ``wrk`` + a Lua script).
* :func:`run_paced` sends at a fixed rate from worker processes (open loop: a request is sent at
  its scheduled time whatever the previous answers took, from a pool of threads), counting
  accepted events live so a monitor can watch the pipeline while it runs.
"""

from __future__ import annotations

import base64
import http.client
import json
import multiprocessing as mp
import re
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from .events import make_events

MID = "@@MID@@"
SENT = "@@SENT@@"
BATCH_PATH = "/v1/batch"


# --- bodies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchTemplate:
    """A ``/v1/batch`` body cut at its variable slots: ``parts[0] slot0 parts[1] slot1 …``.

    ``slots[i]`` is ``"mid"`` (a messageId, inside quotes) or ``"sent"`` (a bare integer).
    """

    parts: tuple[bytes, ...]
    slots: tuple[str, ...]
    messages: int

    def fill(self, stem: str, sent_ns: int) -> bytes:
        """The body with messageIds ``<stem><n>`` and ``bench_sent_ns = sent_ns``."""
        sent = str(sent_ns).encode()
        pieces = [self.parts[0]]
        mid = 0
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            if slot == "mid":
                mid += 1
                pieces.append(f"{stem}{mid}".encode())
            else:
                pieces.append(sent)
            pieces.append(part)
        return b"".join(pieces)


def batch_template(size: int = 100, seed: int = 11) -> BatchTemplate:
    """A batch envelope as analytics-python sends it (``batch`` + ``sentAt``), ``size`` events.

    Timestamps are a few seconds before ``sentAt`` (now), as a client's would be; the server's
    ``receivedAt`` is not sent.
    """
    now = datetime.now(UTC)
    events = make_events(size, seed=seed)
    for n, event in enumerate(events):
        event.pop("receivedAt", None)
        event["messageId"] = MID
        stamp = now - timedelta(milliseconds=50 * (size - n))
        event["timestamp"] = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if "properties" in event:
            event["properties"] = {**event["properties"], "bench_sent_ns": SENT}
    envelope = {"batch": events, "sentAt": now.isoformat(timespec="milliseconds")[:-6] + "Z"}
    raw = orjson.dumps(envelope)
    tokens = re.split(rb'(@@MID@@|"@@SENT@@")', raw)
    parts = tuple(tokens[0::2])
    slots = tuple("mid" if t == MID.encode() else "sent" for t in tokens[1::2])
    return BatchTemplate(parts=parts, slots=slots, messages=size)


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    seconds: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    command: str

    @property
    def ok_requests(self) -> int:
        return self.requests - self.non_2xx

    @property
    def requests_per_second(self) -> float:
        return self.ok_requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def ensure_wrk() -> bool:
    """``wrk`` on PATH, installing the Debian package when missing and allowed (root + apt)."""
    if wrk_available():
        return True
    if shutil.which("apt-get") is None or not _is_root():
        return False
    print("wrk is missing: apt-get install -y wrk …", flush=True)
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(argv, env=env, capture_output=True, timeout=600)
        if done.returncode != 0:
            print(done.stderr.decode(errors="replace")[-2000:], flush=True)
            return False
    return wrk_available()


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def _portless(url: str) -> str:
    return re.sub(r":\d+/", ":PORT/", url)


def _lua_long_string(data: bytes) -> str:
    text = data.decode()
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def wrk_script(template: BatchTemplate, write_key: str, run_id: str, path: str) -> str:
    """A wrk Lua script sending ``template`` with unique messageIds (``sent`` slots are 0)."""
    merged: list[bytes] = [template.parts[0]]
    for slot, part in zip(template.slots, template.parts[1:], strict=True):
        if slot == "mid":
            merged.append(part)
        else:
            merged[-1] += b"0" + part
    parts = ",\n".join(_lua_long_string(p) for p in merged)
    return f"""-- generated by bench/loadgen.py
local parts = {{
{parts}
}}
local n = #parts
local headers = {{["Content-Type"] = "application/json",
                  ["Authorization"] = "{basic_auth(write_key)}"}}
local counter = 0
local started = 0

function setup(thread)
  started = started + 1
  thread:set("tid", started)
end

function request()
  counter = counter + 1
  local stem = "{run_id}-" .. tid .. "-" .. counter .. "-"
  local buf = {{}}
  for i = 1, n - 1 do
    buf[2 * i - 1] = parts[i]
    buf[2 * i] = stem .. i
  end
  buf[2 * n - 1] = parts[n]
  return wrk.format("POST", "{path}", headers, table.concat(buf))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"duration_us": %d, "requests": %d, "status": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.duration, summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def run_wrk(
    url: str,
    template: BatchTemplate,
    write_key: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    workdir: Path,
    label: str,
) -> WrkResult:
    """Saturate ``url`` (``…/v1/batch``) for ``seconds``; the result counts only 2xx answers."""
    run_id = f"{label}-{uuid.uuid4().hex[:10]}"
    script = workdir / f"wrk-{label}.lua"
    script.write_text(wrk_script(template, write_key, run_id, BATCH_PATH))
    argv = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={script}",
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or match is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}"
        )
    data = json.loads(match.group(1))
    return WrkResult(
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        non_2xx=data["status"],
        socket_errors={k: data[k] for k in ("connect", "read", "write", "timeout")},
        latency_ms={k[:-3]: data[k] / 1000 for k in ("p50_us", "p90_us", "p99_us", "max_us")},
        command=" ".join(
            argv[:-2] + ["--script=var/bench/ingest/wrk-<server>.lua", _portless(url)]
        ),
    )


# --- paced sender ------------------------------------------------------------------------------


@dataclass
class PacedResult:
    seconds: float
    planned: int
    ok: int
    failed: int
    errors: dict[str, int]
    latency_ms: dict[str, float]
    accepted_events: int
    behind: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    ok_sent_ns: list[int] = field(default_factory=list)  # send time of each accepted batch

    def failures(self) -> str:
        """``0``, or the count with its causes: ``3 (HTTP 503: 2, TimeoutError: 1)``."""
        if not self.failed:
            return "0"
        causes = {f"HTTP {k}": v for k, v in self.statuses.items() if k != "200"}
        causes.update(self.errors)
        return f"{self.failed} ({', '.join(f'{k}: {v}' for k, v in sorted(causes.items()))})"


class PacedLoad:
    """Fixed-rate ``/v1/batch`` traffic from ``processes`` × ``threads`` senders, in the background.

    ``accepted_events`` (shared counter) is readable while it runs; :meth:`wait` returns the
    :class:`PacedResult`. :meth:`stop` ends it early. Senders are daemon processes with their
    own deadline, so they never outlive the run.
    """

    def __init__(
        self,
        host: str,
        port: int,
        write_key: str,
        *,
        events_per_second: float,
        seconds: float,
        batch_size: int = 100,
        processes: int = 1,
        threads: int = 16,
        timeout: float = 30.0,
    ) -> None:
        self._ctx = mp.get_context("spawn")
        self.accepted = self._ctx.Value("q", 0)
        self._stop = self._ctx.Event()
        self._results = self._ctx.Queue()
        self.seconds = seconds
        requests_per_second = events_per_second / batch_size
        start_at = time.time() + 1.5  # spawned interpreters need a moment to import
        self._procs = [
            self._ctx.Process(
                target=_paced_process,
                args=(
                    host,
                    port,
                    basic_auth(write_key),
                    batch_size,
                    requests_per_second,
                    seconds,
                    start_at,
                    index,
                    processes,
                    threads,
                    timeout,
                    f"p{uuid.uuid4().hex[:10]}-{index}",
                    self.accepted,
                    self._stop,
                    self._results,
                ),
                daemon=True,
            )
            for index in range(processes)
        ]
        for proc in self._procs:
            proc.start()
        self.started_at = start_at

    @property
    def accepted_events(self) -> int:
        return self.accepted.value

    def stop(self) -> None:
        self._stop.set()

    def wait(self) -> PacedResult:
        import queue

        parts = []
        deadline = time.time() + self.seconds + 120
        while len(parts) < len(self._procs):
            try:
                parts.append(self._results.get(timeout=1.0))
            except queue.Empty:
                dead = [p for p in self._procs if p.exitcode not in (None, 0)]
                if dead or time.time() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"load generator failed (exit codes {[p.exitcode for p in self._procs]})"
                    ) from None
        for proc in self._procs:
            proc.join(timeout=10)
        return _merge(parts)

    def kill(self) -> None:
        self._stop.set()
        for proc in self._procs:
            if proc.is_alive():
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


def _merge(parts: list[dict]) -> PacedResult:
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for p in parts:
        for k, v in p["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return PacedResult(
        seconds=max(p["seconds"] for p in parts),
        planned=sum(p["planned"] for p in parts),
        ok=sum(p["ok"] for p in parts),
        failed=sum(p["failed"] for p in parts),
        errors=errors,
        latency_ms={
            "p50": percentile(latencies, 50) * 1000,
            "p99": percentile(latencies, 99) * 1000,
            "max": (latencies[-1] if latencies else 0.0) * 1000,
        },
        accepted_events=sum(p["accepted_events"] for p in parts),
        behind=sum(p["behind"] for p in parts),
        statuses=statuses,
        ok_sent_ns=sorted(x for p in parts for x in p["ok_sent_ns"]),
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def _post_once_more_if_stale(
    conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]
) -> tuple[int | None, str]:
    """(status, "") or (None, error name). A server may close an idle keep-alive connection
    just as it is reused; clients resend then (messageIds make it safe), and so does this."""
    for attempt in (1, 2):
        try:
            return _post(conn, body, headers), ""
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            conn.close()  # http.client reconnects on the next request
            if attempt == 2:
                return None, type(exc).__name__
        except (OSError, http.client.HTTPException) as exc:
            return None, type(exc).__name__
    raise AssertionError("unreachable")


def _post(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> int:
    conn.request("POST", BATCH_PATH, body, headers)
    response = conn.getresponse()
    response.read()
    if response.getheader("Connection", "").lower() == "close":
        conn.close()
    return response.status


def _paced_process(
    host: str,
    port: int,
    auth: str,
    batch_size: int,
    requests_per_second: float,
    seconds: float,
    start_at: float,
    index: int,
    processes: int,
    threads: int,
    timeout: float,
    run_id: str,
    accepted,
    stop,
    results,
) -> None:
    template = batch_template(batch_size)
    interval = processes / requests_per_second  # this process's share of the schedule
    offset = index / requests_per_second
    total = int(seconds * requests_per_second / processes)
    end_at = start_at + seconds + 1.0
    headers = {"Content-Type": "application/json", "Authorization": auth}
    lock = threading.Lock()
    state = {
        "next": 0,
        "ok": 0,
        "failed": 0,
        "accepted_events": 0,
        "behind": 0,
    }
    errors: dict[str, int] = {}
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    ok_sent_ns: list[int] = []

    def sender(thread_no: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        while not stop.is_set():
            with lock:
                k = state["next"]
                state["next"] += 1
            if k >= total:
                break
            due = start_at + offset + k * interval
            if time.time() > end_at:
                with lock:
                    state["behind"] += 1  # the server is slower than the rate: don't extend the run
                continue
            delay = due - time.time()
            if delay > 0 and stop.wait(delay):
                break
            sent_ns = time.time_ns()
            body = template.fill(f"{run_id}-{k}-", sent_ns)
            began = time.perf_counter()
            status, error = _post_once_more_if_stale(conn, body, headers)
            if status is None:
                conn.close()
                with lock:
                    errors[error] = errors.get(error, 0) + 1
                    state["failed"] += 1
                continue
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 200:
                    state["ok"] += 1
                    state["accepted_events"] += batch_size
                    ok_sent_ns.append(sent_ns)
                else:
                    state["failed"] += 1
            if status == 200:
                with accepted.get_lock():
                    accepted.value += batch_size
        conn.close()

    began = time.time()
    pool = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=max(1.0, start_at + seconds + timeout + 30 - time.time()))
    results.put(
        {
            **state,
            "seconds": time.time() - max(began, start_at),
            "planned": total,
            "errors": errors,
            "statuses": statuses,
            "latencies": latencies,
            "ok_sent_ns": ok_sent_ns,
        }
    )
