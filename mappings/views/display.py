"""Display transforms for payload data in the console (spec §7.1 "Safety"). Pure: no Django.

Everything here returns **plain text**; templates autoescape it. Nothing is ever marked safe:
payload strings reach the page only through ``{{ value }}``.

* :func:`visible` makes control, bidi and other invisible characters visible, so a right-to-left
  override cannot disguise a value and a NUL cannot hide in it (``\\u202e``, ``␀``);
* :func:`clip` truncates long strings (the page offers "show all");
* :func:`pretty_json` is the Raw tab: 2-space JSON whose invisible characters are ``\\uXXXX``
  escapes, so what is shown is both readable and still valid JSON to copy;
* :func:`flatten` turns a nested object into ``path → value`` rows for the Pretty tab;
* :func:`summary` is the one-line description of a Segment message in the live stream.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mappings.engine.jsvalues import js_type
from mappings.ingest.timestamps import parse_timestamp  # pure, like this module

LIMIT = 1000  # characters shown before "show all" (spec §7.1)
LIST_LIMIT = 200  # a stream row is one line: its detail shows everything
MAX_ROWS = 500  # rows per Pretty section: a pathological payload must not make a 1 MB page
MAX_DEPTH = 8  # deeper values are shown as (clipped) JSON on one row

# Bidi controls (embeddings, overrides, isolates, marks), zero-width and other format
# characters, line/paragraph separators, the BOM, lone surrogates and the C1 controls: shown as
# ``\uXXXX``. They are invisible or reorder the text around them (Trojan Source).
_ESCAPED = re.compile(
    "[\u0080-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069"
    "\u3164\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
# C0 controls and DEL become Unicode's control pictures: NUL → ␀, LF → ␊, DEL → ␡.
_C0 = re.compile("[\x00-\x1f\x7f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "\u2421" if code == 0x7F else chr(0x2400 + code)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible(text: str) -> str:
    """``text`` with control and invisible characters made visible.

    >>> visible("admin\\u202e\\u2066gpj.exe\\x00")
    'admin\\\\u202e\\\\u2066gpj.exe␀'
    >>> visible("two\\nlines")
    'two␊lines'
    """
    return _C0.sub(_picture, _ESCAPED.sub(_escape, text))


@dataclass(frozen=True)
class Clipped:
    """A string prepared for display: ``text`` (maybe cut) and, when cut, the whole ``full``."""

    text: str
    full: str = ""
    length: int = 0

    @property
    def truncated(self) -> bool:
        return bool(self.full)


def clip(value: Any, limit: int = LIMIT) -> Clipped:
    """``value`` as visible text, cut at ``limit`` characters (counted before escaping).

    >>> clip("x" * 1500).text.endswith("…"), clip("x" * 1500).length
    (True, 1500)
    >>> clip("short").truncated
    False
    """
    text = value if isinstance(value, str) else scalar_text(value)
    if len(text) <= limit:
        return Clipped(visible(text))
    return Clipped(visible(text[:limit]) + "…", visible(text), len(text))


def scalar_text(value: Any) -> str:
    """A JSON value on one line: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def pretty_json(value: Any) -> str:
    """2-space JSON, keys in stored order, invisible characters as ``\\uXXXX`` escapes.

    ``json`` already escapes C0 controls; the rest of :data:`_ESCAPED` is escaped here. Every
    escape is valid JSON, so the copied text parses to the same value.

    >>> print(pretty_json({"a": "x\\u202ey"}))
    {
      "a": "x\\u202ey"
    }
    """
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return _ESCAPED.sub(_escape, text).replace("\x7f", "\\u007f")


def pretty_json_text(text: str) -> str:
    """:func:`pretty_json` of JSON ``text`` (a stored record body); invalid JSON is shown as is."""
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        return visible(text)


