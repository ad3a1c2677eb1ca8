"""FQL parser: segmix's grammar (spec §2.3) building Segment's condition nodes (spec §2.4).

Recursive descent over :func:`~.fql_lexer.tokenize` output (lenient, so that the left-most
problem is the one reported, whether it is lexical or syntactic). Use
:func:`mappings.engine.fql.parse`, which caches; :func:`parse_text` here does not.
"""

from __future__ import annotations

from typing import Final, NoReturn

from .fql_eval import split_name
from .fql_lexer import NUMBER_RE, WHITESPACE, FqlError, Token, tokenize
from .fql_nodes import ROOT_FIELDS, STRING_FIELD_TYPES, Condition, Group, Node, Not
from .jsvalues import js_number_to_string

__all__ = ["MAX_DEPTH", "match_condition", "parse_text"]

#: Nesting limit for parentheses and "!": far beyond any real trigger, well within the stack.
MAX_DEPTH: Final = 100

MSG_BANG: Final = 'use "!" only before contains(), match() or a parenthesised group'
MSG_LOWER: Final = 'use lower-case "and" / "or"'
_SUBFIELD_FREE: Final = frozenset({"type", "event", "name", "userId"})
_NEEDS_KEY: Final = frozenset({"properties", "traits", "context"})
_KEYWORD_ROOTS: Final = frozenset({"true", "false", "null", "contains", "match", "and", "or"})
_WS: Final = "".join(WHITESPACE)
# type/event keep "= null" and "= true" as text comparisons; name keeps only the booleans.
_NULL_AS_TEXT: Final = frozenset({"event-type", "event"})
_BOOL_AS_TEXT: Final = frozenset({"event-type", "event", "name"})


def parse_text(text: str) -> Node:
    """Parse ``text`` into a normalised node tree; raise :class:`FqlError` when it is not FQL."""
    if not isinstance(text, str):
        raise TypeError(f"FQL must be a str, not {type(text).__name__}")
    return _Parser(text).trigger()


def match_condition(type_: str, name: str | None, pattern: str, negated: bool) -> Condition:
    """The node for ``match(F, pattern)`` / ``!match(…)`` (spec §2.4.1)."""
    stars = pattern.count("*")
    if stars == 1 and pattern.endswith("*"):
        operator, value = "starts_with", pattern[:-1]
    elif stars == 1 and pattern.startswith("*"):
        operator, value = "ends_with", pattern[1:]
    elif stars == 2 and len(pattern) >= 2 and pattern[0] == pattern[-1] == "*":
        operator, value = "contains", pattern[1:-1]
    else:
        operator, value = "glob", pattern
    if negated:
        operator = "not_" + operator
    return Condition(type=type_, name=name, operator=operator, value=value)


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "end of input"
    text = tok.text if len(tok.text) <= 40 else tok.text[:37] + "..."
    # A string token already carries its quotes.
    return text if tok.kind == "string" and len(tok.text) <= 40 else f'"{text}"'


def _group(operator: str, children: list[Node]) -> Node:
    """Flatten same-operator children and collapse a single child (spec §2.3 normalisation)."""
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        if isinstance(child, Group) and child.operator == operator:
            flat.extend(child.children)
        else:
            flat.append(child)
    return Group(operator, tuple(flat))


