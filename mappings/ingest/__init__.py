"""Segment-compatible Tracking API, pure half: bytes → validated, normalised messages.

No Django, no database, no Redis. The HTTP/storage layer calls, in order (spec §4.1):

1. ``auth.write_key_from_basic(header)`` before reading the body;
2. ``decode.decode_body(raw, content_encoding, max_decompressed=…)`` (§4.2–§4.4);
3. ``auth.body_write_key(parsed)`` and ``auth.resolve_write_key(...)`` (§3);
4. ``normalize.normalize_request(parsed, route_type=envelope.ROUTE_TYPES[segment], …)`` (§5),
   then stores ``accepted``/``rejected`` in one transaction and answers ``response_body()``.

Every request-level refusal is an ``errors.IngestError`` carrying its status and code.
"""
