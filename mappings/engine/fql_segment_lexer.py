"""The Segment reader's lexer: fql-ts's tokens for an FQL trigger, before and after the joiner.

A faithful port of ``@segment/fql-ts`` 1.10.1 (lexer) and the token joiner of
``@segment/destination-subscriptions`` 3.37.0 (``normalize``), over UTF-16 units as in JS. The
flat parser and generator that read these tokens are in :mod:`.fql_segment`, which re-exports
:func:`lex`, :func:`tokenize`, :class:`SegmentToken` and :class:`SegmentParseError`. Quirks are
reproduced on purpose, and each is named where it happens. Do not "fix" them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .jsvalues import join_surrogate_pairs, utf16_units

__all__ = [
    "SegmentParseError",
    "SegmentToken",
    "lex",
    "tokenize",
]


class SegmentParseError(Exception):
    """Segment cannot parse the text (a lex error or a parse error); it never matches.

    Returned, not raised, by :func:`.fql_segment.read` and :func:`tokenize`. ``message`` paraphrases the error
    Segment's code throws; ``stage`` is ``"lex"`` or ``"parse"``.
    """

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage

    def __repr__(self) -> str:
        return f"SegmentParseError({self.message!r}, {self.stage!r})"


@dataclass(frozen=True, slots=True)
class SegmentToken:
    """One fql-ts token. ``type`` uses fql-ts's names (``ident``, ``operator``, ``conditional``,
    ``string``, ``number``, ``null``, ``dot``, ``brackleft``, ``brackright``, ``parenleft``,
    ``parenright``, ``comma``, ``eos``). ``value`` is fql-ts's text: escapes removed from
    identifiers, both quotes kept on strings. ``start``/``end`` index the source text (code points);
    the synthetic EOS of a group has ``start == end == -1``.
    """

    type: str
    value: str
    start: int
    end: int


# fql-ts: isWhitespace, isTerminator. CR is neither (spec §2.10).
_WHITESPACE: Final = frozenset(" \t\n")
TERMINATORS: Final = frozenset(" \t\n,])")
_ASCII_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS: Final = frozenset("0123456789")
_IDENT_CHARS: Final = _ASCII_LETTERS | _DIGITS | frozenset("_-\\")
_IDENT_FOLLOW: Final = TERMINATORS | frozenset(".(=!")
_PUNCTUATION: Final = {
    ".": "dot",
    "[": "brackleft",
    "]": "brackright",
    ",": "comma",
    "(": "parenleft",
    ")": "parenright",
}
# fql-ts's "bug catcher" limits, in UTF-16 units.
_MAX_LENGTH: Final = 100000


# --------------------------------------------------------------------------- lexer


class _LexError(Exception):
    pass


class _Lexer:
    """fql-ts's ``Lexer``, over UTF-16 units, with ``None`` standing for its EOS flag."""

    def __init__(self, text: str) -> None:
        # fql-ts walks the text one UTF-16 unit at a time, which shows in look-ahead and escapes.
        self.units = "".join(utf16_units(text))
        self.pos = 0
        # Unit index -> code point index, needed only when the text has astral characters.
        self.cp_index: list[int] | None = None
        if len(self.units) != len(text):
            index: list[int] = []
            for i, c in enumerate(text):
                index.extend([i, i] if ord(c) > 0xFFFF else [i])
            index.append(len(text))
            self.cp_index = index

    # -- reader helpers (Lexer.next / peek / backup / accept)

    def next(self) -> str | None:
        if self.pos >= len(self.units):
            return None
        char = self.units[self.pos]
        self.pos += 1
        return char

    def peek(self) -> str | None:
        return self.units[self.pos] if self.pos < len(self.units) else None

    def backup(self, count: int) -> None:
        self.pos = max(0, self.pos - count)

    def accept(self, expected: str) -> bool:
        """fql-ts ``accept``: read ``expected`` followed by a terminator, or roll back.

        Quirk kept: reaching the end of the input returns ``False`` *without* rolling back, so
        ``type = an`` at the very end leaves ``n`` consumed and reads the value ``a``.
        """
        read = 0
        chars = ""
        for _ in expected:
            char = self.next()
            if char is None:
                return False
            read += 1
            chars += char
            if char in TERMINATORS:
                break
        if chars == expected and _is_terminator(self.peek()):
            return True
        self.backup(read)
        return False

    def _cp(self, unit_pos: int) -> int:
        return unit_pos if self.cp_index is None else self.cp_index[unit_pos]

    def _token(self, type_: str, value: str, start: int) -> SegmentToken:
        return SegmentToken(type_, join_surrogate_pairs(value), self._cp(start), self._cp(self.pos))

    # -- the scanner

    def lex(self) -> list[SegmentToken]:
        tokens: list[SegmentToken] = []
        while True:
            start = self.pos
            char = self.next()
            if char is None:
                tokens.append(self._token("eos", "eos", start))
                return tokens
            if char in _WHITESPACE:
                continue
            if char == "!":
                following = self.peek()
                if following is not None and (following in _ASCII_LETTERS or following == "("):
                    tokens.append(self._token("operator", "!", start))
                    continue
            if char in _ASCII_LETTERS or char in "!=<>\\_":
                tokens.append(self._operator_or_conditional(char, start))
                continue
            if char in _DIGITS or char in "-+":
                tokens.append(self._number(char, start))
                continue
            if char in "\"'":
                tokens.append(self._string(char, start))
                continue
            kind = _PUNCTUATION.get(char)
            if kind is not None:
                tokens.append(self._token(kind, char, start))
                continue
            raise _LexError(f'invalid character "{char}"')

    def _string(self, quote: str, start: int) -> SegmentToken:
        end = self.units.find(quote, self.pos)
        if end < 0:
            raise _LexError("unterminated string")
        content = self.units[self.pos : end]
        if len(content) >= _MAX_LENGTH:
            raise _LexError("unreasonable string length")
        self.pos = end
        # Quirk: the closing quote is eaten only if a terminator follows; otherwise the next
        # token starts at it, as the opening quote of another string.
        self.accept(quote)
        return self._token("string", quote + content + quote, start)

    def _number(self, first: str, start: int) -> SegmentToken:
        text = first
        decimal = False
        coming = self.peek()
        while coming is not None and (coming in _DIGITS or coming == "."):
            text += self.next() or ""
            if coming == ".":
                if _is_terminator(self.peek()):
                    raise _LexError("unexpected terminator after decimal point")
                if decimal:
                    raise _LexError("multiple decimal points in one number")
                decimal = True
            if len(text) - 1 >= _MAX_LENGTH:
                raise _LexError("unreasonable number length")
            coming = self.peek()
        # A letter simply starts the next token: "2e3" is 2 then the identifier "e3".
        return self._token("number", text, start)

    def _operator_or_conditional(self, first: str, start: int) -> SegmentToken:
        if first == "=":
            return self._token("operator", "=", start)
        if first == "!":
            if self.accept("="):
                return self._token("operator", "!=", start)
            raise _LexError(f"expected '=' after '!', got '{self.peek()}'")
        for lead, rest, kind, value in (
            ("a", "nd", "conditional", "and"),
            ("o", "r", "conditional", "or"),
            ("n", "ull", "null", "null"),
        ):
            if first == lead:
                if self.accept(rest):
                    return self._token(kind, value, start)
                return self._ident(first, start)
        if first in "<>":
            if self.accept("="):
                return self._token("operator", first + "=", start)
            return self._token("operator", first, start)
        return self._ident(first, start)

    def _ident(self, first: str, start: int) -> SegmentToken:
        text = ""
        char: str | None = first
        while True:
            if char == "\\":
                if self.peek() is None:
                    raise _LexError("expected character after escape character, got EOS")
                char = self.next()
            text += char or ""
            if len(text) >= _MAX_LENGTH:
                raise _LexError("unreasonable literal length")
            following = self.peek()
            if following is None or following not in _IDENT_CHARS:
                break
            char = self.next()
        following = self.peek()
        if following is not None and following not in _IDENT_FOLLOW:
            # So "seats>9" and 'list["a"]' fail to lex.
            raise _LexError(f"expected termination character after identifier, got {following}")
        return self._token("ident", text, start)


