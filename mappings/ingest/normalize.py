"""Parsed body → accepted and rejected messages (spec §4.5 limits, §5 validation, §2.3 forward).

Pure: no Django, no I/O. ``normalize_request`` is the one entry point; the storage layer commits
its result in one transaction and answers ``NormalizedRequest.response_body()``. Request-level
problems (wrong shape, a message over 32 KiB) raise ``IngestError``; everything else is decided
per message, so one bad event never costs the client the rest of its batch.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mappings.destinations.mixpanel.identity import is_placeholder
from mappings.ingest.decode import Note, ParsedBody
from mappings.ingest.envelope import (
    MAX_BATCH_MESSAGES,
    MAX_FORWARD_MESSAGES,
    MAX_MESSAGE_BYTES,
    Envelope,
    open_envelope,
    sort_notes,
)
from mappings.ingest.errors import IngestError
from mappings.ingest.fields import (
    ID_FIELDS,
    MESSAGE_TYPES,
    TEXT_FIELDS,
    Reject,
    check_field_types,
    check_required,
    coerce_id,
    message_type,
)
from mappings.ingest.jsontools import deep_merge, without_write_keys
from mappings.ingest.timestamps import (
    corrected_timestamp,
    format_timestamp,
    parse_timestamp,
    truncate_to_ms,
)
from mappings.ingest.types import AcceptedMessage, NormalizedRequest, RejectedMessage
from mappings.jsoncodec import dumps_compact

# Libraries running on the user's device: their request IP is the user's (§5.4 context.ip).
CLIENT_SIDE_LIBRARIES = frozenset(
    {"analytics.js", "analytics-ios", "analytics-android", "analytics-kotlin", "analytics-swift"}
)
CLIENT_SIDE_PREFIXES = ("analytics-react-native", "@segment/analytics-react-native")
# Set by the server on every route but /v1/forward, whatever the client sent (§5.4).
SERVER_FIELDS = frozenset({"messageId", "originalTimestamp", "sentAt", "receivedAt", "timestamp"})
# How the normaliser treats each known top-level key; other keys are kept as sent.
_TYPE, _ID, _TEXT, _MERGED, _OBJECT, _SERVER = range(6)
_ROLES = {
    "type": _TYPE,
    **dict.fromkeys(ID_FIELDS, _ID),
    **dict.fromkeys(TEXT_FIELDS, _TEXT),
    "context": _MERGED,
    "integrations": _MERGED,
    "properties": _OBJECT,
    "traits": _OBJECT,
    **dict.fromkeys(SERVER_FIELDS, _SERVER),
}
_IDENTITY_FIELDS = ("userId", "anonymousId", "groupId", "previousId")  # what check_required reads
# Compact JSON never escapes ASCII, so a writeKey member anywhere shows up as these bytes.
_WRITE_KEY_MEMBER = b'"writeKey":'


def normalize_request(
    body: ParsedBody | Any,
    *,
    route_type: str | None,
    received_at: datetime,
    source_id: str,
    is_forward: bool = False,
    client_ip: str | None = None,
) -> NormalizedRequest:
    """Validate and normalise every message of one request (§4.1 steps 7 and 9).

    ``body`` is ``decode.parse_json``'s result (its notes become per-message warnings or
    rejects) or a bare JSON value. ``route_type`` is ``ROUTE_TYPES[segment]``; ``received_at``
    the aware request stamp; ``client_ip`` the address §5.4 may copy into ``context.ip``.

    Raises ``IngestError`` 400 ``invalid_body`` for a wrong shape and ``message_too_large``
    (with ``index``) when any message exceeds 32 KiB. Otherwise every message ends up in
    exactly one of ``accepted``/``rejected``, even if normalising it crashed (``internal_error``).
    """
    parsed = body if isinstance(body, ParsedBody) else ParsedBody(body)
    envelope = open_envelope(parsed.value, route_type, is_forward)
    per_message, shared = sort_notes(parsed.notes, envelope.layout)

    # §4.5: every message is measured before any is judged; one oversized message fails all.
    measured: list[tuple[Any, bytes]] = []
    for index, item in enumerate(envelope.items):
        received, raw = item, dumps_compact(item)
        if _WRITE_KEY_MEMBER in raw:  # rare inside messages; skips a walk over every message
            received = without_write_keys(item)
            raw = dumps_compact(received)
        if len(raw) > MAX_MESSAGE_BYTES:
            raise IngestError(
                400,
                "message_too_large",
                f"message {index} is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}",
                index=index,
            )
        measured.append((received, raw))

    normalizer = _Normalizer(envelope, route_type, received_at, source_id, is_forward, client_ip)
    limit = MAX_FORWARD_MESSAGES if is_forward else MAX_BATCH_MESSAGES
    result = NormalizedRequest([], [], normalizer.received_text)
    for index, (received, raw) in enumerate(measured):
        if index >= limit:
            result.rejected.append(
                RejectedMessage.of(
                    index,
                    received,
                    raw,
                    "too_many_messages",
                    f"a batch holds at most {limit} messages",
                )
            )
            continue
        notes = [*shared, *per_message[index]] if index in per_message else shared
        try:
            result.accepted.append(normalizer.message(index, received, raw, notes))
        except Reject as reject:
            result.rejected.append(
                RejectedMessage.of(index, received, raw, reject.code, reject.message, reject.field)
            )
        except Exception:  # §5.7: quarantine this one message rather than fail the request
            result.rejected.append(
                RejectedMessage.of(
                    index, received, raw, "internal_error", "could not normalise message"
                )
            )
    return result


@dataclass(slots=True)
class MeasuredMessage(AcceptedMessage):
    """An ``AcceptedMessage`` that keeps the compact JSON of ``received`` measured for §4.5, so
    storage writes those bytes instead of serialising the message a second time."""

    received_json: bytes = b""


# --- one message -----------------------------------------------------------------------------------


class _Normalizer:
    """Request-wide facts (envelope, stamps, source) and the §5 rules applied per message."""

    def __init__(
        self,
        envelope: Envelope,
        route_type: str | None,
        received_at: datetime,
        source_id: str,
        is_forward: bool,
        client_ip: str | None,
    ) -> None:
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        self.envelope = envelope
        self.route_type = route_type
        # Computing from the truncated stamp makes `timestamp = receivedAt` exact when it falls back.
        self.received_at = truncate_to_ms(received_at)
        self.received_text = format_timestamp(self.received_at)
        self.source_id = source_id
        self.is_forward = is_forward
        self.client_ip = client_ip
        self.envelope_sent_at = parse_timestamp(envelope.sent_at)
        # Envelope context/integrations that a message without its own gets a copy of.
        self.envelope_objects = [
            (key, shared)
            for key, shared in (
                ("context", envelope.context),
                ("integrations", envelope.integrations),
            )
            if shared is not None
        ]

    def message(
        self, index: int, received: Any, raw: bytes, notes: Sequence[Note]
    ) -> AcceptedMessage:
        """Normalise one measured message (``raw``: its compact JSON) or raise ``Reject``."""
        if not notes and not self.is_forward and type(received) is dict:
            plain = self._plain(received)
            if plain is not None:
                out, kind, message_id, warnings = plain
                return self._finish(index, received, raw, out, kind, message_id, warnings)
        return self._checked(index, received, raw, notes)

    def _plain(self, received: dict[str, Any]) -> tuple[dict[str, Any], str, Any, list[str]] | None:
        """The common case in one pass: ``(out, kind, messageId, warnings)`` for a message whose
        ids are strings and whose fields have their types, or ``None`` to leave it to ``_checked``.

        Anything to coerce or refuse goes to ``_checked``; the one reject raised here is
        ``check_required``'s, after everything ``_checked`` looks at first. So both paths give
        the same result wherever this one answers (tests compare them).
        """
        kind = self.route_type or received.get("type")
        if type(kind) is not str or kind not in MESSAGE_TYPES:  # missing, upper-case, unknown…
            return None
        warnings: list[str] = []
        out: dict[str, Any] = {} if "type" in received else {"type": kind}
        for key, value in received.items():
            role = _ROLES.get(key)
            if role is None:
                out[key] = value
            elif role == _SERVER:
                continue
            elif role == _TYPE:
                out[key] = kind
            elif value is None:
                if role == _MERGED:
                    out[key] = self._merged(key, None)
                elif role == _OBJECT:
                    out[key] = {}
            elif role == _ID:
                if type(value) is not str:
                    return None
                if value.strip():  # blank means absent
                    if not warnings and is_placeholder(value):
                        warnings.append("placeholder_id")
                    out[key] = value
            elif role == _TEXT:
                if type(value) is not str:
                    return None
                out[key] = value
            elif type(value) is not dict:
                return None
            elif role == _MERGED:
                out[key] = self._merged(key, value)
            else:
                out[key] = value
        message_id = received.get("messageId")
        if message_id is not None:
            if type(message_id) is not str:
                return None
            if not message_id.strip():
                message_id = None
            elif not warnings and is_placeholder(message_id):
                warnings.append("placeholder_id")
        # Kept ids are exactly the coerced ones, so this rejects as ``_checked`` would.
        ids = {name: out.get(name) for name in _IDENTITY_FIELDS}
        check_required(kind, received, ids)
        return out, kind, message_id, warnings

    def _checked(
        self, index: int, received: Any, raw: bytes, notes: Sequence[Note]
    ) -> AcceptedMessage:
        """Every §5 rule in its order: the first problem found decides the ``Reject``."""
        if type(received) is not dict:
            raise Reject("invalid_message", "a message must be a JSON object")
        warnings: list[str] = []
        for note in notes:
            if note.code == "key_collision":
                field = ".".join(str(part) for part in note.path)
                raise Reject("invalid_field_type", f"{field} collides after replacement", field)
            if note.code not in warnings:
                warnings.append(note.code)
        kind = self.route_type or message_type(received)
        ids = {
            name: coerce_id(received, name, warnings) if name in received else None
            for name in ID_FIELDS
        }
        check_field_types(received)
        check_required(kind, received, ids)

        out: dict[str, Any] = {} if "type" in received else {"type": kind}
        for key, value in received.items():
            role = _ROLES.get(key)
            if role is None:
                out[key] = value
            elif role == _SERVER and not self.is_forward:
                continue
            elif role == _TYPE:
                out[key] = kind
            elif role == _ID or key == "messageId":
                if ids[key] is not None:
                    out[key] = ids[key]
            elif role == _TEXT:
                if value is not None:
                    out[key] = value
            elif role == _MERGED:
                out[key] = self._merged(key, value)
            elif role == _OBJECT:
                out[key] = {} if value is None else value
            else:
                out[key] = value  # a server field on /v1/forward, kept as sent
        return self._finish(index, received, raw, out, kind, ids["messageId"], warnings)

    def _finish(
        self,
        index: int,
        received: dict[str, Any],
        raw: bytes,
        out: dict[str, Any],
        kind: str,
        message_id: str | None,
        warnings: list[str],
    ) -> AcceptedMessage:
        """Envelope objects, ``context.ip``, ``messageId`` and the §5.4 server fields."""
        for key, shared in self.envelope_objects:
            if key not in out:
                out[key] = dict(shared)
        if not self.is_forward:
            self._fill_ip(out)
        assigned = message_id is None
        if message_id is None:
            message_id = self._assign_message_id(received, kind)
            warnings.append("message_id_assigned")
        if self.is_forward:
            self._keep_forwarded_times(out, received, message_id, warnings)
        else:
            self._set_server_fields(out, received, message_id, warnings)
        return MeasuredMessage(
            index=index,
            type=kind,
            message=out,
            received=received,
            message_id=message_id,
            message_id_assigned=assigned,
            dedup_hash=hashlib.sha256(message_id.encode("utf-8")).hexdigest(),
            warnings=warnings,
            size=len(raw),
            segmix_received_at=self.received_text,
            received_json=raw,
        )

    def _merged(self, key: str, own: Any) -> dict[str, Any]:
        shared = getattr(self.envelope, key)
        if own is None:
            return dict(shared) if shared else {}
        return deep_merge(shared, own) if shared else own

    def _fill_ip(self, out: dict[str, Any]) -> None:
        """§5.4: the request IP is the user's only for client-side libraries or direct calls."""
        context = out.get("context")
        if self.client_ip is None or type(context) is not dict or context.get("ip") is not None:
            return
        library = context.get("library")
        name = library.get("name") if type(library) is dict else None
        client_side = type(name) is str and (
            name in CLIENT_SIDE_LIBRARIES or name.startswith(CLIENT_SIDE_PREFIXES)
        )
        if context.get("direct") is True or client_side:
            out["context"] = {**context, "ip": self.client_ip}

    def _assign_message_id(self, received: dict[str, Any], kind: str) -> str:
        """§5.4: stable for a timestamped message (so its retries deduplicate), else random."""
        if received.get("timestamp") is None:
            return "segmix-" + uuid.uuid4().hex
        content = {key: value for key, value in received.items() if key != "sentAt"}
        canonical = dumps_compact([self.source_id, kind, content], sort_keys=True)
        return "segmix-" + hashlib.sha256(canonical).hexdigest()[:32]

    def _set_server_fields(
        self, out: dict[str, Any], received: dict[str, Any], message_id: str, warnings: list[str]
    ) -> None:
        # §5.1: the message's own valid sentAt, else the envelope's; stored verbatim either way.
        own_sent_at = received.get("sentAt")
        sent_at = None if own_sent_at is None else parse_timestamp(own_sent_at)
        sent_at_value = own_sent_at
        if sent_at is None and self.envelope_sent_at is not None:
            sent_at, sent_at_value = self.envelope_sent_at, self.envelope.sent_at
        elif own_sent_at is None:
            sent_at_value = self.envelope.sent_at
        client_timestamp = received.get("timestamp")
        timestamp, timestamp_warnings = corrected_timestamp(
            client_timestamp, sent_at, sent_at_value is not None, self.received_at
        )
        for warning in timestamp_warnings:
            if warning not in warnings:
                warnings.append(warning)
        out["messageId"] = message_id
        if client_timestamp is not None:
            out["originalTimestamp"] = client_timestamp
        if sent_at_value is not None:
            out["sentAt"] = sent_at_value
        out["receivedAt"] = self.received_text
        out["timestamp"] = (
            self.received_text if timestamp is self.received_at else format_timestamp(timestamp)
        )

    def _keep_forwarded_times(
        self, out: dict[str, Any], received: dict[str, Any], message_id: str, warnings: list[str]
    ) -> None:
        """§2.3: Segment already normalised these; fill only what is missing or unusable."""
        out["messageId"] = message_id
        if out.get("receivedAt") is None:
            out["receivedAt"] = self.received_text
        if "sentAt" not in out and self.envelope.sent_at is not None:
            out["sentAt"] = self.envelope.sent_at
        client_timestamp = received.get("timestamp")
        if parse_timestamp(client_timestamp) is None:
            if client_timestamp is not None:
                warnings.append("invalid_timestamp")
                out.setdefault("originalTimestamp", client_timestamp)
            out["timestamp"] = self.received_text
