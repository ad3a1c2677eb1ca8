"""Small operations on parsed JSON values that ingest needs in several places.

Values come from ``decode.parse_json``: dicts, lists, str, int (any size up to 4,300 digits),
float (finite), bool, None, nested at most 64 deep, so recursion here is bounded.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# orjson keeps integers exact up to 2**64 - 1 (20 digits) and down to -2**63 (19 digits); beyond,
# it returns floats. Any 19 digits in a row (in a number or not) ask for the closer look.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_DIGIT_RUN_19 = b"0" * 19
_DIGIT_RUN_20 = b"0" * 20
_NEGATIVE_RUN_19 = b"-" + _DIGIT_RUN_19


def may_hold_a_long_integer(data: bytes) -> bool:
    """Whether ``data`` might hold an integer orjson would turn into a float (false positives
    only cost time)."""
    digits = data.translate(_DIGITS_AS_ZERO)
    if _DIGIT_RUN_19 not in digits:  # the common case: one search
        return False
    return _DIGIT_RUN_20 in digits or _NEGATIVE_RUN_19 in digits


def loads_exact(data: bytes | str) -> Any:
    """``json.loads`` with orjson's speed where it gives the same value.

    The stored JSON that workers and the console read back (events, deliveries, requests) is
    decoded here: orjson when no integer could lose digits, the stdlib otherwise or when orjson
    refuses the text (e.g. a lone surrogate escape, which the stdlib keeps).

    >>> loads_exact(b'{"a": 1, "b": 123456789012345678901234567890}')["b"]
    123456789012345678901234567890
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if not may_hold_a_long_integer(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def dumps_compact(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped: the form §4.5 measures.

    orjson refuses integers beyond 64 bits, which ingest keeps exact, so those values go through
    the stdlib encoder. Either way the bytes depend only on the value.

    >>> dumps_compact({"b": [1, 2**70], "a": "é"}, sort_keys=True)
    b'{"a":"\\xc3\\xa9","b":[1,1180591620717411303424]}'
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        text = json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False
        )
        return text.encode("utf-8")


def without_write_keys(value: Any) -> Any:
    """``value`` with every ``writeKey`` member removed, at any depth (§3 "Stripping").

    Returns ``value`` itself when there is nothing to remove, so the common case copies nothing.

    >>> without_write_keys({"writeKey": "k", "context": {"writeKey": "k", "ip": "1.2.3.4"}})
    {'context': {'ip': '1.2.3.4'}}
    """
    if type(value) is dict:
        changed = "writeKey" in value
        out = {}
        for key, item in value.items():
            if key == "writeKey":
                continue
            cleaned = without_write_keys(item)
            changed = changed or cleaned is not item
            out[key] = cleaned
        return out if changed else value
    if type(value) is list:
        cleaned_items = [without_write_keys(item) for item in value]
        if any(c is not i for c, i in zip(cleaned_items, value, strict=True)):
            return cleaned_items
        return value
    return value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``override`` laid over it, ``override`` winning at every level.

    Keys keep ``base``'s order, then ``override``'s new keys follow. Inputs are not modified.

    >>> deep_merge({"locale": "en-GB", "app": {"v": 1, "b": 2}}, {"app": {"v": 3}, "ip": "x"})
    {'locale': 'en-GB', 'app': {'v': 3, 'b': 2}, 'ip': 'x'}
    """
    merged = dict(base)
    for key, item in override.items():
        below = merged.get(key)
        if type(item) is dict and type(below) is dict:
            merged[key] = deep_merge(below, item)
        else:
            merged[key] = item
    return merged