def _is_terminator(char: str | None) -> bool:
    return char is None or char in TERMINATORS


def _join(tokens: list[SegmentToken]) -> list[SegmentToken]:
    """destination-subscriptions ``normalize``: merge ``IDENT . IDENT`` chains into one ident."""
    out: list[SegmentToken] = []
    i = 0
    while i < len(tokens):
        current = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            out
            and out[-1].type == "ident"
            and current.type == "dot"
            and following is not None
            and following.type == "ident"
        ):
            previous = out.pop()
            value = previous.value + "." + following.value
            out.append(SegmentToken("ident", value, previous.start, following.end))
            i += 2
        else:
            out.append(current)
            i += 1
    return out


def lex(text: str) -> list[SegmentToken] | SegmentParseError:
    """fql-ts ``lex``: the raw tokens for ``text``, ending with EOS, or a lex error.

    >>> [t.value for t in lex("type = an")]
    ['type', '=', 'a', 'eos']
    """
    try:
        return _Lexer(text).lex()
    except _LexError as error:
        return SegmentParseError(str(error), "lex")


def tokenize(text: str) -> list[SegmentToken] | SegmentParseError:
    """Segment's tokens for ``text`` after the joiner, ending with EOS, or a lex error.

    >>> [t.value for t in tokenize("properties.0.sku = 1")]
    ['properties', '.', '0.', 'sku', '=', '1', 'eos']
    """
    tokens = lex(text)
    return tokens if isinstance(tokens, SegmentParseError) else _join(tokens)
