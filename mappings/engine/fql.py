"""FQL triggers: segmix's trigger language, evaluated exactly like Segment's.

The public import point (spec §1.1). FQL is our own grammar (§2.2–2.3) that builds the same
condition nodes as Segment's ``@segment/destination-subscriptions`` 3.37.0 and evaluates them with
its rules (§2.4, §2.6). Pure Python: no Django, no I/O; the only shared state is the bounded,
thread-safe parse cache.

Hot path: hold the :data:`Node` from :func:`parse` (done when a mapping is loaded) and call
:func:`matches` per event. Nodes carry compiled closures, so no parsing happens per event.

>>> node = parse('type = "track" and properties.platform = "android"')
>>> matches(node, {"type": "track", "properties": {"platform": "android"}})
True
>>> matches('properties.seats > 3', {"properties": {"seats": "5"}})
False
>>> explain(node, {"type": "track"})
[('type = "track"', True), ('properties.platform = "android"', False)]
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from .fql_lexer import FqlError, Token, tokenize
from .fql_nodes import (
    FIELD_TYPES,
    OPERATORS,
    PATH_FIELD_TYPES,
    STRING_FIELD_TYPES,
    Condition,
    Group,
    Node,
    Not,
)
from .fql_parser import parse_text
from .fql_print import format_name, format_number, format_string, to_ast, to_fql

__all__ = [
    "FIELD_TYPES",
    "OPERATORS",
    "PATH_FIELD_TYPES",
    "STRING_FIELD_TYPES",
    "Condition",
    "FqlError",
    "Group",
    "Node",
    "Not",
    "Token",
    "conditions",
    "explain",
    "format_name",
    "format_number",
    "format_string",
    "lint",
    "matches",
    "parse",
    "to_ast",
    "to_fql",
    "tokenize",
]

PARSE_CACHE_SIZE = 4096
_NODE_TYPES = (Condition, Group, Not)
_NODE_CLASSES = frozenset(_NODE_TYPES)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> Node | tuple[str, int]:
    # Failures are cached too (as message and position), so matching a broken trigger stays cheap;
    # parse() raises a fresh exception each time, as exceptions carry per-raise state.
    try:
        return parse_text(text)
    except FqlError as err:
        return (err.message, err.position)


def parse(text: str) -> Node:
    """Parse FQL ``text`` into an immutable, hashable node tree (cached by text).

    Raises :class:`FqlError` (with ``.message`` and ``.position``) when ``text`` is not FQL, and
    ``TypeError`` when it is not a ``str``.

    >>> parse('event = "Signed Up" or !(userId = null)')
    Group(operator='or', children=(Condition(type='event', operator='=', value='Signed Up', name=None), Not(child=Condition(type='userId', operator='not_exists', value=None, name=None))))
    """
    if not isinstance(text, str):
        raise TypeError(f"FQL must be a str, not {type(text).__name__}")
    result = _parse_cached(text)
    if isinstance(result, tuple):
        raise FqlError(*result)
    return result


def matches(fql: str | Node, event: Any) -> bool:
    """Whether ``event`` satisfies the trigger. Never raises.

    ``fql`` is FQL text (parsed through the cache; text that does not parse gives False) or a node
    from :func:`parse`. An ``event`` that is not a ``dict`` gives False.
    """
    # Class checks first: this is the per-event path, and exact-class tests are the cheapest.
    if fql.__class__ in _NODE_CLASSES:
        test = fql._test
    elif isinstance(fql, str):
        result = _parse_cached(fql)
        if result.__class__ is tuple:
            return False
        test = result._test  # type: ignore[union-attr]
    elif isinstance(fql, _NODE_TYPES):
        test = fql._test
    else:
        return False
    if event.__class__ is not dict and not isinstance(event, dict):
        return False
    try:
        return True if test(event) else False
    except Exception:
        # Only exotic, non-JSON events can get here (objects whose == raises, runaway recursion).
        return False


def conditions(node: Node) -> Iterator[Condition]:
    """The leaf conditions of ``node``, left to right."""
    if isinstance(node, Condition):
        yield node
    elif isinstance(node, Group):
        for child in node.children:
            yield from conditions(child)
    elif isinstance(node, Not):
        yield from conditions(node.child)


def explain(node: str | Node, event: Any) -> list[tuple[str, bool]]:
    """Each leaf condition's canonical text and whether it holds for ``event`` on its own.

    For the console's per-condition display. Leaves are evaluated independently (no
    short-circuit), and a negation's leaves are reported un-negated. Text is parsed first and
    may raise :class:`FqlError`; evaluation itself never raises.
    """
    if isinstance(node, str):
        node = parse(node)
    # Nodes are immutable, so their leaves' text is printed once, not per event (the console's
    # preview and the workers explain every event against every trigger).
    leaves = _leaves(node) if node.__class__ in _NODE_CLASSES else _leaves_of(node)
    is_dict = isinstance(event, dict)
    out: list[tuple[str, bool]] = []
    for text, test in leaves:
        try:
            ok = is_dict and bool(test(event))
        except Exception:
            ok = False
        out.append((text, ok))
    return out


def _leaves_of(node: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((to_fql(leaf), leaf._test) for leaf in conditions(node))


# By identity, holding the node so that its id cannot be reused: hashing a node tree costs
# more than printing is worth caching for. Bounded like the parse cache.
_LEAVES: dict[int, tuple[Node, tuple[tuple[str, Any], ...]]] = {}


def _leaves(node: Node) -> tuple[tuple[str, Any], ...]:
    entry = _LEAVES.get(id(node))
    if entry is None or entry[0] is not node:
        if len(_LEAVES) >= PARSE_CACHE_SIZE:
            _LEAVES.clear()
        entry = (node, _leaves_of(node))
        _LEAVES[id(node)] = entry
    return entry[1]


def lint(text: str) -> list[str]:
    """Warnings about how Segment would read ``text`` (spec §2.8). Never raises.

    Implemented in :mod:`.fql_lint`; imported lazily because it is console-only and pulls in the
    Segment reader.
    """
    from .fql_lint import lint as _lint

    return _lint(text)
