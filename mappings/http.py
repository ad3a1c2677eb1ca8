"""The one outbound-HTTP seam: the only module that imports ``requests``.

It sends a ``PreparedRequest`` exactly as built (no redirects, no retries, no extra headers beyond
what HTTP itself needs) and maps transport failures to two error classes. Retry policy lives in
``destinations.mixpanel.responses``; this module never retries.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from mappings import __version__

if TYPE_CHECKING:
    from mappings.destinations.mixpanel.wire import PreparedRequest

USER_AGENT = f"segmix/{__version__}"
DEFAULT_TIMEOUT = 30.0  # M2: gzip batches can be large
# Mixpanel answers are small; a misbehaving proxy must not make a worker buffer a huge body.
MAX_RESPONSE_BYTES = 1_000_000


class TransportError(Exception):
    """No HTTP answer: DNS, refused, reset, TLS, proxy… ``kind`` is ``"connection"`` or
    ``"timeout"``; ``elapsed_ms`` is how long the attempt took."""

    kind = "connection"

    def __init__(self, message: str, *, elapsed_ms: int = 0):
        super().__init__(message)
        self.message = message
        self.elapsed_ms = elapsed_ms


class TransportTimeout(TransportError):
    """Connect or read timeout. Retryable, but the request may have been processed (§12)."""

    kind = "timeout"


@dataclass(frozen=True)
class HttpResult:
    """One attempt's outcome. ``status`` is ``None`` when no answer came; then ``error_class``
    (``"timeout"``/``"connection"``) and ``error`` say why."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    elapsed_ms: int
    error_class: str | None = None
    error: str | None = None


_local = threading.local()


def session() -> requests.Session:
    """This thread's pooled session, rebuilt after a fork (sockets must not cross processes)."""
    current = getattr(_local, "session", None)
    if current is None or getattr(_local, "pid", None) != os.getpid():
        current = requests.Session()
        # Send exactly the prepared headers: no python-requests User-Agent, Accept or keep-alive.
        current.headers.clear()
        current.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0))
        current.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0))
        _local.session, _local.pid = current, os.getpid()
    return current


def send(prepared: PreparedRequest, *, timeout: float = DEFAULT_TIMEOUT) -> HttpResult:
    """Send ``prepared`` once. Any HTTP status (3xx included: redirects are never followed) is a
    result; no answer raises ``TransportTimeout`` or ``TransportError``."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        response = session().request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            data=prepared.body or None,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            body = _read_capped(response)
        finally:
            response.close()
    except requests.Timeout as exc:
        raise TransportTimeout(_describe(exc, timeout), elapsed_ms=elapsed()) from exc
    except requests.ConnectionError as exc:
        # requests reports a read timeout while streaming the body as a ConnectionError.
        if exc.args and isinstance(exc.args[0], ReadTimeoutError):
            raise TransportTimeout(_describe(exc, timeout), elapsed_ms=elapsed()) from exc
        raise TransportError(_describe(exc, timeout), elapsed_ms=elapsed()) from exc
    except requests.RequestException as exc:
        raise TransportError(_describe(exc, timeout), elapsed_ms=elapsed()) from exc
    return HttpResult(response.status_code, dict(response.headers), body, elapsed())


def try_send(prepared: PreparedRequest, *, timeout: float = DEFAULT_TIMEOUT) -> HttpResult:
    """``send`` that reports transport errors in the result instead of raising, for recording
    every attempt (``responses.classify(..., status=None, error=result.error)``)."""
    try:
        return send(prepared, timeout=timeout)
    except TransportError as exc:
        return HttpResult(None, {}, b"", exc.elapsed_ms, error_class=exc.kind, error=exc.message)


def _read_capped(response: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def _describe(exc: Exception, timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timeout after {timeout:g}s"
    if isinstance(exc, requests.Timeout) or (
        exc.args and isinstance(exc.args[0], ReadTimeoutError)
    ):
        return f"read timeout after {timeout:g}s"
    kind = "TLS error" if isinstance(exc, requests.exceptions.SSLError) else "connection error"
    # The exception text names host and port, never credentials (they travel in headers).
    return f"{kind}: {exc}"
