"""Paths and templates for mapping-kit (spec §3.5, §3.6).

A path string is split once into a tuple of keys (static paths at compile time, dynamic ones
through a small LRU cache); :func:`get_path` then walks a value with JS ``prev && prev[key]``
semantics. Templates are tokenised once into literal text and lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Final

from mappings.engine.jsvalues import UNDEFINED, js_to_string, js_trim, utf16_len, utf16_unit_at

# "[" splits only before a quote or digit, a run of "]" only after one. [0-9], not \d, because
# Python's \d also matches non-ASCII digits.
_PATH_SPLIT_RE: Final = re.compile(r"""\[(?=["'0-9])|\.|(?<=["'0-9])\]+""")
_TRIPLE_RE: Final = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE_RE: Final = re.compile(r"\{\{([^}]+)\}\}")

Keys = tuple[str, ...]


def strip_dollar(path: str) -> str:
    """``@path``/``@arrayPath`` drop the first ``$.`` anywhere in the string (JS ``replace``)."""
    return path.replace("$.", "", 1)


@lru_cache(maxsize=2048)
def split_path(path: str) -> Keys:
    """Split a path into keys: drop empty parts, then delete every quote from each part.

    ``""`` and ``"."`` give ``()``, which :func:`get_path` reads as the value itself.

    >>> split_path("a['b c'].d[0]"), split_path("a[-1]"), split_path("a['o'clock']")
    (('a', 'b c', 'd', '0'), ('a[-1',), ('a', 'oclock'))
    """
    parts = _PATH_SPLIT_RE.split(path)
    return tuple(part.replace("'", "").replace('"', "") for part in parts if part)


def _is_index(key: str) -> bool:
    if key == "0":
        return True
    return "1" <= key[:1] <= "9" and key.isascii() and key.isdigit()


def get_path(value: Any, keys: Keys) -> Any:
    """Walk ``keys`` from ``value`` like Segment's ``get`` (``prev && prev[key]``).

    A JS-falsy intermediate value is the result. Dicts give own keys; lists and strings give
    ``length`` and in-bounds canonical indices (strings by UTF-16 unit); anything else is
    ``UNDEFINED``. Prototype members are not emulated.
    """
    for key in keys:
        t = type(value)
        if t is dict:
            value = value.get(key, UNDEFINED)
        elif t is list:
            if key == "length":
                value = len(value)
            elif _is_index(key) and int(key) < len(value):
                value = value[int(key)]
            else:
                value = UNDEFINED
        elif t is str:
            if value == "":
                return value
            if key == "length":
                value = utf16_len(value)
            elif _is_index(key):
                unit = utf16_unit_at(value, int(key))
                value = UNDEFINED if unit is None else unit
            else:
                value = UNDEFINED
        elif value is None or value is UNDEFINED or value is False:
            return value
        elif (t is int or t is float) and not (value == value and value != 0):
            # 0 and NaN are falsy: the walk stops on them.
            return value
        else:
            return UNDEFINED
    return value


def make_getter(keys: Keys) -> Callable[[Any], Any]:
    """``lambda value: get_path(value, keys)``, unrolled for the common short all-dict walks.

    The fast path handles dicts, and stops where :func:`get_path` would: at a missing or null
    value (``prev && prev[key]``), the commonest way a path ends early. Anything else re-walks
    with :func:`get_path` from the start, which is safe because walking has no side effects.
    """
    if not keys:
        return lambda value: value
    if len(keys) == 1:
        (k1,) = keys

        def get1(value: Any) -> Any:
            if type(value) is dict:
                return value.get(k1, UNDEFINED)
            return get_path(value, keys)

        return get1
    if len(keys) == 2:
        k1, k2 = keys

        def get2(value: Any) -> Any:
            if type(value) is dict:
                inner = value.get(k1, UNDEFINED)
                if type(inner) is dict:
                    return inner.get(k2, UNDEFINED)
                if inner is UNDEFINED or inner is None:
                    return inner
            return get_path(value, keys)

        return get2
    if len(keys) == 3:
        k1, k2, k3 = keys

        def get3(value: Any) -> Any:
            if type(value) is dict:
                inner = value.get(k1, UNDEFINED)
                if type(inner) is dict:
                    inner = inner.get(k2, UNDEFINED)
                    if type(inner) is dict:
                        return inner.get(k3, UNDEFINED)
                if inner is UNDEFINED or inner is None:
                    return inner
            return get_path(value, keys)

        return get3
    return lambda value: get_path(value, keys)


class PathTree:
    """Several static paths walked together, each shared prefix once (object mappings).

    Built from ``(index, keys)`` pairs; :meth:`fill` sets ``values[index]`` to
    ``get_path(value, keys)`` for each. :func:`get_path` is a left fold that stops with the value
    it has reached, so ``get_path(v, (k, *rest)) == get_path(get_path(v, (k,)), rest)``: looking
    ``k`` up once for every path below it gives the same results. A prefix that is missing leaves
    its paths ``UNDEFINED`` at no cost, which is most of the device fields of a web event.
    """

    __slots__ = ("_branches", "_leaves", "_paths")

    def __init__(self, paths: Iterable[tuple[int, Keys]]) -> None:
        self._paths = tuple(paths)  # every key non-empty
        self._leaves = tuple((index, keys[0]) for index, keys in self._paths if len(keys) == 1)
        below: dict[str, list[tuple[int, Keys]]] = {}
        for index, keys in self._paths:
            if len(keys) > 1:
                below.setdefault(keys[0], []).append((index, keys[1:]))
        self._branches = tuple((key, PathTree(paths)) for key, paths in below.items())

    def fill(self, value: Any, values: list[Any]) -> None:
        """Set each path's result in ``values``, which must hold ``UNDEFINED`` at its index."""
        if type(value) is not dict:
            for index, keys in self._paths:
                values[index] = get_path(value, keys)
            return
        get = value.get
        for index, key in self._leaves:
            values[index] = get(key, UNDEFINED)
        for key, tree in self._branches:
            inner = get(key, UNDEFINED)
            if inner is not UNDEFINED:
                tree.fill(inner, values)


# --------------------------------------------------------------------------- templates


def _render_value(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None or value is UNDEFINED:
        return ""
    return js_to_string(value)


def _lookup_keys(inner: str) -> Keys:
    return split_path(js_trim(inner))


class Template:
    """A tokenised template: ``{{{x}}}`` first, then ``{{x}}`` on that result (spec §3.6).

    Without triple braces the second pass runs over static text, so both passes are planned at
    compile time. With them, inserted values may form new ``{{…}}`` and the second pass must run
    on the rendered text.
    """

    __slots__ = ("_literal", "_parts", "_two_pass")

    def __init__(self, text: str) -> None:
        self._two_pass = _TRIPLE_RE.search(text) is not None
        pattern = _TRIPLE_RE if self._two_pass else _DOUBLE_RE
        # Literal text as str, lookups as getters.
        parts: list[str | Callable[[Any], Any]] = []
        pos = 0
        for match in pattern.finditer(text):
            parts.append(text[pos : match.start()])
            parts.append(make_getter(_lookup_keys(match.group(1))))
            pos = match.end()
        parts.append(text[pos:])
        self._parts = tuple(p for p in parts if p != "")
        has_lookups = any(type(p) is not str for p in self._parts)
        self._literal = None if has_lookups else text

    @property
    def static_text(self) -> str | None:
        """The rendered text when it does not depend on the payload, else ``None``."""
        return self._literal

    def render(self, payload: Any) -> str:
        """The text for ``payload``; an ``UNDEFINED`` payload renders as ``{}`` (Segment's
        ``render(template, data = {})``), so ``{{ }}`` still gives ``[object Object]``."""
        if payload is UNDEFINED:
            payload = {}
        text = "".join(p if isinstance(p, str) else _render_value(p(payload)) for p in self._parts)
        if not self._two_pass:
            return text
        return _DOUBLE_RE.sub(
            lambda m: _render_value(get_path(payload, _lookup_keys(m.group(1)))), text
        )


@lru_cache(maxsize=512)
def template_for(text: str) -> Template:
    """A :class:`Template`, cached by text (dynamic templates are built per event)."""
    return Template(text)