@dataclass(frozen=True)
class Row:
    """One leaf of a flattened object: its path, its value and the value's JSON kind."""

    path: str
    value: Clipped
    kind: str


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def flatten(value: Any, prefix: str = "", *, limit: int = LIMIT) -> tuple[list[Row], bool]:
    """``path → value`` rows of a nested value (arrays as ``items[0]``), and whether rows were
    left out (over :data:`MAX_ROWS`). Empty objects and arrays are rows of their own.

    >>> rows, more = flatten({"plan": "pro", "cart": {"items": [{"sku": 1}]}, "tags": []})
    >>> [(r.path, r.value.text, r.kind) for r in rows]
    [('plan', 'pro', 'string'), ('cart.items[0].sku', '1', 'number'), ('tags', '[]', 'array')]
    """
    rows: list[Row] = []
    stack: list[tuple[str, Any, int]] = [(prefix, value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if len(rows) >= MAX_ROWS:
            return rows, True
        if isinstance(item, dict) and item and depth < MAX_DEPTH:
            children = [(_join(path, visible(str(k))), v, depth + 1) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list) and item and depth < MAX_DEPTH:
            children = [(f"{path}[{i}]", v, depth + 1) for i, v in enumerate(item)]
            stack.extend(reversed(children))
        else:
            rows.append(Row(path or "(value)", clip(item, limit), js_type(item)))
    return rows, False


def text_of(value: Any) -> str:
    """A message field as a string for a summary ("" for absent or null)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else scalar_text(value)


def summary(message: dict[str, Any]) -> str:
    """One line describing a Segment message (visible, clipped to :data:`LIST_LIMIT`).

    >>> summary({"type": "track", "event": "Signed Up"})
    'Signed Up'
    >>> summary({"type": "page"}), summary({"type": "screen", "name": "Home"})
    ('(unnamed)', 'Home')
    >>> summary({"type": "identify", "userId": "u1", "traits": {"a": 1, "b": 2}})
    'u1 · 2 traits'
    >>> summary({"type": "alias", "previousId": "anon", "userId": "u1"})
    'anon → u1'
    """
    kind = message.get("type")
    if kind == "track":
        text = text_of(message.get("event")) or "(no event name)"
    elif kind in ("page", "screen"):
        text = text_of(message.get("name")) or "(unnamed)"
    elif kind == "identify":
        traits = message.get("traits")
        count = len(traits) if isinstance(traits, dict) else 0
        who = text_of(message.get("userId")) or text_of(message.get("anonymousId")) or "(anonymous)"
        text = f"{who} · {count} trait{'' if count == 1 else 's'}"
    elif kind == "group":
        text = text_of(message.get("groupId")) or "(no groupId)"
    elif kind == "alias":
        text = f"{text_of(message.get('previousId'))} → {text_of(message.get('userId'))}"
    else:
        text = text_of(kind) or "(unknown type)"
    return clip(text, LIST_LIMIT).text


def library(message: dict[str, Any]) -> str:
    """``name version`` of ``context.library`` ("" when absent)."""
    context = message.get("context")
    lib = context.get("library") if isinstance(context, dict) else None
    if not isinstance(lib, dict):
        return ""
    text = " ".join(t for t in (text_of(lib.get("name")), text_of(lib.get("version"))) if t)
    return clip(text, 80).text


@dataclass(frozen=True)
class Timing:
    """The timestamps block of the Pretty tab (spec §5.5)."""

    rows: list[tuple[str, Clipped]]
    skew: str  # "sentAt − receivedAt" in words, or "" when either is missing or invalid
    correction: str  # what §5.5 did to the client's timestamp, in words


TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")


def timing(message: dict[str, Any], warnings: list[str]) -> Timing:
    """The stored times, the client's clock skew and whether ``timestamp`` was corrected.

    >>> t = timing({"timestamp": "2026-03-10T12:00:00.250Z",
    ...             "originalTimestamp": "2026-03-10T11:58:00.000+00:00",
    ...             "sentAt": "2026-03-10T11:58:05.000+00:00",
    ...             "receivedAt": "2026-03-10T12:00:05.250Z"}, [])
    >>> t.skew
    "the client's clock was 2 min 0.250 s behind (sentAt − receivedAt = −120.250 s)"
    >>> t.correction
    'corrected for the clock skew: timestamp = receivedAt − (sentAt − originalTimestamp)'
    """
    rows = [(name, clip(message[name], 80)) for name in TIME_FIELDS if name in message]
    sent, received = (
        parse_timestamp(message.get("sentAt")),
        parse_timestamp(message.get("receivedAt")),
    )
    skew = ""
    if sent and received:
        seconds = (sent - received).total_seconds()
        direction = "ahead" if seconds > 0 else "behind"
        sign = "−" if seconds < 0 else "+"
        amount = _duration(abs(seconds))
        skew = (
            f"the client's clock was {amount} {direction} (sentAt − receivedAt = "
            f"{sign}{abs(seconds):.3f} s)"
            if seconds
            else "no clock skew (sentAt = receivedAt)"
        )
    if "timestamp_out_of_range" in warnings:
        correction = (
            "clamped: the corrected time was before 1971 or over 1 h in the future, so "
            "timestamp = receivedAt"
        )
    elif "invalid_timestamp" in warnings or "originalTimestamp" not in message:
        correction = "no valid client timestamp: timestamp = receivedAt"
    elif "invalid_sent_at" in warnings or "sentAt" not in message:
        correction = "not corrected (no valid sentAt): timestamp = the client's timestamp"
    else:
        correction = (
            "corrected for the clock skew: timestamp = receivedAt − (sentAt − originalTimestamp)"
        )
    return Timing(rows, skew, correction)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.3f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"
