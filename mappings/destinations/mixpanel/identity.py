"""``$insert_id`` and ``time``: pure functions of the stored event and the mapping (spec §13, D2).

Delivery is at-least-once, and Mixpanel deduplicates on (event, distinct_id, time, ``$insert_id``),
so both must come out identical on every retry, re-delivery and redrive. Nothing here is random or
depends on when we send.

>>> insert_id_for("ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0", stored_event_id="e1")
'b17abe49-4ea7-51c8-a105-3fdbbca3ec91'
>>> product_insert_id(1, "ord-msg-501", stored_event_id="e1")
'1ord-msg-501'
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from functools import lru_cache
from typing import Any, Final

from mappings.engine.jsvalues import js_type

from .dates import MAX_TIME_MS, parse_date_ms

__all__ = [
    "INSERT_ID_NAMESPACE",
    "PLACEHOLDER_IDS",
    "is_placeholder",
    "event_time_ms",
    "insert_id_base",
    "insert_id_for",
    "is_valid_insert_id",
    "product_insert_id",
    "resolve_time",
]

# = uuid5(NAMESPACE_URL, "segmix:mixpanel:insert_id"). Fixed forever: changing it would break
# deduplication of records sent before and after an upgrade.
INSERT_ID_NAMESPACE: Final = uuid.UUID("484eaf79-74b0-542a-b668-8527e62d4363")

# Values Mixpanel rejects as ``distinct_id``/``$insert_id`` (compared after lower-casing).
PLACEHOLDER_IDS: Final = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "anon",
        "anonymous",
        "nil",
        "none",
        "null",
        "n/a",
        "na",
        "undefined",
        "unknown",
        "<nil>",
        "0",
        "-1",
        "true",
        "false",
        "[]",
        "{}",
    }
)

_INSERT_ID_CHARS: Final = re.compile(r"[A-Za-z0-9-]{1,36}")
STORED_EVENT_PREFIX: Final = "segmix-event:"


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` is a placeholder id (trimmed, any case): ``"undefined"``, ``"null"``, the
    all-zero UUID, … (spec P7; ingest's §5.3 uses the same list).

    >>> is_placeholder(" NULL "), is_placeholder("user-1"), is_placeholder(None)
    (True, False, False)
    """
    return isinstance(value, str) and value.strip().lower() in PLACEHOLDER_IDS


def is_valid_insert_id(value: Any) -> bool:
    """1–36 characters of ``[A-Za-z0-9-]``, and not a placeholder once lower-cased.

    >>> is_valid_insert_id("ord-msg-501"), is_valid_insert_id("ajs:1"), is_valid_insert_id("NULL")
    (True, False, False)
    """
    return (
        isinstance(value, str)
        and _INSERT_ID_CHARS.fullmatch(value) is not None
        and value.lower() not in PLACEHOLDER_IDS
    )


def insert_id_base(mapped_insert_id: Any, *, stored_event_id: str) -> str:
    """The mapped ``insert_id`` when it is a non-empty string, else ``"segmix-event:<id>"``."""
    if isinstance(mapped_insert_id, str) and mapped_insert_id != "":
        return mapped_insert_id
    return STORED_EVENT_PREFIX + str(stored_event_id)


@lru_cache(maxsize=4096)
def _valid_or_derived(candidate: str) -> str:
    # Cached: a retried, replayed or previewed event derives the same id again.
    if is_valid_insert_id(candidate):
        return candidate
    return _uuid5_text(candidate)


_NAMESPACE_BYTES: Final = INSERT_ID_NAMESPACE.bytes


def _uuid5_text(name: str) -> str:
    """``str(uuid.uuid5(INSERT_ID_NAMESPACE, name))`` without building a ``UUID`` object.

    Never raises: a lone surrogate (a messageId can hold one; JSON carries it as an escape) is
    encoded with ``surrogatepass``, where ``uuid.uuid5`` would raise ``UnicodeEncodeError``.
    """
    name_bytes = name.encode("utf-8", "surrogatepass")
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name_bytes).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def insert_id_for(mapped_insert_id: Any, *, stored_event_id: str) -> str:
    """``$insert_id`` of a single (trackEvent), order, or simplified ``$identify`` record.

    >>> insert_id_for("null", stored_event_id="e1")  # a placeholder: derived
    'e27d70fd-8962-5f9e-aa49-0a9a65ae40dd'
    >>> insert_id_for(None, stored_event_id="42")  # no base: "segmix-event:42" (has a ':')
    '882eb476-266b-55b4-8230-7f987a3ec08a'
    """
    return _valid_or_derived(insert_id_base(mapped_insert_id, stored_event_id=stored_event_id))


def product_insert_id(index: int, mapped_insert_id: Any, *, stored_event_id: str) -> str:
    """``$insert_id`` of product record ``index`` (0-based): ``"<index><base>"`` if valid."""
    base = insert_id_base(mapped_insert_id, stored_event_id=stored_event_id)
    return _valid_or_derived(str(index) + base)


def event_time_ms(value: Any) -> int | None:
    """A mapped, validated ``time`` as Segment's ``dayjs.utc(value).valueOf()``; ``None`` if invalid.

    Numbers are used as they are (no seconds→ms conversion), fractions truncated toward zero;
    strings are parsed per §7.3.

    >>> event_time_ms(1745340310), event_time_ms(1745340310000.9), event_time_ms("2025/04/22")
    (1745340310, 1745340310000, 1745280000000)
    """
    kind = js_type(value)
    if kind == "number":
        if math.isnan(value) or math.isinf(value) or abs(value) > MAX_TIME_MS:
            return None
        return int(value)
    if kind == "string":
        return parse_date_ms(value)
    return None


def resolve_time(value: Any, *, received_at_ms: int) -> tuple[int, bool]:
    """``(time, fell_back)``: the mapped time, or the stored ``receivedAt`` when it is falsy/invalid.

    A falsy time (absent, ``None``, ``0``, ``""``) and one that passed validation but does not
    convert (Segment would use the send time there) both fall back (D2).

    >>> resolve_time(0, received_at_ms=1700000000000)
    (1700000000000, True)
    """
    if value is None or value == 0 or value == "" or value is False:
        return int(received_at_ms), True
    converted = event_time_ms(value)
    if converted is None:
        return int(received_at_ms), True
    return converted, False