def _root_escaped(raw: str) -> bool:
    """Whether the first segment of a raw path has a backslash (``\\and`` is not a keyword)."""
    for c in raw:
        if c == "\\":
            return True
        if c == ".":
            return False
    return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text, lenient=True)
        self.index = 0
        self.depth = 0

    # -- token access

    def peek(self) -> Token:
        tok = self.tokens[self.index]
        if tok.kind == "error":
            raise FqlError(tok.value, tok.position)
        return tok

    def advance(self) -> Token:
        tok = self.peek()
        self.index += 1
        return tok

    def expect(self, kind: str, what: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            raise FqlError(f"expected {what}, got {_describe(tok)}", tok.position)
        self.index += 1
        return tok

    # -- grammar

    def trigger(self) -> Node:
        if self.peek().kind == "end":
            raise FqlError("expected a condition", len(self.text))
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            self.fail_after_operand(tok, in_group=False)
        return node

    def expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek().kind == "keyword" and self.peek().value == "or":
            self.index += 1
            children.append(self.and_expr())
        return _group("or", children)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while self.peek().kind == "keyword" and self.peek().value == "and":
            self.index += 1
            children.append(self.unary())
        return _group("and", children)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "bang":
            self.index += 1
            nxt = self.peek()
            if nxt.kind == "lparen":
                return Not(self.group())
            if nxt.kind == "function":
                return self.call(negated=True)
            raise FqlError(MSG_BANG, tok.position)
        if tok.kind == "lparen":
            return self.group()
        if tok.kind == "function":
            return self.call(negated=False)
        if tok.kind == "path":
            return self.comparison()
        if tok.kind == "keyword" and tok.value not in ("and", "or"):
            self.fail_keyword_root(tok.value, tok.position)
        raise FqlError(f"expected a condition, got {_describe(tok)}", tok.position)

    def group(self) -> Node:
        lparen = self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FqlError(f"too deeply nested (more than {MAX_DEPTH} levels)", lparen.position)
        node = self.expr()
        tok = self.peek()
        if tok.kind != "rparen":
            self.fail_after_operand(tok, in_group=True)
        self.index += 1
        self.depth -= 1
        return node

    def fail_after_operand(self, tok: Token, *, in_group: bool) -> NoReturn:
        if tok.kind == "rparen" and not in_group:
            raise FqlError('unmatched ")"', tok.position)
        if tok.kind == "path" and len(tok.value) == 1 and not _root_escaped(tok.text):
            word = tok.value[0].lower()
            if word in ("and", "or"):
                raise FqlError(MSG_LOWER, tok.position)
            if word == "not":
                raise FqlError(MSG_BANG, tok.position)
        if in_group and tok.kind == "end":
            raise FqlError('expected ")", got end of input', tok.position)
        expected = '"and", "or" or ")"' if in_group else '"and", "or" or end of input'
        raise FqlError(f"expected {expected}, got {_describe(tok)}", tok.position)

    def fail_keyword_root(self, word: str, position: int) -> NoReturn:
        what = "a function" if word in ("contains", "match") else "a keyword"
        raise FqlError(
            f'"{word}" is {what}; escape it to use it as a field, e.g. \\{word}', position
        )

    def field(self, tok: Token) -> tuple[str, str | None]:
        """The condition type and name for a path token (spec §2.3 field roots)."""
        segments: tuple[str, ...] = tok.value
        root = segments[0]
        if not _root_escaped(tok.text):
            lowered = root.lower()
            if lowered == "not":
                raise FqlError(MSG_BANG, tok.position)
            if lowered in ("and", "or") and root != lowered:
                raise FqlError(MSG_LOWER, tok.position)
            if root in _KEYWORD_ROOTS:
                self.fail_keyword_root(root, tok.position)
        if root in _SUBFIELD_FREE:
            if len(segments) > 1:
                raise FqlError(f'"{root}" has no sub-fields', tok.position)
            return ROOT_FIELDS[root], None
        if root in _NEEDS_KEY:
            if len(segments) == 1:
                raise FqlError(f'"{root}" needs a key, e.g. {root}.plan', tok.position)
            type_, name = ROOT_FIELDS[root], ".".join(segments[1:])
        else:
            type_, name = "field", ".".join(segments)
        if not split_name(name):
            raise FqlError(
                f'"{tok.text}" has no key: it is only ".", "[" and "]" characters', tok.position
            )
        return type_, name

    def call(self, *, negated: bool) -> Condition:
        function = self.advance().value
        self.expect("lparen", '"("')
        path = self.expect("path", "a field")
        type_, name = self.field(path)
        self.expect("comma", '","')
        tok = self.peek()
        if tok.kind == "string":
            value = tok.value
        elif tok.kind == "number":
            value = js_number_to_string(tok.value)
        elif tok.kind in ("path", "function"):
            self.fail_unquoted(tok)
        else:
            raise FqlError(f"expected a string or number, got {_describe(tok)}", tok.position)
        self.index += 1
        self.expect("rparen", '")"')
        if function == "match":
            return match_condition(type_, name, value, negated)
        operator = "not_contains" if negated else "contains"
        return Condition(type=type_, name=name, operator=operator, value=value)

    def fail_unquoted(self, tok: Token) -> NoReturn:
        raise FqlError(
            f'unquoted value "{tok.text}"; write "{tok.text}" in double quotes', tok.position
        )

    def comparison(self) -> Condition:
        path = self.advance()
        nxt = self.peek()
        if nxt.kind == "lparen" and len(path.value) == 1 and not _root_escaped(path.text):
            root = path.value[0]
            if root.lower() not in ("and", "or", "not"):
                raise FqlError(f'unknown function "{root}"', path.position)
        type_, name = self.field(path)
        op_tok = self.peek()
        if op_tok.kind != "op":
            raise FqlError(
                f"expected an operator (=, !=, <, <=, >, >=), got {_describe(op_tok)}",
                op_tok.position,
            )
        self.index += 1
        tok = self.peek()
        if tok.kind in ("path", "function"):
            self.fail_unquoted(tok)
        if tok.kind not in ("string", "number", "keyword") or (
            tok.kind == "keyword" and tok.value in ("and", "or")
        ):
            raise FqlError(f"expected a value, got {_describe(tok)}", tok.position)
        self.index += 1
        return _comparison_node(type_, name, op_tok.value, tok, path.text)


def _comparison_node(
    type_: str, name: str | None, op: str, tok: Token, field_text: str
) -> Condition:
    """Apply the operator mapping table (spec §2.4) to ``F op value``."""
    text_field = type_ in STRING_FIELD_TYPES
    kind, value = tok.kind, tok.value
    if op in ("=", "!="):
        if kind == "string":
            return Condition(type=type_, name=name, operator=op, value=value)
        if kind == "number":
            if text_field:
                return Condition(
                    type=type_, name=name, operator=op, value=js_number_to_string(value)
                )
            operator = "number_equals" if op == "=" else "number_not_equals"
            return Condition(type=type_, name=name, operator=operator, value=value)
        if value == "null":
            if type_ in _NULL_AS_TEXT:
                return Condition(type=type_, name=name, operator=op, value="null")
            operator = "not_exists" if op == "=" else "exists"
            return Condition(type=type_, name=name, operator=operator)
        if op == "!=":
            other = "false" if value == "true" else "true"
            raise FqlError(
                f'"!= {value}" is not supported (Segment compares it as text); '
                f'use "!({field_text} = {value})" or "{field_text} = {other}"',
                tok.position,
            )
        if type_ in _BOOL_AS_TEXT:
            return Condition(type=type_, name=name, operator="=", value=value)
        operator = "is_true" if value == "true" else "is_false"
        return Condition(type=type_, name=name, operator=operator)
    # Ordering: a number, or a string holding one (§2.2 number syntax, surrounding spaces allowed).
    if kind == "number":
        number = value
    elif kind == "string" and NUMBER_RE.fullmatch(value.strip(_WS)):
        number = float(value.strip(_WS))
    else:
        raise FqlError(f'"{op}" needs a number', tok.position)
    return Condition(
        type=type_,
        name=name,
        operator=op,
        value=js_number_to_string(number) if text_field else number,
    )
