"""The socket side: a threaded HTTP/1.1 server, fault injection and the `/_fake/` API."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .endpoints import Request, Response, Settings, dispatch, parse_json, scripted
from .store import Project, ScriptedResponse, Store

_SCRIPT_FIELDS = {f.name for f in fields(ScriptedResponse)}


class FakeMixpanel:
    """A local Mixpanel that validates like the real one; see the package docstring.

    Usable as a context manager (`with FakeMixpanel() as mp: mp.url`) or started and stopped
    explicitly. All inspection methods return copies and are safe from any thread.
    """

    def __init__(
        self,
        projects: list[Project] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        record_bodies: bool = True,
        max_body_bytes: int = 10_000_000,
        max_records: int = 2000,
        too_many_records_status: int = 413,
        failed_id_key: str = "insert_id",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = Settings(
            projects=list(projects) if projects else [Project()],
            max_body_bytes=max_body_bytes,
            max_records=max_records,
            too_many_records_status=too_many_records_status,
            failed_id_key=failed_id_key,
            latency_ms=latency_ms,
            record_bodies=record_bodies,
            clock=clock,
        )
        self.store = Store()
        self.internal_errors: list[str] = []
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeMixpanel:
        self._stopping.clear()
        self._server = _Server(self._address, _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-mixpanel", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a scripted delay
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMixpanel:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to put in SEGMIX_MIXPANEL_API_URL (no trailing slash)."""
        if not self._server:
            raise RuntimeError("FakeMixpanel is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def project(self) -> Project:
        """The first (by default the only) configured project."""
        return self.settings.projects[0]

    # -- fault injection and inspection ----------------------------------------------------

    def script(
        self,
        path: str,
        *,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        close: bool = False,
        ingest: bool = False,
    ) -> None:
        """Queue a scripted response for the next `times` requests whose path starts with `path`.

        Scripts are matched first-in first-out. With `status`, the canned answer (Mixpanel's
        body for that status unless `body` is given) replaces the real handling and nothing is
        ingested unless `ingest=True`. Without `status` the script is a passthrough: real
        handling (and ingestion) after `delay`, with `headers`/`body` overriding. `close=True`
        drops the connection without any response (ingesting first only with `ingest=True`).
        `delay` seconds are slept before answering, to trigger client timeouts.
        """
        self.store.add_script(
            ScriptedResponse(path, status, body, dict(headers or {}), times, delay, close, ingest)
        )

    def reset(self) -> None:
        """Forget records, profiles, requests and pending scripts."""
        self.store.reset()
        self.internal_errors.clear()

    def records(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Accepted events in arrival order, duplicates included."""
        return self.store.records(endpoint)

    def deduped(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """One entry per dedup key (latest version, first-arrival order), with `copies`."""
        return self.store.deduped(endpoint)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The request log, `/_fake/` calls excluded."""
        return self.store.requests(path)

    def stats(self) -> dict[str, Any]:
        return {**self.store.stats(), "internal_errors": len(self.internal_errors)}

    def profile_updates(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Accepted `/engage` and `/groups` updates in order."""
        return self.store.profile_updates(endpoint)

    def profiles(self, token: str | None = None) -> dict[str, dict[str, Any]]:
        """Final user profiles of a project (default: the first), keyed by `$distinct_id`."""
        return self.store.profiles()["profiles"].get(token or self.project.token, {})

    def profile(self, distinct_id: str, token: str | None = None) -> dict[str, Any] | None:
        return self.profiles(token).get(distinct_id)

    def group_profile(
        self, group_key: str, group_id: str, token: str | None = None
    ) -> dict[str, Any] | None:
        groups = self.store.profiles()["groups"].get(token or self.project.token, {})
        return groups.get(group_key, {}).get(group_id)

    def add_totals(self, token: str | None = None) -> dict[str, dict[str, float]]:
        """Sum of every accepted `$add` per `$distinct_id` and property (unaffected by `$set`)."""
        return self.store.profiles()["add_totals"].get(token or self.project.token, {})

    def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server stops, so stop() never waits on a delay."""
        if seconds > 0:
            self._stopping.wait(seconds)

    # -- the /_fake/ control API -----------------------------------------------------------

    def control(self, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
        """Serve `/_fake/...` for tests and benchmarks running in other processes."""
        name = path.removeprefix("/_fake/").strip("/")
        endpoint = query.get("endpoint")
        if method == "GET":
            getters = {
                "records": lambda: {"records": self.records(endpoint)},
                "deduped": lambda: {"records": self.deduped(endpoint)},
                "stats": self.stats,
                "requests": lambda: {"requests": self.requests(query.get("path"))},
                "profiles": self.store.profiles,
                "profile-updates": lambda: {"updates": self.profile_updates(endpoint)},
                "scripts": lambda: {"scripts": self.store.scripts()},
                "health": lambda: {"status": "ok", "url": self.url},
            }
            if name in getters:
                return Response(200, getters[name]())
        elif method == "POST" and name == "reset":
            self.reset()
            return Response(200, {"status": "ok"})
        elif method == "POST" and name == "script":
            return self._control_script(body)
        elif method == "POST" and name == "config":
            try:
                self.settings.latency_ms = float(parse_json(body or b"{}")["latency_ms"])
            except (ValueError, KeyError, TypeError) as exc:
                return Response(400, {"error": f"expected {{'latency_ms': N}}: {exc}"})
            return Response(200, {"latency_ms": self.settings.latency_ms})
        return Response(404, {"error": f"unknown control endpoint {method} {path}"})

    def _control_script(self, body: bytes) -> Response:
        try:
            payload = parse_json(body)
            items = payload if isinstance(payload, list) else [payload]
            scripts = []
            for item in items:
                unknown = set(item) - _SCRIPT_FIELDS
                if unknown:
                    raise ValueError(f"unknown fields {sorted(unknown)}")
                scripts.append(ScriptedResponse(**item))
        except (ValueError, TypeError, AttributeError) as exc:
            return Response(400, {"error": f"invalid script: {exc}"})
        for script in scripts:
            self.store.add_script(script)
        return Response(200, {"queued": len(scripts)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for clients holding keep-alive sockets
    allow_reuse_address = True
    fake: FakeMixpanel

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # the client gave up (timeout, scripted close); nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive like the real API, so connection pools behave as in production.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces stderr noise

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = self._read_body()
        if split.path.startswith("/_fake/"):
            self._send(fake.control(self.command, split.path, query, body))
            return
        req = Request(self.command, split.path, query, self.headers, body)
        started = time.monotonic()
        req.seq = fake.store.next_request_seq(
            {
                "time": fake.settings.now(),
                "method": self.command,
                "path": split.path,
                "query": query,
                "headers": dict(self.headers.items()),
                "body_bytes": len(body),
            }
        )
        script = fake.store.take_script(split.path)
        fake.sleep(fake.settings.latency_ms / 1000)
        if script:
            fake.sleep(script.delay)
        passthrough = script is not None and script.status is None and not script.close
        real = None
        if script is None or script.ingest or passthrough:
            real = self._dispatch(req)
        response = real if script is None else scripted(script, real, fake.settings, req.path)
        if script and script.close:
            response = None
        # Logged before answering: a client that has its answer must find the request logged.
        fake.store.finish_request(
            req.seq,
            status=response.status if response else None,
            response=response.body if response else None,
            body=self._logged_body(req) if fake.settings.record_bodies else None,
            scripted=script is not None,
            closed=response is None,
            duration_ms=round((time.monotonic() - started) * 1000, 3),
            **req.notes,
        )
        if response is None:
            self._drop_connection()
        else:
            self._send(response)

    @staticmethod
    def _logged_body(req: Request) -> Any:
        if req.decoded is None or isinstance(req.decoded, bytes):
            return req.body.decode("utf-8", "replace")
        return req.decoded

    def _dispatch(self, req: Request) -> Response:
        fake = self.server.fake
        try:
            return dispatch(req, fake.settings, fake.store)
        except Exception:
            # A bug in the fake must be loud, not look like a Mixpanel outage to segmix.
            trace = traceback.format_exc()
            fake.internal_errors.append(trace)
            print(trace, file=sys.stderr)
            return Response(500, {"error": "fake_mixpanel internal error", "traceback": trace})

    def _send(self, response: Response) -> None:
        if isinstance(response.body, bytes):
            payload, kind = response.body, "application/octet-stream"
        elif response.text:
            payload, kind = str(response.body).encode(), "text/plain; charset=utf-8"
        else:
            payload, kind = json.dumps(response.body).encode(), "application/json"
        headers = {"Content-Type": kind, **response.headers}
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client timed out while we were "slow"

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
