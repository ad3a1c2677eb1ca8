"""Request body → the messages it carries (spec §2.1 routes, §4.5 limits, §5.1 batch envelope).

Pure: no Django, no I/O. Which type a route forces, how many messages a body may hold, where
they sit in it, the envelope fields merged into each, and which parser notes belong to which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.ingest.decode import Note
from mappings.ingest.errors import IngestError
from mappings.ingest.jsontools import without_write_keys

# URL segment after /v1/ → the type that route forces, or None when each message names its own
# (§2.1). /v1/forward is not here: the view passes is_forward=True instead.
ROUTE_TYPES: dict[str, str | None] = {
    "track": "track",
    "t": "track",
    "identify": "identify",
    "i": "identify",
    "page": "page",
    "p": "page",
    "screen": "screen",
    "s": "screen",
    "group": "group",
    "g": "group",
    "alias": "alias",
    "a": "alias",
    "batch": None,
    "b": None,
    "import": None,
}
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_MESSAGES = 2500
MAX_FORWARD_MESSAGES = 4000


@dataclass(frozen=True, slots=True)
class Envelope:
    items: list[Any]
    layout: str  # "single", "array" or "batch": where messages sit in the body
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    sent_at: Any = None


def open_envelope(value: Any, route_type: str | None, is_forward: bool) -> Envelope:
    """§4.1 step 7 and §5.1: find the messages and the envelope fields merged into each."""
    if route_type is not None:
        if type(value) is not dict:
            raise _invalid_body("the body must be a JSON object")
        return Envelope([value], "single")
    if is_forward:
        if type(value) is list:
            return Envelope(value, "array")
        if type(value) is dict and "batch" not in value:
            return Envelope([value], "single")
    if type(value) is not dict:
        raise _invalid_body("the body must be a JSON object")
    batch = value.get("batch")
    if type(batch) is not list:
        raise _invalid_body("batch must be an array")
    return Envelope(
        batch,
        "batch",
        _envelope_object(value, "context"),
        _envelope_object(value, "integrations"),
        value.get("sentAt"),
    )


def _envelope_object(envelope: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = envelope.get(key)
    if value is None:
        return None
    if type(value) is not dict:
        # Our choice: merging a non-object into every message has no meaning; refuse the shape.
        raise _invalid_body(f"envelope {key} must be an object")
    return without_write_keys(value)


def _invalid_body(message: str) -> IngestError:
    return IngestError(400, "invalid_body", message)


def sort_notes(notes: tuple[Note, ...], layout: str) -> tuple[dict[int, list[Note]], list[Note]]:
    """Pin parser notes on messages: ``(by batch index, shared by all)``; paths become relative.

    Envelope ``context``/``integrations``/``sentAt`` end up in every message, so their notes
    are shared. Notes under a ``writeKey`` are dropped with the key.
    """
    per_message: dict[int, list[Note]] = {}
    shared: list[Note] = []
    for note in notes:
        if "writeKey" in note.path:
            continue
        path = note.path
        if layout == "single":
            per_message.setdefault(0, []).append(note)
        elif layout == "array" and path and type(path[0]) is int:
            per_message.setdefault(path[0], []).append(Note(path[1:], note.code))
        elif layout == "batch" and len(path) >= 2 and path[0] == "batch":
            per_message.setdefault(int(path[1]), []).append(Note(path[2:], note.code))
        elif layout == "batch" and path and path[0] in ("context", "integrations", "sentAt"):
            shared.append(note)
    return per_message, shared
