"""The project's JSON codec: exact integers, key order kept, always valid UTF-8 out.

Stored JSON (events, deliveries, requests, mappings) is written by :func:`dumps_compact` and read
back by :func:`loads_exact` (psycopg's ``json`` loader, set in ``mappings.apps``). Both use orjson
where it gives the same result as the stdlib and fall back to the stdlib where it does not:
integers beyond 64 bits, lone surrogates. Pure: no Django.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from mappings.engine.jsvalues import SURROGATE

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


def dumps_compact(
    value: Any, *, sort_keys: bool = False, replace_surrogates: bool = False
) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped: the form tracking-api §4.5 measures, and what
    every JSON column and request body is written as.

    orjson refuses integers beyond 64 bits (ingest keeps them exact), lone surrogates (a
    Mixpanel answer or a console payload may hold one) and non-string keys; those values go
    through the stdlib encoder, with lone surrogates written as ``\\udXXX`` escapes as
    JavaScript writes them (or, with ``replace_surrogates``, as U+FFFD, for text PostgreSQL will
    read: it refuses an unpaired escape there), so the output is always valid UTF-8. Either way
    the bytes depend only on the value.

    >>> dumps_compact({"b": [1, 2**70], "a": "é"}, sort_keys=True)
    b'{"a":"\\xc3\\xa9","b":[1,1180591620717411303424]}'
    >>> dumps_compact(["\\ud83d"])
    b'["\\\\ud83d"]'
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        text = json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False
        )
        if replace_surrogates:
            return SURROGATE.sub("\ufffd", text).encode("utf-8")
        return escape_surrogates(text).encode("utf-8")


def escape_surrogates(json_text: str) -> str:
    """``json_text`` with each lone surrogate written as a ``\\udXXX`` escape (valid JSON text
    that UTF-8 can encode; a surrogate only ever stands inside a string)."""
    return SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", json_text)
