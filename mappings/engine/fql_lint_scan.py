"""FQL lint's lenient scanner: the trigger text as tokens of our grammar (spec §2.8).

:func:`scan` never fails: it reads whatever text it is given into :class:`Token` tokens, paths
split into :class:`Segment` parts, the way the lint rules need them (also when our parser
rejects the text). The rules that read these tokens are in :mod:`.fql_lint_checks` and
:mod:`.fql_lint`. Console-only: nothing here runs on the delivery path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .fql_lexer import DIGITS, NUMBER_RE, SEGMENT_CHARS, WORD_START

_TWO_CHAR: Final = {
    **dict.fromkeys(("!=", "==", "=<", "=>", "<=", ">=", "<>"), "op"),
    **dict.fromkeys(("&&", "||"), "other"),
}
# A bracket part of a path, up to its "]" (quoted text may hold one).
_BRACKET_RE: Final = re.compile(r'(?:"[^"]*"|[^\]"])*\]?')
_PUNCTUATION: Final = {"(": "lparen", ")": "rparen", ",": "comma", "[": "lbrack", "]": "rbrack"}


# --------------------------------------------------------------------------- lenient scanner


@dataclass(frozen=True, slots=True)
class Segment:
    raw: str
    value: str
    start: int


@dataclass(frozen=True, slots=True)
class Token:
    """A token of our grammar, scanned leniently: the scan never fails.

    ``kind`` is ``word``, ``string``, ``sqstring``, ``number``, ``op``, ``bang``, ``lparen``,
    ``rparen``, ``comma``, ``lbrack``, ``rbrack`` or ``other``.
    """

    kind: str
    start: int
    end: int
    raw: str
    segments: tuple[Segment, ...] = ()
    bracket: int = -1  # a word's first "[" (a bracket path), or -1
    closed: bool = True  # strings: whether the closing quote exists

    def is_word(self, *texts: str) -> bool:
        return self.kind == "word" and self.raw in texts

    @property
    def root(self) -> str:
        return self.segments[0].value if self.segments else ""


def _scan_segment(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        if text[i] in SEGMENT_CHARS:
            i += 1
        elif text[i] == "\\":
            i = min(i + 2, n)
        else:
            break
    return i


def unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: m[1], raw, flags=re.DOTALL)


def _scan_word(text: str, start: int) -> Token:
    n = len(text)
    segments: list[Segment] = []
    bracket = -1
    end = _scan_segment(text, start)
    segments.append(Segment(text[start:end], unescape(text[start:end]), start))
    while end < n:
        if (
            text[end] == "."
            and end + 1 < n
            and (text[end + 1] in SEGMENT_CHARS or text[end + 1] == "\\")
        ):
            seg_end = _scan_segment(text, end + 1)
            raw = text[end + 1 : seg_end]
            segments.append(Segment(raw, unescape(raw), end + 1))
            end = seg_end
        elif text[end] == "[":
            # Swallow the whole bracket part so that properties["k"].x is one (bad) path.
            bracket = end if bracket < 0 else bracket
            close = _BRACKET_RE.match(text, end + 1)
            end = close.end() if close else n
        else:
            break
    return Token("word", start, end, text[start:end], tuple(segments), bracket)


def scan(text: str) -> tuple[list[Token], list[int]]:
    """Our grammar's tokens, leniently, and the positions of carriage returns between tokens."""
    tokens: list[Token] = []
    carriage_returns: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c in " \t\n":
            i += 1
        elif c == "\r":
            carriage_returns.append(i)
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            end = min(j + 1, n)
            tokens.append(Token("string", i, end, text[i:end], closed=j < n))
            i = end
        elif c == "'":
            j = text.find("'", i + 1)
            end = n if j < 0 else j + 1
            tokens.append(Token("sqstring", i, end, text[i:end], closed=j >= 0))
            i = end
        elif c in DIGITS or (c in "+-" and i + 1 < n and text[i + 1] in DIGITS):
            m = NUMBER_RE.match(text, i)
            assert m is not None
            tokens.append(Token("number", i, m.end(), m[0]))
            i = m.end()
        elif c in WORD_START:
            token = _scan_word(text, i)
            tokens.append(token)
            i = token.end
        elif text[i : i + 2] in _TWO_CHAR:
            tokens.append(Token(_TWO_CHAR[text[i : i + 2]], i, i + 2, text[i : i + 2]))
            i += 2
        else:
            kind = "op" if c in "=<>" else "bang" if c == "!" else _PUNCTUATION.get(c, "other")
            tokens.append(Token(kind, i, i + 1, c))
            i += 1
    return tokens, carriage_returns
