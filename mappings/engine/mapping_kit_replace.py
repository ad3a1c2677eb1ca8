"""``@replace``'s string replacement: Segment's ``performReplace`` (spec §3.7).

Segment escapes the pattern and builds a ``RegExp`` with flags ``g``/``i`` (no ``u``), then calls
``String.prototype.replace``. Here that is a literal search, with JS case folding for ``i`` and
the JS replacement patterns ``$$``, ``$&``, ``$``` and ``$'`` expanded by hand (``re`` would
fold the Kelvin sign and long s, and interpret backslashes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from mappings.engine.jsvalues import js_ci_canon, utf16_len

MAX_PATTERN_LENGTH: Final = 10
MAX_REPLACEMENT_LENGTH: Final = 10

# Markers in a parsed replacement; their values index the pieces built in ``expand``.
_MATCH, _BEFORE, _AFTER = 0, 1, 2
_DOLLAR_SPECIALS: Final = {"&": _MATCH, "`": _BEFORE, "'": _AFTER}


def _parse_replacement(replacement: str) -> tuple[str | int, ...] | None:
    """Literal text and ``$&``/``$```/``$'`` markers; ``None`` when nothing needs expanding.

    Without capture groups, ``$1``, ``$<x>``, a lone ``$`` and any other ``$`` stay literal.
    """
    if "$" not in replacement:
        return None
    parts: list[str | int] = []
    text: list[str] = []
    i = 0
    while i < len(replacement):
        char = replacement[i]
        following = replacement[i + 1 : i + 2]
        if char == "$" and following == "$":
            text.append("$")
            i += 2
        elif char == "$" and following in _DOLLAR_SPECIALS:
            parts.append("".join(text))
            text = []
            parts.append(_DOLLAR_SPECIALS[following])
            i += 2
        else:
            text.append(char)
            i += 1
    parts.append("".join(text))
    return tuple(p for p in parts if p != "")


def _canon(text: str) -> str:
    # js_ci_canon maps one character to one character, so indices stay aligned with `text`.
    if text.isascii():
        return text.upper()
    return "".join(map(js_ci_canon, text))


def length_error(pattern: str, replacement: str) -> str | None:
    """The error ``performReplace`` throws for an over-long pattern or replacement, if any."""
    if utf16_len(pattern) > MAX_PATTERN_LENGTH:
        # Segment's text says "less than 10" although 10 itself is allowed.
        return f'@replace requires a "pattern" less than {MAX_PATTERN_LENGTH} characters'
    if utf16_len(replacement) > MAX_REPLACEMENT_LENGTH:
        return f'@replace requires a "replacement" less than {MAX_REPLACEMENT_LENGTH} characters'
    return None


def literal_replacer(
    pattern: str, replacement: str, ignorecase: bool, is_global: bool
) -> Callable[[str], str]:
    """``value.replace(new RegExp(escaped(pattern), flags), replacement)`` as a function.

    The lengths must already have passed :func:`length_error`.
    """
    parts = _parse_replacement(replacement)
    if parts is None and not ignorecase:
        count = -1 if is_global else 1
        return lambda value: value.replace(pattern, replacement, count)
    needle = _canon(pattern) if ignorecase else pattern
    size = len(pattern)

    def expand(value: str, start: int, end: int) -> str:
        if parts is None:
            return replacement
        pieces = (value[start:end], value[:start], value[end:])
        return "".join(p if isinstance(p, str) else pieces[p] for p in parts)

    def replace(value: str) -> str:
        haystack = _canon(value) if ignorecase else value
        out: list[str] = []
        position = 0
        start = haystack.find(needle)
        while start != -1:
            out.append(value[position:start])
            out.append(expand(value, start, start + size))
            position = start + size
            if not is_global:
                break
            start = haystack.find(needle, position)
        out.append(value[position:])
        return "".join(out)

    return replace
