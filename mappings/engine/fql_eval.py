"""FQL evaluation (spec §2.6), compiled once per node into plain closures.

Nodes call these builders when they are created, so evaluating a node against an event is a
couple of function calls and dict lookups: no parsing, splitting or regex compiling per event.
Every test takes an event that is a ``dict`` (the caller checks) and returns a real ``bool``.
"""

from __future__ import annotations

import math
import operator as _op
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from .jsvalues import js_to_number

Test = Callable[[dict[str, Any]], bool]
Predicate = Callable[[Any], bool]

__all__ = ["Test", "compile_condition", "compile_group", "compile_not", "glob_parts", "split_name"]

# Where each condition type reads from: a top-level key, or a walk from that key (None: the event).
TOP_LEVEL_KEYS: Final = {"event-type": "type", "event": "event", "name": "name", "userId": "userId"}
WALK_ROOTS: Final = {
    "event-property": "properties",
    "event-trait": "traits",
    "event-context": "context",
    "field": None,
}
_NAME_PARTS: Final = re.compile(r"[^.\[\]]+")
_INDEX: Final = re.compile(r"0|[1-9][0-9]*")
_ORDERING: Final = {"<": _op.lt, "<=": _op.le, ">": _op.gt, ">=": _op.ge}
_INF: Final = math.inf


def split_name(name: str) -> tuple[str, ...]:
    """The keys a name walks: runs of characters other than ``.``, ``[`` and ``]``.

    >>> split_name("a[0].b")
    ('a', '0', 'b')
    """
    return tuple(_NAME_PARTS.findall(name))


def glob_parts(pattern: str) -> tuple[str, ...]:
    """The pattern split on ``*``: literal runs that must appear in order."""
    return tuple(pattern.split("*"))


def glob_match(value: str, parts: tuple[str, ...]) -> bool:
    """Whole-string match of a ``*``-only glob, in linear passes.

    Greedy leftmost search is exact when ``*`` is the only wildcard, and avoids the backtracking
    a regex would do on long event strings.
    """
    if len(parts) == 1:
        return value == parts[0]
    first, last = parts[0], parts[-1]
    end = len(value) - len(last)
    if end < len(first) or not value.startswith(first) or not value.endswith(last):
        return False
    pos = len(first)
    for part in parts[1:-1]:
        if part:
            found = value.find(part, pos, end)
            if found < 0:
                return False
            pos = found + len(part)
    return True


def _as_float(a: Any) -> float | None:
    """``a`` as a JS number, or None when it is not one (booleans are not numbers)."""
    if isinstance(a, float):
        return a
    if isinstance(a, int) and a is not True and a is not False:
        try:
            return float(a)
        except OverflowError:
            return _INF if a > 0 else -_INF
    return None


def _predicate(operator: str, value: Any) -> Predicate:
    e = value
    if operator == "=":
        return lambda a: a == e and isinstance(a, str)
    if operator == "!=":
        return lambda a: not (a == e and isinstance(a, str))
    if operator in _ORDERING:
        compare = _ORDERING[operator]
        limit = js_to_number(e)

        def ordered(a: Any) -> bool:
            number = _as_float(a)
            return number is not None and compare(number, limit)

        return ordered
    if operator == "number_equals":
        return lambda a: _as_float(a) == e
    if operator == "number_not_equals":

        def number_differs(a: Any) -> bool:
            number = _as_float(a)
            return number is not None and number != e

        return number_differs
    if operator == "exists":
        return lambda a: a is not None
    if operator == "not_exists":
        return lambda a: a is None
    if operator == "is_true":
        return lambda a: a is True
    if operator == "is_false":
        return lambda a: a is False
    if operator == "contains":
        return lambda a: isinstance(a, str) and e in a
    if operator == "not_contains":
        return lambda a: isinstance(a, str) and e not in a
    if operator == "starts_with":
        return lambda a: isinstance(a, str) and a.startswith(e)
    if operator == "not_starts_with":
        return lambda a: isinstance(a, str) and not a.startswith(e)
    if operator == "ends_with":
        return lambda a: isinstance(a, str) and a.endswith(e)
    if operator == "not_ends_with":
        return lambda a: isinstance(a, str) and not a.endswith(e)
    if operator in ("glob", "not_glob"):
        parts = glob_parts(e)
        if operator == "glob":
            return lambda a: isinstance(a, str) and glob_match(a, parts)
        return lambda a: isinstance(a, str) and not glob_match(a, parts)
    raise ValueError(f"unknown operator {operator!r}")


def _steps(keys: Sequence[str]) -> tuple[tuple[str, int | None], ...]:
    # A list step needs a canonical decimal index; precomputed so the walk never parses.
    return tuple((k, int(k) if _INDEX.fullmatch(k) else None) for k in keys)


def _walk(cur: Any, steps: tuple[tuple[str, int | None], ...]) -> Any:
    """Follow ``steps``; missing, JSON null and unwalkable values all give None."""
    for key, index in steps:
        if isinstance(cur, dict):
            cur = cur.get(key)
        elif index is not None and isinstance(cur, list) and index < len(cur):
            cur = cur[index]
        else:
            return None
    return cur


def compile_condition(type_: str, name: str | None, operator: str, value: Any) -> Test:
    """The test for one condition node (already validated by the node)."""
    pred = _predicate(operator, value)
    if type_ in TOP_LEVEL_KEYS:
        keys: tuple[str, ...] = (TOP_LEVEL_KEYS[type_],)
    else:
        root = WALK_ROOTS[type_]
        keys = ((root,) if root else ()) + split_name(name or "")
    if len(keys) == 1:
        key = keys[0]
        # The hot path (``type = "track"``): one closure call, one dict lookup.
        if operator == "=":
            e = value
            return lambda ev: (a := ev.get(key)) == e and isinstance(a, str)
        if operator == "!=":
            e = value
            return lambda ev: not ((a := ev.get(key)) == e and isinstance(a, str))
        return lambda ev: pred(ev.get(key))
    first = keys[0]
    rest = _steps(keys[1:])
    if len(rest) == 1:
        (key, index) = rest[0]

        def test_two(ev: dict[str, Any]) -> bool:
            cur = ev.get(first)
            if isinstance(cur, dict):
                return pred(cur.get(key))
            if index is not None and isinstance(cur, list) and index < len(cur):
                return pred(cur[index])
            return pred(None)

        return test_two
    return lambda ev: pred(_walk(ev.get(first), rest))


def compile_group(operator: str, tests: Sequence[Test]) -> Test:
    """``and``: every test holds; ``or``: any test holds. Short-circuits left to right."""
    tests = tuple(tests)
    if operator == "and":
        if len(tests) == 2:
            a, b = tests
            return lambda ev: a(ev) and b(ev)

        def all_hold(ev: dict[str, Any]) -> bool:
            for test in tests:
                if not test(ev):
                    return False
            return True

        return all_hold
    if operator == "or":
        if len(tests) == 2:
            a, b = tests
            return lambda ev: a(ev) or b(ev)

        def any_holds(ev: dict[str, Any]) -> bool:
            for test in tests:
                if test(ev):
                    return True
            return False

        return any_holds
    raise ValueError(f"unknown group operator {operator!r}")


def compile_not(test: Test) -> Test:
    """Logical negation (the ``!( … )`` node)."""
    return lambda ev: not test(ev)
