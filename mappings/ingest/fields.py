"""Per-message field rules: §5.2 required fields and §5.3 field types and id coercion.

A broken rule raises ``Reject``; normalisation turns it into a quarantined message, never into
a failed request.
"""

from __future__ import annotations

from typing import Any

# The Mixpanel destination's pre-flight P7 list, compared trimmed and lower-cased (§5.3): one
# list for both stages, so ingest's placeholder_id warning and delivery's check always agree.
from ..destinations.mixpanel.identity import is_placeholder

MESSAGE_TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})
NEEDS_IDENTITY = frozenset({"track", "identify", "page", "screen", "group"})

ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId", "messageId")
TEXT_FIELDS = ("event", "name", "category")
OBJECT_FIELDS = ("properties", "traits", "context", "integrations")


class Reject(Exception):
    """This message is quarantined with ``code``; ``field`` names the culprit when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def message_type(message: dict[str, Any]) -> str:
    """A batch item's ``type``, lower-cased, or ``Reject`` ``invalid_type``."""
    value = message.get("type")
    kind = value.lower() if type(value) is str else None
    if kind not in MESSAGE_TYPES:
        raise Reject("invalid_type", "type must be one of " + ", ".join(sorted(MESSAGE_TYPES)))
    return kind


def coerce_id(message: dict[str, Any], name: str, warnings: list[str]) -> str | None:
    """The id as stored: blank → ``None`` (absent), integer → decimal string (``coerced_id``).

    Strings are kept verbatim, placeholders too (``placeholder_id``); floats, booleans, objects
    and arrays are refused as ``invalid_field_type``.

    >>> warnings = []
    >>> coerce_id({"userId": 12345}, "userId", warnings), warnings
    ('12345', ['coerced_id'])
    """
    value = message.get(name)
    if value is None:
        return None
    if type(value) is str:
        if not value.strip():
            return None
        text = value
    elif type(value) is int:  # an exact type check, so booleans are refused below
        text = str(value)
        if "coerced_id" not in warnings:
            warnings.append("coerced_id")
    else:
        raise Reject("invalid_field_type", f"{name} must be a string", name)
    if "placeholder_id" not in warnings and is_placeholder(text):
        warnings.append("placeholder_id")
    return text


def check_field_types(message: dict[str, Any]) -> None:
    """§5.3: text fields are strings or null, object fields objects or null."""
    for name in TEXT_FIELDS:
        value = message.get(name)
        if value is not None and type(value) is not str:
            raise Reject("invalid_field_type", f"{name} must be a string", name)
    for name in OBJECT_FIELDS:
        value = message.get(name)
        if value is not None and type(value) is not dict:
            raise Reject("invalid_field_type", f"{name} must be an object", name)


def check_required(kind: str, message: dict[str, Any], ids: dict[str, str | None]) -> None:
    """§5.2, after coercion (``ids`` holds the coerced ids; absent ones are ``None``)."""
    if kind in NEEDS_IDENTITY and ids["userId"] is None and ids["anonymousId"] is None:
        raise Reject("no_user_anon_id", "userId or anonymousId is required")
    if kind == "track":
        event = message.get("event")
        if event is None or not event.strip():
            raise Reject("missing_event", "track needs a non-empty event", "event")
    elif kind == "group" and ids["groupId"] is None:
        raise Reject("missing_group_id", "group needs a groupId", "groupId")
    elif kind == "alias":
        if ids["previousId"] is None:
            raise Reject("missing_previous_id", "alias needs a previousId", "previousId")
        if ids["userId"] is None:
            raise Reject("missing_user_id", "alias needs a userId", "userId")
