"""Fixtures and helpers shared by the HTTP-level ingest tests (views, store, §8 rows).

Imported explicitly by those test modules (the pure-layer tests don't need any of it).
"""

from __future__ import annotations

import base64
import gzip
import uuid
from typing import Any

import orjson
import pytest

from mappings.ingest import ratelimit, sources
from mappings.models import Delivery, Destination, Event, IngestRequest, RejectedMessage, Source

STANDARD_HEADERS = ("Content-Type", "Cache-Control", "X-Request-Id", "Access-Control-Allow-Origin")


_hints: list[int] = []


@pytest.fixture(autouse=True)
def isolated_ingest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh caches, a private Redis namespace, and flush hints recorded instead of enqueued."""
    import mappings.delivery.schedule as schedule

    sources.clear_cache()
    ratelimit.reset()
    monkeypatch.setattr(ratelimit, "KEY_PREFIX", f"segmix-test:{uuid.uuid4().hex}:")
    _hints.clear()
    monkeypatch.setattr(schedule, "schedule_flush", _hints.append)


def flush_hints() -> list[int]:
    """Destination ids the ingest asked to flush in this test, in call order."""
    return list(_hints)


def make_source(name: str = "web", **fields: Any) -> Source:
    return Source.objects.create(name=name, write_key=f"wk_{name}_{uuid.uuid4().hex}", **fields)


def make_destination(*sources_: Source, name: str = "mp", enabled: bool = True) -> Destination:
    destination = Destination.objects.create(name=name, enabled=enabled)
    destination.sources.set(sources_)
    return destination


def basic(key: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{key}:{password}".encode()).decode()


def track(n: int = 0, **fields: Any) -> dict[str, Any]:
    message = {
        "type": "track",
        "event": f"Event {n}",
        "userId": f"user-{n}",
        "messageId": f"msg-{n}",
        "timestamp": "2026-03-10T11:58:00.000Z",
        "properties": {"n": n},
    }
    message.update(fields)
    return message


def batch(*messages: dict[str, Any], **envelope: Any) -> bytes:
    return orjson.dumps({"batch": list(messages), **envelope})


def post(
    client: Any,
    path: str,
    body: bytes | str | dict | list,
    *,
    key: str | None = None,
    gzipped: bool = False,
    content_type: str = "application/json",
    **headers: str,
) -> Any:
    """POST raw bytes the way SDKs do (Basic auth when ``key`` is given)."""
    if isinstance(body, dict | list):
        body = orjson.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    if gzipped:
        body = gzip.compress(body)
        headers.setdefault("Content-Encoding", "gzip")
    if key is not None:
        headers.setdefault("Authorization", basic(key))
    # Upper-case names are WSGI environ keys (REMOTE_ADDR, CONTENT_LENGTH), the rest headers.
    environ = {name: value for name, value in headers.items() if name.isupper()}
    headers = {name: value for name, value in headers.items() if not name.isupper()}
    return client.generic("POST", path, body, content_type=content_type, headers=headers, **environ)


def counts() -> dict[str, int]:
    """How many rows each pipeline table holds."""
    return {
        "events": Event.objects.count(),
        "deliveries": Delivery.objects.count(),
        "rejects": RejectedMessage.objects.count(),
        "requests": IngestRequest.objects.count(),
    }


def nothing_stored_but_log(status: int, code: str) -> None:
    """I2: a refused request leaves only its request-log row."""
    assert counts() == {"events": 0, "deliveries": 0, "rejects": 0, "requests": 1}
    row = IngestRequest.objects.get()
    assert (row.status, row.code) == (status, code)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str) and "\n" not in body["message"]
    for header in STANDARD_HEADERS:
        assert response.has_header(header), header
    assert response["Cache-Control"] == "no-store"
    return body
