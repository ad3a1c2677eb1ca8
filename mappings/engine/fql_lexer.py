"""FQL lexer: the tokens of segmix's trigger grammar (spec §2.2), and :class:`FqlError`.

Public through :mod:`mappings.engine.fql`. The parser reads :func:`tokenize`'s tokens; the linter
has a lenient scanner of its own (:mod:`.fql_lint_scan`) that shares the character classes here.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from .jsvalues import join_surrogate_pairs

__all__ = ["FqlError", "Token", "tokenize"]


class FqlError(ValueError):
    """FQL that our grammar rejects.

    ``position`` is a 0-based index into the text: the start of the offending token, or
    ``len(text)`` when the problem is the end of the input.

    >>> str(FqlError("expected a condition", 0))
    'expected a condition (at position 0)'
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.position))


class Token(NamedTuple):
    """One token. ``text`` is the raw source slice; ``position`` its start index."""

    kind: str
    text: str
    position: int
    value: Any


WHITESPACE: Final = frozenset(" \t\n\r")
KEYWORDS: Final = frozenset({"and", "or", "true", "false", "null"})
FUNCTIONS: Final = frozenset({"contains", "match"})
# Characters a path segment may hold unescaped; a word must start with a letter, "_" or "\".
SEGMENT_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
WORD_START: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_\\")
DIGITS: Final = frozenset("0123456789")
_NUMBER_START: Final = frozenset("0123456789+-")
# "[0-9]" rather than "\d": Python's \d also matches non-ASCII digits.
NUMBER_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_PUNCTUATION: Final = {"(": "lparen", ")": "rparen", ",": "comma"}
_BAD_OPERATORS: Final = {
    "==": '"==" is not an operator; use "="',
    "=<": '"=<" is not an operator; use "<="',
    "=>": '"=>" is not an operator; use ">="',
    "<>": '"<>" is not an operator; use "!="',
    "&&": 'use "and" instead of "&&"',
    "||": 'use "or" instead of "||"',
}
MSG_SINGLE_QUOTE: Final = "single-quoted strings are not supported; use double quotes"
MSG_BRACKET: Final = "bracket paths are not supported; escape instead, e.g. properties.my\\ key"


def tokenize(text: str, *, lenient: bool = False) -> list[Token]:
    """Split FQL ``text`` into tokens; the last one is always ``end``.

    Token kinds (``value`` in brackets):

    * ``path`` -- a field path such as ``properties.items.\\0.sku`` [tuple of its segments with
      escapes removed: ``("properties", "items", "0", "sku")``]. A path is a word (starting with
      an ASCII letter, ``_`` or ``\\``) followed by ``.segment`` parts; ``\\x`` stands for ``x``.
    * ``keyword`` -- exactly ``and``, ``or``, ``true``, ``false`` or ``null``: lower-case, unescaped
      and without dots [the text]. ``AND`` and ``a\\nd`` are paths.
    * ``function`` -- ``contains`` or ``match`` when the next non-whitespace character is ``(``
      [the text]; otherwise they are paths.
    * ``string`` -- ``"..."`` with only ``\\"`` and ``\\\\`` escapes [the content, unescaped].
    * ``number`` -- ``[+-]?[0-9]+(.[0-9]+)?([eE][+-]?[0-9]+)?`` not followed by a word character or
      ``.`` [a float, as JS ``Number()``; ``1e999`` is ``inf``].
    * ``op`` -- ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` [the text].
    * ``bang`` (``!``), ``lparen``, ``rparen``, ``comma`` [the text].
    * ``error`` -- only with ``lenient=True``: text our grammar cannot lex [the message]; lexing
      resumes after ``text``.
    * ``end`` -- ``text`` is ``""`` and ``position`` is ``len(text)`` [None].

    Whitespace (space, tab, LF, CR) separates tokens and is not returned. Without ``lenient``,
    the first lexical error raises :class:`FqlError`.

    >>> [(t.kind, t.value) for t in tokenize('type = "x"')]
    [('path', ('type',)), ('op', '='), ('string', 'x'), ('end', None)]
    """
    tokens: list[Token] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c in WHITESPACE:
            i += 1
            continue
        if c in WORD_START:
            tok = _lex_path(text, i)
        elif c == '"':
            tok = _lex_string(text, i)
        elif c in _NUMBER_START or (c == "." and text[i + 1 : i + 2] in DIGITS):
            tok = _lex_number(text, i)
        elif c in "=!<>&|":
            tok = _lex_operator(text, i)
        elif c in _PUNCTUATION:
            tok = Token(_PUNCTUATION[c], c, i, c)
        elif c == "'":
            end = text.find("'", i + 1)
            end = n if end < 0 else end + 1
            tok = Token("error", text[i:end], i, MSG_SINGLE_QUOTE)
        elif c == "[" and tokens and tokens[-1].kind == "path" and _ends_at(tokens[-1], i):
            tok = Token("error", c, i, MSG_BRACKET)
        elif ord(c) > 127 and tokens and tokens[-1].kind == "path" and _ends_at(tokens[-1], i):
            message = (
                f'unexpected character "{c}"; escape non-ASCII characters in a path, e.g. \\{c}'
            )
            tok = Token("error", c, i, message)
        else:
            tok = Token("error", c, i, f'unexpected character "{c}"')
        if tok.kind == "error" and not lenient:
            raise FqlError(tok.value, tok.position)
        tokens.append(tok)
        i = tok.position + len(tok.text)
    tokens.append(Token("end", "", n, None))
    return tokens


