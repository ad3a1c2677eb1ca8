"""``JSON.stringify``, ``JSON.parse`` and ``Object.keys`` order, as Segment's engines see them.

mapping-kit's ``@json``, ``@flatten`` and ``@merge``, its validation messages, and the Mixpanel
action's stringified properties depend on JavaScript's rules: compact output, integer-like keys
first, JS number formatting, non-ASCII left unescaped. Pure and stateless; JSON values as in
:mod:`mappings.engine.jsvalues`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from mappings.engine.jsvalues import UNDEFINED, js_number_to_string, js_to_number

__all__ = ["js_json_parse", "js_json_stringify", "js_keys"]

_MAX_SAFE_INT: Final = 2**53


# --------------------------------------------------------------------------- property order

_MAX_ARRAY_INDEX: Final = 4294967294


def _is_array_index(key: str) -> bool:
    # Canonical decimal only: "01", "-0", "+1" and non-ASCII digits are ordinary keys.
    if not key or not ("0" <= key[0] <= "9"):
        return False
    if key == "0":
        return True
    if key[0] == "0" or len(key) > 10 or not key.isascii() or not key.isdigit():
        return False
    return int(key) <= _MAX_ARRAY_INDEX


def js_keys(obj: dict[str, Any]) -> list[str]:
    """``Object.keys`` order: array-index keys ascending, then the rest in insertion order.

    >>> js_keys({"b": 1, "2": 1, "a": 1, "10": 1, "01": 1})
    ['2', '10', 'b', 'a', '01']
    """
    for k in obj:
        if type(k) is str and "0" <= k[:1] <= "9":
            break
    else:
        # The common case: no key even starts with a digit.
        return list(obj)
    indices = [k for k in obj if type(k) is str and _is_array_index(k)]
    if not indices:
        return list(obj)
    indices.sort(key=int)
    index_set = set(indices)
    return indices + [k for k in obj if k not in index_set]


# --------------------------------------------------------------------------- JSON


def _escape_char(match: re.Match[str]) -> str:
    c = match.group()
    return _JSON_ESCAPES.get(c) or f"\\u{ord(c):04x}"


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
# Lone surrogates are escaped like JS's well-formed JSON.stringify (Python strings hold no pairs).
_JSON_NEEDS_ESCAPE: Final = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')


def _quote(text: str) -> str:
    return '"' + _JSON_NEEDS_ESCAPE.sub(_escape_char, text) + '"'


def js_json_stringify(value: Any) -> str | Any:
    """``JSON.stringify(value)``: compact, JS key order, JS number formatting.

    Returns :data:`UNDEFINED` for a top-level ``UNDEFINED``. Object members that are ``UNDEFINED``
    are skipped; array elements that are ``UNDEFINED`` are written as ``null``; NaN and
    infinities are ``null``. Only ``"``, ``\\`` and control characters are escaped.

    >>> js_json_stringify({"b": [1.0, UNDEFINED], "1": "é/", "x": UNDEFINED})
    '{"1":"é/","b":[1,null]}'
    """
    if value is UNDEFINED:
        return UNDEFINED
    parts: list[str] = []
    _stringify_into(value, parts)
    return "".join(parts)


def _stringify_into(value: Any, out: list[str]) -> None:
    t = type(value)
    if t is str:
        out.append(_quote(value))
    elif value is None or value is UNDEFINED:
        out.append("null")
    elif t is bool:
        out.append("true" if value else "false")
    elif t is int:
        out.append(js_number_to_string(value))
    elif t is float:
        out.append(js_number_to_string(value) if math.isfinite(value) else "null")
    elif t is dict:
        out.append("{")
        first = True
        for key in js_keys(value):
            member = value[key]
            if member is UNDEFINED:
                continue
            if not first:
                out.append(",")
            first = False
            out.append(_quote(key))
            out.append(":")
            _stringify_into(member, out)
        out.append("}")
    elif t is list or t is tuple:
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _stringify_into(item, out)
        out.append("]")
    elif isinstance(value, bool | int | float | str | dict | list):
        # Subclasses (e.g. IntEnum) serialise as their base JSON type.
        base = next(b for b in (bool, int, float, str, dict, list) if isinstance(value, b))
        _stringify_into(base(value), out)
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token {name[0]} in JSON")


def _parse_int(text: str) -> int | float:
    number = int(text)
    if -_MAX_SAFE_INT <= number <= _MAX_SAFE_INT:
        return number
    return js_to_number(number)  # a JS double, infinite beyond its range


def js_json_parse(text: str) -> Any:
    """``JSON.parse(text)``. Raises ``ValueError`` where JS throws a ``SyntaxError``.

    Rejects ``NaN``, ``Infinity``, a BOM and single quotes. Integers beyond 2**53 become floats,
    as JS doubles.

    >>> js_json_parse(' {"a": [1, 2.5, 9007199254740993]} ')
    {'a': [1, 2.5, 9007199254740992.0]}
    """
    if type(text) is not str:
        raise TypeError("js_json_parse expects a str")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
