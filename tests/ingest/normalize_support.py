"""Shared helpers for the normalisation tests: one request stamp, one source, small messages."""

from __future__ import annotations

from datetime import UTC, datetime

from mappings.ingest.decode import decode_body
from mappings.ingest.normalize import normalize_request

RECEIVED_AT = datetime(2026, 3, 10, 12, 0, 5, 250000, tzinfo=UTC)
CAP = 524_288


def run(body, route_type=None, **options):
    return normalize_request(
        body, route_type=route_type, received_at=RECEIVED_AT, source_id="src_1", **options
    )


def run_bytes(data: bytes, route_type=None, **options):
    return run(decode_body(data, None, max_decompressed=CAP), route_type, **options)


def track(**fields):
    return {"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m-1", **fields}


def only_reject(result):
    assert len(result.rejected) == 1, result.rejected
    return result.rejected[0]
