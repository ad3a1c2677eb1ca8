"""JavaScript value semantics shared by the FQL and mapping-kit engines.

Segment's engines are JavaScript. To give the same answers in Python we emulate the handful of JS
behaviours they depend on: ``undefined`` versus ``null``, truthiness, ``String()``,
``Number()``, UTF-16 string lengths, ``trim`` and case mapping. ``JSON.stringify``,
``JSON.parse`` and property order are in :mod:`mappings.engine.jsjson`. Everything here is pure
and stateless.

JSON values in Python: ``dict`` object, ``list`` array, ``str`` string, ``int``/``float`` number
(``bool`` is *not* a number), ``bool`` boolean, ``None`` null, and :data:`UNDEFINED` for absent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, Final

__all__ = [
    "SURROGATE",
    "UNDEFINED",
    "join_surrogate_pairs",
    "js_ci_canon",
    "js_loose_ne_empty",
    "js_lower",
    "js_number_to_string",
    "js_to_number",
    "js_to_string",
    "js_trim",
    "js_truthy",
    "js_type",
    "js_upper",
    "surrogate_paths",
    "utf16_len",
    "utf16_unit_at",
    "utf16_units",
]


class _Undefined:
    """JS ``undefined``: absent. Falsy, distinct from ``None`` (JSON ``null``)."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "undefined"

    # Copies and pickles must keep identity, because callers test ``x is UNDEFINED``.
    def __reduce__(self) -> str:
        return "UNDEFINED"

    def __copy__(self) -> _Undefined:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Undefined:
        return self


UNDEFINED: Final = _Undefined()

_MAX_SAFE_INT: Final = 2**53
_INF: Final = math.inf


# --------------------------------------------------------------------------- types, truthiness


def js_type(value: Any) -> str:
    """Segment's ``realTypeOf``: object, array, string, number, boolean, null or undefined.

    >>> [js_type(v) for v in ({}, [], "", 1.5, True, None, UNDEFINED)]
    ['object', 'array', 'string', 'number', 'boolean', 'null', 'undefined']
    """
    t = type(value)
    if t is str:
        return "string"
    if t is dict:
        return "object"
    # bool before int: ``isinstance(True, int)`` holds, but JS booleans are not numbers.
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is list:
        return "array"
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def js_truthy(value: Any) -> bool:
    """JS truthiness. Falsy: undefined, null, false, 0, NaN and ``""``; ``[]`` and ``{}`` are truthy.

    >>> [js_truthy(v) for v in ([], {}, "0", 0.0, float("nan"), "", UNDEFINED)]
    [True, True, True, False, False, False, False]
    """
    if value is None or value is UNDEFINED or value is False or value is True:
        return value is True
    t = type(value)
    if t is str:
        return value != ""
    if t is int:
        return value != 0
    if t is float:
        # NaN compares unequal to itself.
        return value == value and value != 0.0
    return True


# --------------------------------------------------------------------------- numbers


def js_number_to_string(value: int | float) -> str:
    """JS ``Number.prototype.toString()``: shortest round-trip digits.

    An exponent is used only when the magnitude is >= 1e21 or < 1e-6. Integers beyond 2**53 are
    first rounded to a double, as JS would already hold them.

    >>> [js_number_to_string(v) for v in (7.0, -0.0, 2e21, 1.5e-7, 2**65, float("inf"))]
    ['7', '0', '2e+21', '1.5e-7', '36893488147419103000', 'Infinity']
    """
    t = type(value)
    if t is bool or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if t is not float:
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return str(int(value))
        try:
            value = float(value)
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if value != value:
        return "NaN"
    if value == 0:
        return "0"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    sign = "-" if value < 0 else ""
    # Python's repr already yields the shortest round-trip digits; only the layout differs.
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + (int(exp_text) if exp_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * (-point) + digits
    else:
        exponent = point - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "")
        text += ("e+" if exponent >= 0 else "e-") + str(abs(exponent))
    return sign + text


_DECIMAL_RE: Final = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_RADIX_RE: Final = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))")


def js_to_number(value: Any) -> float:
    """JS ``Number(value)``, always as a float (an IEEE double, as in JS).

    Strings are trimmed with :func:`js_trim`; ``""`` is 0; decimal with optional exponent,
    ``Infinity`` with an optional sign, and unsigned ``0x``/``0o``/``0b`` literals are accepted;
    anything else is NaN (Python spellings such as ``nan``, ``inf`` and ``1_0`` included).

    >>> [js_to_number(s) for s in (" 42 ", "", "0x1f", "-Infinity", "5.", "1e3")]
    [42.0, 0.0, 31.0, -inf, 5.0, 1000.0]
    >>> [math.isnan(js_to_number(s)) for s in ("nan", "1_0", "-0x1", "inf", ".")]
    [True, True, True, True, True]
    """
    t = type(value)
    if t is str:
        text = js_trim(value)
        if text == "":
            return 0.0
        if _DECIMAL_RE.fullmatch(text):
            return float(text)
        m = _RADIX_RE.fullmatch(text)
        if m is None:
            return math.nan
        hex_digits, oct_digits, bin_digits = m.groups()
        if hex_digits is not None:
            number = int(hex_digits, 16)
        elif oct_digits is not None:
            number = int(oct_digits, 8)
        else:
            number = int(bin_digits, 2)
        return _int_to_float(number)
    if t is bool:
        return 1.0 if value else 0.0
    if t is float:
        return value
    if t is int:
        return _int_to_float(value)
    if value is None:
        return 0.0
    if value is UNDEFINED:
        return math.nan
    if t is list:
        return js_to_number(js_to_string(value))
    return math.nan


