"""The Tracking API's HTTP surface (spec §2, §3, §4.1, §6): thin views over decode → normalise →
store.

Every view answers JSON with the §6.1 headers, never HTML, never a redirect; every refusal is a
JSON error with its code, and (best effort) leaves a request-log row. The order is §4.1's:
route and method, ``Content-Length`` cap, header key and rate limit, body, body key, normalise,
message rate limit, one transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from mappings.ingest import httpio, ratelimit
from mappings.ingest.auth import body_write_key, resolve_write_key, write_key_from_basic
from mappings.ingest.decode import decompress, parse_json
from mappings.ingest.envelope import ROUTE_TYPES
from mappings.ingest.errors import IngestError
from mappings.ingest.normalize import normalize_request
from mappings.ingest.signature import check_signature
from mappings.ingest.sources import SourceInfo, lookup_source
from mappings.ingest.store import (
    StorageUnavailable,
    log_request,
    on_live_connection,
    store_request,
)

log = logging.getLogger(__name__)

WIRE_CAP = 1024 * 1024  # §4.5, every route but forward
FORWARD_CAP = 8 * 1024 * 1024  # wire and decompressed
BATCH_CAP = 512 * 1024  # decompressed, /v1/batch, /b, /import
SINGLE_CAP = 64 * 1024  # decompressed, single-message routes
TELEMETRY_CAP = 64 * 1024
EXCERPT_BYTES = 2048
POST_METHODS = "POST, OPTIONS"
GET_METHODS = "GET, OPTIONS"


def _now_ms() -> Any:
    """Now, truncated to the millisecond like the ``receivedAt`` text stored in each message."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class RateLimited(Exception):
    """``429 rate_limited``: wait ``retry_after`` seconds (1–300)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Exchange:
    """One request's facts, gathered as it goes, for the answer and the request-log row."""

    request: HttpRequest
    route: str
    request_id: str = field(default_factory=httpio.new_request_id)
    started: float = field(default_factory=time.perf_counter)
    received_at: Any = field(default_factory=_now_ms)
    ip: str | None = None
    key: str | None = None
    source: SourceInfo | None = None
    wire_bytes: int = 0
    raw: bytes | None = None
    decoded: bytes | None = None

    def log_fields(self, status: int, code: str = "", excerpt: bool = False) -> dict[str, Any]:
        meta = self.request.META
        fields: dict[str, Any] = {
            "request_id": self.request_id,
            "source_id": self.source.id if self.source else None,
            "key_prefix": (self.key or "")[:6],
            "route": self.route[:40],
            "status": status,
            "code": code,
            "wire_bytes": self.wire_bytes,
            "decoded_bytes": len(self.decoded) if self.decoded is not None else 0,
            "content_encoding": meta.get("HTTP_CONTENT_ENCODING", "")[:40],
            "content_type": meta.get("CONTENT_TYPE", "")[:100],
            "user_agent": meta.get("HTTP_USER_AGENT", "")[:300],
            "ip": self.ip,
            "retry_count": _retry_count(meta.get("HTTP_X_RETRY_COUNT")),
            "duration_ms": (time.perf_counter() - self.started) * 1000,
            "received_at": self.received_at,
        }
        if excerpt:
            fields["body_excerpt"] = self.excerpt()
        return fields

    def excerpt(self) -> str:
        """The first 2 KB of the decoded body, when it was read, for the failed-requests panel."""
        body = self.decoded
        if body is None and self.raw and not self.request.META.get("HTTP_CONTENT_ENCODING"):
            body = self.raw  # refused before decompression: still readable unless encoded
        if body is None or body.startswith(b"\x1f\x8b"):
            return ""
        text = body[:EXCERPT_BYTES].decode("utf-8", "replace")
        return text.replace("\x00", "\ufffd")  # PostgreSQL text can't hold NUL


# --- routes ------------------------------------------------------------------------------------