def _ends_at(tok: Token, position: int) -> bool:
    return tok.position + len(tok.text) == position


def _lex_path(text: str, start: int) -> Token:
    n = len(text)
    segments: list[str] = []
    i = start
    while True:
        chars: list[str] = []
        while i < n:
            c = text[i]
            if c in SEGMENT_CHARS:
                chars.append(c)
                i += 1
            elif c == "\\":
                if i + 1 >= n:
                    return _dangling_backslash(text)
                chars.append(text[i + 1])
                i += 2
            else:
                break
        # Escapes are per character here but per UTF-16 unit in Segment's lexer, whose
        # generateFql writes an emoji as two escaped halves; rejoin them into the character.
        segments.append(join_surrogate_pairs("".join(chars)))
        if i < n and text[i] == ".":
            nxt = text[i + 1 : i + 2]
            if nxt and (nxt in SEGMENT_CHARS or nxt == "\\"):
                i += 1
                continue
            # The dot introduces an empty segment (".." or a trailing ".").
            end = i + 1
            while end < n and text[end] == ".":
                end += 1
            return Token("error", text[start:end], i, "empty path segment")
        break
    raw = text[start:i]
    if len(segments) == 1 and "\\" not in raw:
        if raw in KEYWORDS:
            return Token("keyword", raw, start, raw)
        if raw in FUNCTIONS and _next_non_space(text, i) == "(":
            return Token("function", raw, start, raw)
    return Token("path", raw, start, tuple(segments))


def _dangling_backslash(text: str) -> Token:
    # An empty token at len(text): the problem is the end of the input, not the path before it.
    return Token("error", "", len(text), 'expected a character after "\\", got end of input')


def _next_non_space(text: str, i: int) -> str:
    n = len(text)
    while i < n and text[i] in WHITESPACE:
        i += 1
    return text[i : i + 1]


def _lex_string(text: str, start: int) -> Token:
    n = len(text)
    chars: list[str] = []
    bad_escape: int | None = None
    i = start + 1
    while i < n:
        c = text[i]
        if c == '"':
            raw = text[start : i + 1]
            if bad_escape is not None:
                escape = text[bad_escape : bad_escape + 2]
                message = f'unknown escape "{escape}" in string; only \\" and \\\\ are allowed'
                # The error token spans the rest of the string so that lexing resumes after it.
                return Token("error", text[bad_escape : i + 1], bad_escape, message)
            return Token("string", raw, start, "".join(chars))
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt not in '"\\' and bad_escape is None:
                bad_escape = i
            chars.append(nxt)
            i += 2
            continue
        chars.append(c)
        i += 1
    return Token("error", text[start:], start, "unterminated string")


def _lex_number(text: str, start: int) -> Token:
    m = NUMBER_RE.match(text, start)
    end = m.end() if m else start
    n = len(text)
    if m and (end >= n or not _continues_word(text[end])):
        raw = m.group()
        return Token("number", raw, start, float(raw))
    if not m and text[start] in "+-" and not _continues_word(text[start + 1 : start + 2]):
        c = text[start]
        return Token("error", c, start, f'unexpected character "{c}"')
    # Swallow the rest of the malformed number ("3abc", "4.5.6", "5.") for the message.
    end = max(end, start + 1)
    while end < n and _continues_word(text[end]):
        end += 2 if text[end] == "\\" else 1
    end = min(end, n)
    raw = text[start:end]
    return Token("error", raw, start, f'invalid number "{raw}"')


def _continues_word(c: str) -> bool:
    return c != "" and (c in SEGMENT_CHARS or c in ".\\")


def _lex_operator(text: str, start: int) -> Token:
    pair = text[start : start + 2]
    if pair in _BAD_OPERATORS:
        return Token("error", pair, start, _BAD_OPERATORS[pair])
    if pair in ("!=", "<=", ">="):
        return Token("op", pair, start, pair)
    c = text[start]
    if c == "!":
        return Token("bang", c, start, c)
    if c in "=<>":
        return Token("op", c, start, c)
    return Token("error", c, start, f'unexpected character "{c}"')
