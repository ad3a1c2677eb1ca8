"""The Segment reader: what Segment's own code understands from an FQL trigger (spec §2.10).

A faithful port of ``@segment/destination-subscriptions`` 3.37.0's flat parser (:func:`read`) and
generator (:func:`generate`); its lexer (``@segment/fql-ts`` 1.10.1) and token joiner are in
:mod:`.fql_segment_lexer`, whose public names are re-exported here. It exists only so that
:func:`fql_lint.lint` can say what Segment would have read; nothing evaluates its output. Quirks
are reproduced on purpose, and each is named where it happens. Do not "fix" them.

* :func:`lex` / :func:`tokenize` give Segment's tokens (before / after the joiner) or a
  :class:`SegmentParseError`.
* :func:`read` gives Segment's AST, always a group at the top, or a :class:`SegmentParseError`.
* :func:`generate` prints an AST the way Segment's generator does (the "reads as" text).

>>> read('a = 1 or type = "x" and event = "y"')["operator"]
'and'
>>> read('match(event, "Plan*Won")')["children"]
[{'type': 'event', 'operator': 'ends_with', 'value': 'lan*Won'}]
>>> generate(read("properties.seats >=9"))
'properties.seats > NaN'
"""

from __future__ import annotations

import re
from typing import Any, Final

from .fql_segment_lexer import SegmentParseError, SegmentToken, lex, tokenize
from .jsvalues import js_number_to_string, js_to_number, js_to_string, utf16_units

__all__ = [
    "SegmentParseError",
    "SegmentToken",
    "generate",
    "is_broken",
    "lex",
    "read",
    "tokenize",
]

_CONDITION_TYPES: Final = {
    "type": "event-type",
    "event": "event",
    "name": "name",
    "userId": "userId",
    "context": "event-context",
    "properties": "event-property",
    "traits": "event-trait",
}
_OBJECT_PREFIX: Final = {
    "event-property": "properties.",
    "event-trait": "traits.",
    "event-context": "context.",
}
# Segment looks roots up in a plain JS object, so Object.prototype's members are "found" too: such
# a condition consumes its two tokens and produces nothing.
_OBJECT_PROTOTYPE: Final = frozenset(
    {
        "constructor",
        "__defineGetter__",
        "__defineSetter__",
        "hasOwnProperty",
        "__lookupGetter__",
        "__lookupSetter__",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "valueOf",
        "__proto__",
        "toLocaleString",
    }
)


# --------------------------------------------------------------------------- flat parser


class _ParseError(Exception):
    pass


def _segval(token: SegmentToken) -> str | float | bool:
    """destination-subscriptions ``getTokenValue``."""
    if token.type == "string":
        # One leading and one trailing *double* quote go; single quotes stay in the value.
        value = token.value
        if value.startswith('"'):
            value = value[1:]
        if value.endswith('"'):
            value = value[:-1]
        return value
    if token.type == "number":
        return js_to_number(token.value)  # "-", "+" and "-." are NaN
    if token.type == "ident" and token.value in ("true", "false"):
        return token.value == "true"
    return token.value


def _utf16_slice_first(value: str) -> str:
    """JS ``value.slice(1)``: drops one UTF-16 unit, so an astral first character leaves its
    low surrogate behind."""
    if value and ord(value[0]) > 0xFFFF:
        return utf16_units(value[0])[1] + value[1:]
    return value[1:]


class _Tokens:
    """A token list consumed from the front like the JS array's ``shift()``."""

    def __init__(self, tokens: list[SegmentToken]) -> None:
        self.items = tokens
        self.index = 0

    def shift(self) -> SegmentToken | None:
        if self.index >= len(self.items):
            return None
        token = self.items[self.index]
        self.index += 1
        return token

    def peek(self) -> SegmentToken | None:
        return self.items[self.index] if self.index < len(self.items) else None


def _is_function(token: SegmentToken | None) -> bool:
    return token is not None and token.type == "ident" and token.value in ("contains", "match")


