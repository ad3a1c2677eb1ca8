"""HTTP plumbing of the Tracking API: reading bodies, the client IP, JSON answers (spec §2.1, §4.1,
§5.4, §6.1).

- ``read_body`` reads exactly ``Content-Length`` bytes, or a chunked body through ``wsgi.input``
  when the server says it is terminated (gunicorn), never more than the cap + 1.
- ``json_response``/``error_response``/``preflight`` build answers; ``finish`` puts the headers
  every ``/v1/`` response carries (``Content-Type``, ``Cache-Control``, ``X-Request-Id``, CORS).
"""

from __future__ import annotations

import ipaddress
import uuid
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from mappings.ingest.errors import IngestError

READ_CHUNK = 64 * 1024
DEFAULT_ALLOW_HEADERS = "Content-Type, Authorization, X-Retry-Count, Content-Encoding"
PREFLIGHT_MAX_AGE = "86400"


def new_request_id() -> str:
    return uuid.uuid4().hex


def content_length(request: HttpRequest) -> int | None:
    """The declared body length, or ``None`` when there is none (chunked or no body).

    A malformed value counts as 0, as Django itself treats it.
    """
    value = request.META.get("CONTENT_LENGTH")
    if value is None or value == "":
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def check_declared_length(request: HttpRequest, cap: int) -> None:
    """§4.1 step 2: refuse an over-cap ``Content-Length`` before reading a byte."""
    length = content_length(request)
    if length is not None and length > cap:
        raise request_too_large(cap)


def read_body(request: HttpRequest, cap: int) -> bytes:
    """The request body, at most ``cap`` bytes, else ``413 request_too_large``.

    Never touches ``request.body``/``request.POST`` (``DATA_UPLOAD_MAX_MEMORY_SIZE`` and the form
    parsers must not run). A chunked body has no ``Content-Length``: Django then sees an empty
    stream, so the raw ``wsgi.input`` is read to its end when ``wsgi.input_terminated`` says the
    server de-chunks it (gunicorn does); otherwise there is no body to read.
    """
    length = content_length(request)
    if length is not None:
        if length > cap:
            raise request_too_large(cap)
        return _read(request.read, length, cap)
    if request.META.get("wsgi.input_terminated"):
        return _read(request.META["wsgi.input"].read, None, cap)
    return b""


def _read(read: Any, length: int | None, cap: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while length is None or total < length:
        want = READ_CHUNK if length is None else min(READ_CHUNK, length - total)
        chunk = read(want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            raise request_too_large(cap)
    return b"".join(chunks)


def request_too_large(cap: int) -> IngestError:
    return IngestError(413, "request_too_large", f"request body is larger than {cap} bytes")


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, or behind trusted proxies the first untrusted ``X-Forwarded-For`` hop."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    proxies = _trusted_proxies(tuple(settings.SEGMIX_TRUSTED_PROXIES))
    if remote is None or not proxies or not _trusted(remote, proxies):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        ip = _valid_ip(hop)
        if ip is None:
            return None  # a malformed hop: we can't tell who sent it
        if not _trusted(ip, proxies):
            return ip
    return remote


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@cache
def _trusted_proxies(entries: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(ip: str, proxies: tuple[Any, ...]) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in network for network in proxies)


# --- answers -----------------------------------------------------------------------------------


def json_response(status: int, body: dict[str, Any] | None) -> HttpResponse:
    content = b"" if body is None else orjson.dumps(body)
    return HttpResponse(content, status=status, content_type="application/json")


def error_response(error: IngestError) -> HttpResponse:
    """The §6.1 error body with the status its code demands."""
    return json_response(error.status, error.response_body())


def internal_error() -> HttpResponse:
    return json_response(
        500, {"success": False, "code": "internal_error", "message": "internal error"}
    )


def storage_unavailable() -> HttpResponse:
    response = json_response(
        503,
        {
            "success": False,
            "code": "storage_unavailable",
            "message": "storage is unavailable; retry later",
        },
    )
    response["Retry-After"] = "5"
    return response


def rate_limited(retry_after: int) -> HttpResponse:
    response = json_response(
        429, {"success": False, "code": "rate_limited", "message": "rate limit exceeded"}
    )
    response["Retry-After"] = str(retry_after)
    response["X-RateLimit-Reset"] = str(retry_after)
    return response


def not_found() -> HttpResponse:
    return error_response(IngestError(404, "not_found", "no such endpoint"))


def method_not_allowed(allow: str) -> HttpResponse:
    response = error_response(IngestError(405, "method_not_allowed", "method not allowed"))
    response["Allow"] = allow
    return response


def preflight(request: HttpRequest, methods: str) -> HttpResponse:
    """A CORS preflight answer (§2.1): no auth, ``204``, cached for a day."""
    response = json_response(204, None)
    response["Access-Control-Allow-Methods"] = methods
    requested = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").strip()
    allowed = requested if requested and _header_safe(requested) else DEFAULT_ALLOW_HEADERS
    response["Access-Control-Allow-Headers"] = allowed
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def finish(request: HttpRequest, response: HttpResponse, request_id: str) -> HttpResponse:
    """Headers every ``/v1/`` response carries (§6.1, §2.1 CORS)."""
    response["Content-Type"] = "application/json"
    response["Cache-Control"] = "no-store"
    response["X-Request-Id"] = request_id
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin and _header_safe(origin):
        # Cookies never authenticate /v1/, so reflecting any origin grants nothing.
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        patch_vary_headers(response, ["Origin"])
    else:
        response["Access-Control-Allow-Origin"] = "*"
    return response


def _header_safe(value: str) -> bool:
    # Echoed into a response header: printable ASCII only, and bounded.
    return len(value) <= 2048 and value.isascii() and value.isprintable()
