"""Canonical FQL text (spec §2.7) and Segment-shaped ASTs (spec §2.5) for FQL nodes.

``to_fql`` mirrors Segment's generator, plus the ∆ rules that make every tree ``parse`` returns
print back to the same tree: backslash-escaped string values, and escapes for path segments
that Segment's lexer or our grammar would otherwise misread.
"""

from __future__ import annotations

import math
from typing import Any, Final

from .fql_eval import TOP_LEVEL_KEYS, WALK_ROOTS
from .fql_lexer import SEGMENT_CHARS
from .fql_nodes import ROOT_FIELDS, VALUELESS_OPERATORS, Condition, Group, Node, Not
from .jsvalues import js_number_to_string, js_to_number

__all__ = ["format_name", "format_number", "format_string", "to_ast", "to_fql"]

_SEGMENT_KEYWORDS: Final = frozenset({"and", "or", "null"})
_ROOT_KEYWORDS: Final = frozenset({"true", "false", "null", "contains", "match"})
_CASELESS_ROOT_KEYWORDS: Final = frozenset({"and", "or", "not"})
_FIELD_WORDS: Final = {type_: key for key, type_ in ROOT_FIELDS.items()}
_MATCH_FORMS: Final = {"starts_with": "{}*", "ends_with": "*{}", "glob": "{}"}


def format_string(value: str) -> str:
    """A double-quoted FQL string; ∆ ``\\`` and ``"`` are backslash-escaped.

    >>> print(format_string('say "hi" \\\\o/'))
    "say \\"hi\\" \\\\o/"
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_number(value: float) -> str:
    """JS number text; ±inf (from literals such as ``1e400``) print as ``1e999`` so they re-parse."""
    if math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    return js_number_to_string(value)


def _segments(name: str) -> list[str]:
    """Split a name at the dots that can be plain separators.

    A dot that would leave an empty segment (leading, trailing, or after another dot) stays
    inside a segment, where it is printed as ``\\.``.
    """
    segments = [""]
    last = len(name) - 1
    for i, ch in enumerate(name):
        if ch == "." and segments[-1] and i != last:
            segments.append("")
        else:
            segments[-1] += ch
    return segments


def _escape_segment(segment: str, *, is_root: bool) -> str:
    text = "".join(ch if ch in SEGMENT_CHARS else "\\" + ch for ch in segment)
    # ∆ Segment's lexer reads an unescaped leading digit or "-" as a number and these words as
    # keywords; a root word is reserved in our grammar too.
    if (
        segment[0] in "0123456789-"
        or segment in _SEGMENT_KEYWORDS
        or (is_root and (segment in _ROOT_KEYWORDS or segment.lower() in _CASELESS_ROOT_KEYWORDS))
    ):
        text = "\\" + text
    return text


def format_name(name: str, *, is_field: bool = False) -> str:
    """The escaped path text for a node name (``is_field``: the name includes its root).

    >>> format_name("items.0.sku"), format_name("my key[1]")
    ('items.\\\\0.sku', 'my\\\\ key\\\\[1\\\\]')
    """
    segments = _segments(name)
    if is_field:
        # A field whose first segment is "type", "properties", … was written with that dot
        # escaped (``type\\.x``); keep it escaped so the root stays a plain field.
        while len(segments) > 1 and segments[0] in ROOT_FIELDS:
            segments[0:2] = [segments[0] + "." + segments[1]]
    return ".".join(
        _escape_segment(seg, is_root=is_field and i == 0) for i, seg in enumerate(segments)
    )


def _field_text(node: Condition) -> str:
    if node.type in TOP_LEVEL_KEYS:
        return _FIELD_WORDS[node.type]
    name = node.name or ""
    if node.type == "field":
        return format_name(name, is_field=True)
    return f"{WALK_ROOTS[node.type]}.{format_name(name)}"


def _condition_text(node: Condition) -> str:
    f = _field_text(node)
    op, value = node.operator, node.value
    if op in ("=", "!="):
        return f"{f} {op} {format_string(str(value))}"
    if op == "number_equals":
        return f"{f} = {format_number(js_to_number(value))}"
    if op == "number_not_equals":
        return f"{f} != {format_number(js_to_number(value))}"
    if op in ("<", "<=", ">", ">="):
        return f"{f} {op} {format_number(js_to_number(value))}"
    if op in VALUELESS_OPERATORS:
        return {
            "exists": f"{f} != null",
            "not_exists": f"{f} = null",
            "is_true": f"{f} = true",
            "is_false": f"{f} = false",
        }[op]
    negated = op.startswith("not_")
    base = op[4:] if negated else op
    bang = "!" if negated else ""
    if base == "contains":
        return f"{bang}contains({f}, {format_string(str(value))})"
    pattern = _MATCH_FORMS[base].format(value)
    return f"{bang}match({f}, {format_string(pattern)})"


def to_fql(node: Node) -> str:
    """Canonical FQL text for ``node``.

    ``parse(to_fql(n)) == n`` for every tree ``parse`` returns. Hand-built nodes that ``parse``
    cannot produce (``starts_with`` with a ``*`` in its value, ``is_true`` on ``name``, …) print
    as the nearest text, which may read back differently.

    >>> from mappings.engine.fql import parse
    >>> to_fql(parse('type="track" and (properties.n>3.0 or name = null)'))
    'type = "track" and (properties.n > 3 or name = null)'
    """
    if isinstance(node, Condition):
        return _condition_text(node)
    if isinstance(node, Not):
        return f"!({to_fql(node.child)})"
    if isinstance(node, Group):
        joiner = f" {node.operator} "
        return joiner.join(
            f"({to_fql(child)})" if isinstance(child, Group) else to_fql(child)
            for child in node.children
        )
    raise TypeError(f"not an FQL node: {node!r}")


def _ast(node: Node) -> dict[str, Any]:
    if isinstance(node, Condition):
        out: dict[str, Any] = {"type": node.type}
        if node.name is not None:
            out["name"] = node.name
        out["operator"] = node.operator
        if node.operator not in VALUELESS_OPERATORS:
            out["value"] = node.value
        return out
    if isinstance(node, Group):
        return {
            "type": "group",
            "operator": node.operator,
            "children": [_ast(child) for child in node.children],
        }
    if isinstance(node, Not):
        return {"type": "not", "child": _ast(node.child)}
    raise TypeError(f"not an FQL node: {node!r}")


def to_ast(node: Node) -> dict[str, Any]:
    """Segment's AST shape for ``node``; a top node that is not a group is wrapped in ``and``.

    >>> from mappings.engine.fql import parse
    >>> to_ast(parse('type = "track"'))
    {'type': 'group', 'operator': 'and', 'children': [{'type': 'event-type', 'operator': '=', 'value': 'track'}]}
    """
    ast = _ast(node)
    if ast["type"] != "group":
        ast = {"type": "group", "operator": "and", "children": [ast]}
    return ast