def _condition(token: SegmentToken, kind: str, tokens: _Tokens) -> dict[str, Any] | None:
    operator_token = tokens.shift()
    if operator_token is None:
        raise _ParseError("Operator token is missing")
    value_token = tokens.shift()
    if value_token is None:
        raise _ParseError("Value token is missing")
    if kind not in _CONDITION_TYPES.values():
        return None  # an Object.prototype member: both tokens are consumed for nothing
    op = operator_token.value
    text = value_token.value
    # The table's columns are chosen by token *text*: "= true" is "=" with the text "true".
    is_true = op == "=" and text == "true"
    is_false = op == "=" and text == "false"
    is_exists = op == "!=" and text == "null"
    is_not_exists = op == "=" and text == "null"
    is_number_equals = op == "=" and value_token.type == "number"
    is_number_not_equals = op == "!=" and value_token.type == "number"

    if kind in ("event", "event-type"):
        return {"type": kind, "operator": op, "value": js_to_string(_segval(value_token))}
    if kind == "name" or kind == "userId":
        if is_exists:
            return {"type": kind, "operator": "exists"}
        if is_not_exists:
            return {"type": kind, "operator": "not_exists"}
        if kind == "userId" and is_true:
            return {"type": kind, "operator": "is_true"}
        if kind == "userId" and is_false:
            return {"type": kind, "operator": "is_false"}
        return {"type": kind, "operator": op, "value": js_to_string(_segval(value_token))}

    prefix = _OBJECT_PREFIX[kind]
    name = token.value[len(prefix) :] if token.value.startswith(prefix) else token.value
    node: dict[str, Any] = {"type": kind, "name": name}
    if is_exists:
        node["operator"] = "exists"
    elif is_not_exists:
        node["operator"] = "not_exists"
    elif is_true:
        node["operator"] = "is_true"
    elif is_false:
        node["operator"] = "is_false"
    elif is_number_equals:
        node.update(operator="number_equals", value=_segval(value_token))
    elif is_number_not_equals:
        node.update(operator="number_not_equals", value=_segval(value_token))
    else:
        # "!= true" lands here with a boolean value; junk operators are kept verbatim.
        node.update(operator=op, value=_segval(value_token))
    return node


def _function(name: str, tokens: _Tokens, negate: bool) -> list[dict[str, Any]]:
    """destination-subscriptions ``parseFqlFunction``: positional, whatever the tokens are."""
    tokens.shift()  # "("
    field_token = tokens.shift()
    if field_token is None:
        raise _ParseError(f"{name}() is missing a 1st argument")
    tokens.shift()  # ","
    value_token = tokens.shift()
    if value_token is None:
        raise _ParseError(f"{name}() is missing a 2nd argument")
    tokens.shift()  # ")"

    if name == "contains":
        operator = "not_contains" if negate else "contains"
        value = js_to_string(_segval(value_token))
    elif value_token.value.endswith('*"'):
        operator = "not_starts_with" if negate else "starts_with"
        value = js_to_string(_segval(value_token))[:-1]
    else:
        operator = "not_ends_with" if negate else "ends_with"
        value = _utf16_slice_first(js_to_string(_segval(value_token)))

    field = field_token.value
    nodes: list[dict[str, Any]] = []
    if field in ("event", "name", "userId"):
        nodes.append({"type": field, "operator": operator, "value": value})
    # A prefix test without a dot: "propertiesX" is a property named "propertiesX".
    for root, kind in (
        ("properties", "event-property"),
        ("traits", "event-trait"),
        ("context", "event-context"),
    ):
        if field.startswith(root):
            name_ = field[len(root) + 1 :] if field.startswith(root + ".") else field
            nodes.append({"type": kind, "name": name_, "operator": operator, "value": value})
    return nodes


def _parse(tokens: _Tokens) -> dict[str, Any] | None:
    """destination-subscriptions ``parse``: one flat level; the last conjunction wins."""
    nodes: list[dict[str, Any] | None] = []
    operator = "and"
    token = tokens.shift()
    while token is not None and token.type != "eos":
        if token.type == "ident":
            root = token.value.split(".")[0]
            kind = _CONDITION_TYPES.get(root) or (root if root in _OBJECT_PROTOTYPE else None)
            if kind is not None:
                node = _condition(token, kind, tokens)
                if node is not None:
                    nodes.append(node)
            if _is_function(token):
                nodes.extend(_function(token.value, tokens, negate=False))
        elif token.type == "operator" and token.value == "!":
            # A BANG right before a function negates it; anywhere else it is ignored.
            following = tokens.peek()
            if following is None:
                raise _ParseError("Cannot read properties of undefined (reading 'type')")
            if _is_function(following):
                tokens.shift()
                nodes.extend(_function(following.value, tokens, negate=True))
        elif token.type == "parenleft":
            group: list[SegmentToken] = []
            inner = tokens.shift()
            while inner is None or inner.type != "parenright":
                if inner is None:
                    # JS reads ".type" of undefined here.
                    raise _ParseError("Cannot read properties of undefined (reading 'type')")
                group.append(inner)
                inner = tokens.shift()
            group.append(SegmentToken("eos", "eos", -1, -1))
            # An empty group gives None (JS `undefined`), kept as Segment keeps it: the tree then
            # throws as soon as anything evaluates or prints it (see ``is_broken``).
            nodes.append(_parse(_Tokens(group)))
        elif token.type == "conditional":
            operator = token.value
        token = tokens.shift()

    if len(nodes) > 1:
        return {"type": "group", "operator": operator, "children": nodes}
    return nodes[0] if nodes else None