@csrf_exempt
def ingest(request: HttpRequest, segment: str) -> HttpResponse:
    """``POST /v1/{track,identify,page,screen,group,alias,t,i,p,s,g,a,batch,b,import}``."""
    route_type = ROUTE_TYPES[segment]
    cap = BATCH_CAP if route_type is None else SINGLE_CAP
    return _serve(request, segment, lambda ex: _accept(ex, route_type, cap, forward=False))


@csrf_exempt
def forward(request: HttpRequest) -> HttpResponse:
    """``POST /v1/forward``: Segment's Webhooks destinations (§2.3)."""
    return _serve(request, "forward", lambda ex: _accept(ex, None, FORWARD_CAP, forward=True))


@csrf_exempt
def telemetry(request: HttpRequest) -> HttpResponse:
    """``POST /v1/m``: analytics-next metrics, read (within 64 KiB) and discarded."""

    def handle(ex: Exchange) -> HttpResponse:
        ex.decoded = httpio.read_body(request, TELEMETRY_CAP)
        ex.wire_bytes = len(ex.decoded)
        log_request(ex.log_fields(200))
        return httpio.json_response(200, {"success": True})

    return _serve(request, "m", handle)


@csrf_exempt
def project_settings(request: HttpRequest, write_key: str) -> HttpResponse:
    """``GET /v1/projects/{writeKey}/settings`` (§2.2): enough for SDKs to use segmix as CDN."""
    ex = Exchange(request, "settings")
    if request.method == "OPTIONS":
        return httpio.finish(request, httpio.preflight(request, GET_METHODS), ex.request_id)
    if request.method != "GET":
        return httpio.finish(request, httpio.method_not_allowed(GET_METHODS), ex.request_id)
    try:
        source = on_live_connection(lambda: lookup_source(write_key))
        if source is None or not source.enabled:
            response = httpio.not_found()
        else:
            response = httpio.json_response(200, _sdk_settings(request, write_key))
    except StorageUnavailable:
        response = httpio.storage_unavailable()
    except Exception:
        log.exception("settings request failed")
        response = httpio.internal_error()
    return httpio.finish(request, response, ex.request_id)


@csrf_exempt
def unknown(request: HttpRequest) -> HttpResponse:
    """Any other ``/v1/`` path: a JSON ``404``, never Django's page or a slash redirect."""
    ex = Exchange(request, "unknown", ip=httpio.client_ip(request))
    log_request(ex.log_fields(404, "not_found"))
    return httpio.finish(request, httpio.not_found(), ex.request_id)


# --- Django's own error pages (segmix_site.urls handler400/404/500) -----------------------------