def _int_to_float(number: int) -> float:
    try:
        return float(number)
    except OverflowError:
        return _INF if number > 0 else -_INF


# --------------------------------------------------------------------------- strings


def js_to_string(value: Any) -> str:
    """JS ``String(value)``.

    >>> [js_to_string(v) for v in (UNDEFINED, None, True, 3e21, [1.0, None, "a", [2, [3]]], {})]
    ['undefined', 'null', 'true', '3e+21', '1,,a,2,3', '[object Object]']
    """
    t = type(value)
    if t is str:
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return js_number_to_string(value)
    if t is list or t is tuple:
        return ",".join(
            "" if item is None or item is UNDEFINED else js_to_string(item) for item in value
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number_to_string(value)
    return "[object Object]"


def js_loose_ne_empty(value: Any) -> bool:
    """JS ``value != ''`` (loose inequality), as used by the ``@if`` ``blank`` test.

    >>> [js_loose_ne_empty(v) for v in (0, False, [], [None], [None, None], {}, "x")]
    [False, False, False, False, True, True, True]
    """
    t = type(value)
    if t is str:
        return value != ""
    if t is bool:
        # ToNumber(false) == 0 == ToNumber("").
        return value
    if t is int or t is float:
        # NaN != 0, so NaN counts as not blank.
        return value != 0
    if t is list or t is tuple:
        return js_to_string(value) != ""
    # null and undefined are loosely equal only to each other; objects stringify non-empty.
    return True


# JS WhiteSpace and LineTerminator code points, exactly; str.strip() has a different set.
_JS_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(text: str) -> str:
    """JS ``String.prototype.trim``.

    >>> js_trim("\\ufeff x \\x1c")
    'x \\x1c'
    """
    return text.strip(_JS_WHITESPACE)


def js_lower(text: str) -> str:
    """JS ``toLowerCase`` (full Unicode mapping, final sigma handled)."""
    return text.lower()


def js_upper(text: str) -> str:
    """JS ``toUpperCase`` (full Unicode mapping: ``ß`` becomes ``SS``)."""
    return text.upper()


def js_ci_canon(char: str) -> str:
    """Canonical form of one character for a JS case-insensitive regex without the ``u`` flag.

    Characters outside the BMP compare exactly. A character whose upper case is several
    characters, or a non-ASCII character whose upper case is ASCII (the Kelvin sign, long s),
    stays itself.

    >>> [js_ci_canon(c) for c in ("a", "ß", "ſ", "é")], js_ci_canon("\\u212a") == "\\u212a"
    (['A', 'ß', 'ſ', 'É'], True)
    """
    if ord(char) > 0xFFFF:
        return char
    upper = char.upper()
    if len(upper) != 1:
        return char
    if ord(char) >= 128 and ord(upper) < 128:
        return char
    return upper


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as JS ``.length`` (an emoji counts 2).

    >>> utf16_len("a😀")
    3
    """
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def utf16_units(text: str) -> list[str]:
    """The string split into UTF-16 code units; astral characters become surrogate pairs."""
    if text.isascii():
        return list(text)
    units: list[str] = []
    for c in text:
        code = ord(c)
        if code > 0xFFFF:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)))
            units.append(chr(0xDC00 + (code & 0x3FF)))
        else:
            units.append(c)
    return units


def join_surrogate_pairs(text: str) -> str:
    """The inverse of :func:`utf16_units` joined: each high-low surrogate pair becomes its
    character; a lone surrogate stays as it is (a JS string may hold one).

    >>> join_surrogate_pairs("\\ud83d\\udc4d!\\ud83d") == "\U0001f44d!\\ud83d"
    True
    """
    return _SURROGATE_PAIR.sub(
        lambda m: chr(0x10000 + ((ord(m[0][0]) - 0xD800) << 10) + (ord(m[0][1]) - 0xDC00)), text
    )


def surrogate_paths(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, text)`` for each key and string in the JSON ``value`` holding a surrogate code
    point: half of a UTF-16 pair on its own, which a JS string allows and UTF-8 cannot encode.

    Paths read ``a.b[0]``; a key's path ends in the key itself.

    >>> list(surrogate_paths({"a": ["ok", "x\\ud83d"], "\\udc4d": 1}))
    [('a[1]', 'x\\ud83d'), ('\\udc4d', '\\udc4d')]
    """
    if isinstance(value, str):
        if SURROGATE.search(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and SURROGATE.search(key):
                yield key_path, key
            yield from surrogate_paths(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from surrogate_paths(item, f"{path}[{index}]")


# A surrogate code point in a Python str is one on its own: json.loads joins escaped pairs.
SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR: Final = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def utf16_unit_at(text: str, index: int) -> str | None:
    """The UTF-16 code unit at ``index`` as a 1-char string, or ``None`` when out of bounds."""
    if text.isascii():
        return text[index] if 0 <= index < len(text) else None
    units = utf16_units(text)
    return units[index] if 0 <= index < len(units) else None