def read(text: str) -> dict[str, Any] | SegmentParseError:
    """Segment's AST for ``text`` (a group at the top), or the reason Segment cannot parse it.

    Numbers are floats (NaN included), so compare with care. Junk operators (``"."``, ``"eos"``,
    ``"("`` …) are kept verbatim, as Segment keeps them. An empty group next to other conditions
    (``type = "a" and ()``) is a ``None`` child, exactly as Segment returns it; Segment throws as
    soon as it evaluates or prints such a tree, so treat it as unparseable (:func:`is_broken`).

    >>> read('type = "track"')
    {'type': 'group', 'operator': 'and', 'children': [{'type': 'event-type', 'operator': '=', 'value': 'track'}]}
    >>> read("seats>9")
    SegmentParseError('expected termination character after identifier, got >', 'lex')
    """
    tokens = tokenize(text)
    if isinstance(tokens, SegmentParseError):
        return tokens
    try:
        ast = _parse(_Tokens(tokens))
    except _ParseError as error:
        return SegmentParseError(str(error), "parse")
    if ast is None:
        return SegmentParseError("Cannot read properties of undefined (reading 'type')", "parse")
    if ast["type"] != "group":
        return {"type": "group", "operator": "and", "children": [ast]}
    return ast


def is_broken(ast: dict[str, Any] | SegmentParseError) -> bool:
    """Whether Segment can do nothing with the reading: a parse error, or a tree holding an empty
    group (a ``None`` child), on which Segment's evaluator and generator throw.

    >>> is_broken(read('type = "a" and ()')), is_broken(read('type = "a"'))
    (True, False)
    """
    if isinstance(ast, SegmentParseError):
        return True
    return any(
        child is None or (child.get("type") == "group" and is_broken(child))
        for child in ast.get("children", ())
    )


# --------------------------------------------------------------------------- generator


_BASIC_ESCAPE_RE: Final = re.compile(r"[^a-zA-Z0-9._-]")
_ORDERING: Final = frozenset({"<", ">", "<=", ">="})


def _number(value: Any) -> str:
    """JS ``String(Number(value))`` for the AST values (str, float or bool)."""
    return js_number_to_string(js_to_number(value))


def _stringify_value(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return js_to_string(value)
    # Raw inside quotes: Segment has no escapes.
    return f'"{js_to_string(value)}"'


def _expression(field: str, operator: str, value: Any) -> str:
    match operator:
        case "contains":
            return f"contains({field}, {_stringify_value(value)})"
        case "not_contains":
            return f"!contains({field}, {_stringify_value(value)})"
        case "exists":
            return f"{field} != null"
        case "not_exists":
            return f"{field} = null"
        case "is_true":
            return f"{field} = true"
        case "is_false":
            return f"{field} = false"
        case "starts_with":
            return f'match({field}, "{js_to_string(value)}*")'
        case "not_starts_with":
            return f'!match({field}, "{js_to_string(value)}*")'
        case "ends_with":
            return f'match({field}, "*{js_to_string(value)}")'
        case "not_ends_with":
            return f'!match({field}, "*{js_to_string(value)}")'
        case "number_equals":
            return f"{field} = {_number(value)}"
        case "number_not_equals":
            return f"{field} != {_number(value)}"
        case _ if operator in _ORDERING:
            return f"{field} {operator} {_number(value)}"
        case _:
            return f"{field} {operator} {_stringify_value(value)}"


def _child(node: dict[str, Any]) -> str:
    kind = node["type"]
    if kind in ("name", "userId", "event"):
        field = kind
    elif kind == "event-type":
        field = "type"
    elif kind in _OBJECT_PREFIX:
        name = _BASIC_ESCAPE_RE.sub(lambda m: "\\" + m[0], node["name"])
        field = _OBJECT_PREFIX[kind] + name
    else:
        raise ValueError(f"Unknown condition type: {kind!r}")
    return _expression(field, node["operator"], node.get("value"))


def _group(node: dict[str, Any]) -> str:
    return f" {node['operator']} ".join(
        f"({_group(child)})" if child["type"] == "group" else _child(child)
        for child in node["children"]
    )


def generate(ast: dict[str, Any]) -> str:
    """Segment's ``generateFql`` for a Segment-shaped AST whose top is a group.

    Values are printed raw inside quotes, names get only the basic escaping, numbers and
    booleans are bare (NaN as ``NaN``), and one outer pair of parentheses is stripped when the
    text has exactly two. Raises ``ValueError`` for node types Segment does not know and
    ``TypeError`` for a ``None`` child, as Segment's generator throws for both.

    >>> generate({"type": "group", "operator": "and", "children": [
    ...     {"type": "group", "operator": "or", "children": [
    ...         {"type": "event-type", "operator": "=", "value": "page"},
    ...         {"type": "event-type", "operator": "=", "value": "screen"}]}]})
    'type = "page" or type = "screen"'
    """
    text = _group(ast)
    if text.startswith("(") and text.endswith(")") and text.count("(") + text.count(")") == 2:
        return text[1:-1]
    return text