def _is_ingest_path(request: HttpRequest) -> bool:
    return request.path == "/v1" or request.path.startswith("/v1/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_ingest_path(request):
        return defaults.bad_request(request, exception)
    error = IngestError(400, "invalid_body", "bad request")
    return httpio.finish(request, httpio.error_response(error), httpio.new_request_id())


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_ingest_path(request):
        return defaults.page_not_found(request, exception)
    return httpio.finish(request, httpio.not_found(), httpio.new_request_id())


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_ingest_path(request):
        return defaults.server_error(request)
    return httpio.finish(request, httpio.internal_error(), httpio.new_request_id())


# --- the flow ----------------------------------------------------------------------------------


def _serve(request: HttpRequest, route: str, handle: Any) -> HttpResponse:
    """Method check, then ``handle``; every failure becomes its JSON answer and a log row."""
    ex = Exchange(request, route)
    if request.method == "OPTIONS":
        return httpio.finish(request, httpio.preflight(request, POST_METHODS), ex.request_id)
    ex.ip = httpio.client_ip(request)
    if request.method != "POST":
        log_request(ex.log_fields(405, "method_not_allowed"))
        return httpio.finish(request, httpio.method_not_allowed(POST_METHODS), ex.request_id)
    try:
        response = handle(ex)
    except IngestError as error:
        response = _refuse(ex, error)
    except RateLimited as limited:
        log_request(ex.log_fields(429, "rate_limited", excerpt=True))
        response = httpio.rate_limited(limited.retry_after)
    except StorageUnavailable as exc:
        # No log row: the database just failed, and waiting for it again would break §6.2's
        # 5-second answer.
        log.warning("ingest %s: storage unavailable: %s", ex.request_id, exc)
        response = httpio.storage_unavailable()
    except Exception:
        log.exception("ingest %s failed", ex.request_id)
        log_request(ex.log_fields(500, "internal_error", excerpt=True))
        response = httpio.internal_error()
    return httpio.finish(request, response, ex.request_id)


def _refuse(ex: Exchange, error: IngestError) -> HttpResponse:
    if error.status == 401:
        blocked = ratelimit.note_unauthorized(ex.ip)
        if blocked is not None:
            log_request(ex.log_fields(429, "rate_limited"))
            return httpio.rate_limited(blocked)
    log_request(ex.log_fields(error.status, error.code, excerpt=error.status != 401))
    return httpio.error_response(error)


def _accept(ex: Exchange, route_type: str | None, cap: int, *, forward: bool) -> HttpResponse:
    """§4.1 steps 2–10 for one ingest request; raises what ``_serve`` turns into answers."""
    request = ex.request
    httpio.check_declared_length(request, FORWARD_CAP if forward else WIRE_CAP)
    header_key = write_key_from_basic(request.META.get("HTTP_AUTHORIZATION"))
    ex.key = header_key
    if header_key is not None:
        _authenticate(ex, header_key)
    elif forward:  # §2.3: required, and checked before the body is read
        raise IngestError(401, "missing_write_key", "Authorization header is required")

    raw = httpio.read_body(request, FORWARD_CAP if forward else WIRE_CAP)
    ex.raw, ex.wire_bytes = raw, len(raw)
    data = decompress(raw, request.META.get("HTTP_CONTENT_ENCODING"), max_decompressed=cap)
    ex.decoded = data
    parsed = parse_json(data)

    if ex.source is None:
        key = resolve_write_key(None, body_write_key(parsed))
        ex.key = key
        _authenticate(ex, key)
    elif not forward:
        resolve_write_key(header_key, body_write_key(parsed))  # mismatch → 401
    source = ex.source
    assert source is not None
    if forward and source.forward_secret:
        check_signature(
            source.forward_secret, request.META.get("HTTP_X_SIGNATURE"), data, parsed.value
        )

    normalized = normalize_request(
        parsed,
        route_type=route_type,
        received_at=ex.received_at,
        source_id=str(source.id),
        is_forward=forward,
        client_ip=ex.ip,
    )
    wait = ratelimit.admit_messages(source, len(normalized.accepted) + len(normalized.rejected))
    if wait is not None:
        raise RateLimited(wait)
    store_request(source.id, normalized, received_at=ex.received_at, log_fields=ex.log_fields(200))
    return httpio.json_response(200, normalized.response_body())


def _authenticate(ex: Exchange, key: str) -> None:
    """Key → enabled source (401s), then the per-source request bucket (429)."""
    source = on_live_connection(lambda: lookup_source(key))
    if source is None:
        raise IngestError(401, "invalid_write_key", "unknown write key")
    if not source.enabled:
        raise IngestError(401, "source_disabled", "this source is disabled")
    ex.source = source
    wait = ratelimit.admit_request(source, ex.ip)
    if wait is not None:
        raise RateLimited(wait)


def _sdk_settings(request: HttpRequest, write_key: str) -> dict[str, Any]:
    host = settings.SEGMIX_PUBLIC_INGEST_HOST or request.get_host()
    host = host.removeprefix("https://").removeprefix("http://").rstrip("/")
    return {
        "integrations": {
            "Segment.io": {"apiKey": write_key, "apiHost": f"{host}/v1", "protocol": "https"}
        },
        "plan": {"track": {"__default": {"enabled": True}}},
        "edgeFunction": {},
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "remotePlugins": [],
    }


def _retry_count(value: str | None) -> int | None:
    if not value or not value.strip().isdigit():
        return None
    return min(int(value.strip()), 2**31 - 1)
