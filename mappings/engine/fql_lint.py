"""FQL lint: what Segment would have understood from a trigger (spec §2.8).

:func:`lint` parses the text with our grammar and reads it with the Segment reader
(:mod:`.fql_segment`), then reports:

1. ``parse-error: …`` when our grammar rejects the text;
2. one ``<code>: <explanation>`` per quirk (§2.8.2), in position order, at most one per code and
   position. Rules work from a lenient scan of the raw text, so they also fire when our parse
   failed;
3. a ``segment-reading: …`` summary when Segment's reading differs from ours.

Console-only: nothing here runs on the delivery path.

>>> lint('type = "track" and event != "Order Completed"')
[]
>>> lint("type = identify")[0]
'parse-error: unquoted value "identify"; write "identify" in double quotes (at position 7)'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Final

from . import fql
from .fql_segment import SegmentParseError, generate, is_broken, read
from .jsvalues import js_number_to_string, js_to_number

__all__ = ["CODES", "lint", "norm"]

#: Every quirk code, in the order of the spec's table (also the tie-break at one position).
CODES: Final = (
    "mixed-and-or",
    "nested-parens",
    "function-in-group",
    "negated-group",
    "negated-comparison",
    "bang-space",
    "match-no-star",
    "match-star-position",
    "single-quotes",
    "string-escape",
    "quote-glued",
    "carriage-return",
    "unquoted-value",
    "double-equals",
    "operator-spacing",
    "exponent",
    "uppercase-keyword",
    "not-keyword",
    "missing-conjunction",
    "missing-operator",
    "unsupported-field",
    "field-subpath",
    "bare-object-field",
    "path-segment",
    "bracket-path",
    "not-equals-boolean",
    "function-on-type",
    "ordering-value",
    "null-as-text",
    "boolean-as-text",
    "number-as-text",
    "escaped-dot",
)
_CODE_ORDER: Final = {code: i for i, code in enumerate(CODES)}

_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS: Final = frozenset("0123456789")
_SEGMENT_CHARS: Final = frozenset(_LETTERS + "0123456789_-")
_WORD_START: Final = frozenset(_LETTERS + "_\\")
# "[0-9]", not "\d": Python's \d also matches non-ASCII digits.
_NUMBER_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_TWO_CHAR: Final = {
    **dict.fromkeys(("!=", "==", "=<", "=>", "<=", ">=", "<>"), "op"),
    **dict.fromkeys(("&&", "||"), "other"),
}
# A bracket part of a path, up to its "]" (quoted text may hold one).
_BRACKET_RE: Final = re.compile(r'(?:"[^"]*"|[^\]"])*\]?')
_PUNCTUATION: Final = {"(": "lparen", ")": "rparen", ",": "comma", "[": "lbrack", "]": "rbrack"}
# What may follow a closing quote or "!=", "<=", ">=" for Segment's lexer (CR is not whitespace).
_SEGMENT_TERMINATORS: Final = frozenset(" \t\n,)]")

_STRING_ROOTS: Final = ("type", "event", "name", "userId")
_OBJECT_ROOTS: Final = ("properties", "traits", "context")
_ORDERING: Final = frozenset({"<", "<=", ">", ">="})
_NUMERIC_OPERATORS: Final = _ORDERING | {"number_equals", "number_not_equals"}
_LONE_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------- lenient scanner


@dataclass(frozen=True, slots=True)
class _Segment:
    raw: str
    value: str
    start: int


@dataclass(frozen=True, slots=True)
class _Tok:
    """A token of our grammar, scanned leniently: the scan never fails.

    ``kind`` is ``word``, ``string``, ``sqstring``, ``number``, ``op``, ``bang``, ``lparen``,
    ``rparen``, ``comma``, ``lbrack``, ``rbrack`` or ``other``.
    """

    kind: str
    start: int
    end: int
    raw: str
    segments: tuple[_Segment, ...] = ()
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
        if text[i] in _SEGMENT_CHARS:
            i += 1
        elif text[i] == "\\":
            i = min(i + 2, n)
        else:
            break
    return i


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: m[1], raw, flags=re.DOTALL)


def _scan_word(text: str, start: int) -> _Tok:
    n = len(text)
    segments: list[_Segment] = []
    bracket = -1
    end = _scan_segment(text, start)
    segments.append(_Segment(text[start:end], _unescape(text[start:end]), start))
    while end < n:
        if (
            text[end] == "."
            and end + 1 < n
            and (text[end + 1] in _SEGMENT_CHARS or text[end + 1] == "\\")
        ):
            seg_end = _scan_segment(text, end + 1)
            raw = text[end + 1 : seg_end]
            segments.append(_Segment(raw, _unescape(raw), end + 1))
            end = seg_end
        elif text[end] == "[":
            # Swallow the whole bracket part so that properties["k"].x is one (bad) path.
            bracket = end if bracket < 0 else bracket
            close = _BRACKET_RE.match(text, end + 1)
            end = close.end() if close else n
        else:
            break
    return _Tok("word", start, end, text[start:end], tuple(segments), bracket)


def _scan(text: str) -> tuple[list[_Tok], list[int]]:
    """Our grammar's tokens, leniently, and the positions of carriage returns between tokens."""
    tokens: list[_Tok] = []
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
            tokens.append(_Tok("string", i, end, text[i:end], closed=j < n))
            i = end
        elif c == "'":
            j = text.find("'", i + 1)
            end = n if j < 0 else j + 1
            tokens.append(_Tok("sqstring", i, end, text[i:end], closed=j >= 0))
            i = end
        elif c in _DIGITS or (c in "+-" and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER_RE.match(text, i)
            assert m is not None
            tokens.append(_Tok("number", i, m.end(), m[0]))
            i = m.end()
        elif c in _WORD_START:
            token = _scan_word(text, i)
            tokens.append(token)
            i = token.end
        elif text[i : i + 2] in _TWO_CHAR:
            tokens.append(_Tok(_TWO_CHAR[text[i : i + 2]], i, i + 2, text[i : i + 2]))
            i += 2
        else:
            kind = "op" if c in "=<>" else "bang" if c == "!" else _PUNCTUATION.get(c, "other")
            tokens.append(_Tok(kind, i, i + 1, c))
            i += 1
    return tokens, carriage_returns


# --------------------------------------------------------------------------- rules


def _show(text: str, limit: int = 60) -> str:
    """A fragment of FQL for a message: control characters visible, long text shortened."""
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


def _string_content(token: _Tok) -> str:
    """Segment's view of a string token's value: everything between the quotes, raw."""
    return token.raw[1:-1] if token.closed else token.raw[1:]


def _our_string_value(token: _Tok) -> str:
    return re.sub(r"\\([\"\\])", lambda m: m[1], _string_content(token))


@dataclass
class _Frame:
    """One nesting level: the top of the text or a parenthesised group."""

    is_group: bool
    operands: int = 0
    # Our conjunctions at this level (glued ones count for our precedence, not for Segment).
    conjunctions: list[_Tok] = field(default_factory=list)
    segment_last: str | None = None
    pending_call: _Tok | None = None  # a call that ended an operand in this group


class _Linter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens, self.carriage_returns = _scan(text)
        self.found: dict[tuple[int, str], str] = {}

    # -- bookkeeping

    def warn(self, code: str, position: int, explanation: str) -> None:
        self.found.setdefault((position, code), f"{code}: {explanation}")

    def warnings(self) -> list[str]:
        keys = sorted(self.found, key=lambda k: (k[0], _CODE_ORDER[k[1]]))
        return [self.found[k] for k in keys]

    def at(self, i: int) -> _Tok | None:
        return self.tokens[i] if 0 <= i < len(self.tokens) else None

    def char_after(self, token: _Tok) -> str | None:
        return self.text[token.end] if token.end < len(self.text) else None

    def is_call(self, i: int) -> bool:
        token, following = self.at(i), self.at(i + 1)
        return (
            token is not None
            and token.is_word("contains", "match")
            and following is not None
            and following.kind == "lparen"
        )

    # -- token-level rules (independent of structure)

    def token_rules(self) -> None:
        for pos in self.carriage_returns:
            self.warn(
                "carriage-return",
                pos,
                f"a carriage return (\\r) at position {pos} outside a string; Segment does not "
                "treat it as whitespace: a parse error, or text swallowed after a string",
            )
        previous: _Tok | None = None
        for token in self.tokens:
            if token.kind == "sqstring":
                self.warn(
                    "single-quotes",
                    token.start,
                    f"{_show(token.raw)} is single-quoted; segmix needs double quotes, and "
                    "Segment keeps the quotes as part of the value (in match() the pattern breaks)",
                )
            elif token.kind == "string":
                self._string_rules(token)
            elif token.kind == "number" and ("e" in token.raw or "E" in token.raw):
                mantissa = re.match(r"[+-]?[0-9.]+", token.raw)
                self.warn(
                    "exponent",
                    token.start,
                    f"{_show(token.raw)} has an exponent; Segment reads only the mantissa "
                    f"{_show(mantissa[0] if mantissa else token.raw)} and ignores the rest; "
                    "write the number out in full",
                )
            elif token.kind == "op":
                self._operator_rules(token, previous)
            elif token.kind == "word":
                self._path_rules(token)
            previous = token

    def _string_rules(self, token: _Tok) -> None:
        content = _string_content(token)
        if "\\" in content:
            if '\\"' in content:
                effect = 'the string ends at the first `"` and what follows is misread'
            else:
                effect = "backslashes are kept literally, so the value differs"
            self.warn(
                "string-escape",
                token.start,
                f"{_show(token.raw)} contains a backslash; Segment has no escapes: {effect}",
            )
        after = self.char_after(token)
        if token.closed and after is not None and after not in _SEGMENT_TERMINATORS:
            self.warn(
                "quote-glued",
                token.end - 1,
                f"the closing quote of {_show(token.raw)} is followed by {_show(after)}; "
                "Segment re-reads that quote as the start of a new string, which swallows the "
                'text up to the next `"`; add a space',
            )

    def _operator_rules(self, token: _Tok, previous: _Tok | None) -> None:
        if token.raw == "==":
            self.warn(
                "double-equals",
                token.start,
                '`==` is not an operator; use `=`. Segment reads `=` compared with the value "="',
            )
            return
        after = self.char_after(token)
        if (
            token.raw in ("!=", "<=", ">=")
            and after is not None
            and after not in _SEGMENT_TERMINATORS
        ):
            if token.raw == "!=":
                effect = f"{_show(token.raw + after)} is a parse error for Segment"
            else:
                effect = (
                    f'Segment reads {_show(token.raw[0])} compared with the value "=" (never true)'
                )
            self.warn(
                "operator-spacing",
                token.start,
                f"{_show(token.raw)} is glued to the value after it; {effect}; add a space",
            )
        elif (
            token.raw in _ORDERING
            and previous is not None
            and previous.kind == "word"
            and previous.end == token.start
        ):
            self.warn(
                "operator-spacing",
                token.start,
                f"{_show(previous.raw + token.raw)}: the operator is glued to the field before "
                "it, which is a parse error for Segment; add a space",
            )

    def _path_rules(self, token: _Tok) -> None:
        if token.bracket >= 0:
            close = self.text.find("]", token.bracket)
            shown = self.text[token.start : close + 1 if close >= 0 else token.end]
            self.warn(
                "bracket-path",
                token.bracket,
                f"{_show(shown)} uses brackets; neither segmix nor Segment supports them (a parse "
                "error for Segment); escape instead, e.g. properties.my\\ key",
            )
        for segment in token.segments[1:]:
            if segment.raw[:1] in _DIGITS or segment.raw[:1] == "-":
                effect = "Segment's lexer reads it as a number and the path turns to junk"
            elif segment.raw in ("and", "or", "null"):
                end = segment.start + len(segment.raw)
                if end == len(self.text) or self.text[end] in _SEGMENT_TERMINATORS:
                    effect = "Segment's lexer reads it as a keyword and the path turns to junk"
                else:
                    effect = "Segment's lexer reads it as a keyword wherever it ends the path"
            else:
                continue
            self.warn(
                "path-segment",
                segment.start,
                f"the path segment {_show(segment.raw)} in {_show(token.raw)} is not escaped; "
                f"{effect}; write {_show(chr(92) + segment.raw)}",
            )
        for m in re.finditer(r"\\.", token.raw, flags=re.DOTALL):
            if m[0] == "\\.":
                self.warn(
                    "escaped-dot",
                    token.start + m.start(),
                    f"{_show(token.raw)} escapes a dot; lookups split names on every dot anyway "
                    "(in Segment and in segmix), so a key containing a dot cannot be addressed",
                )

    # -- structural rules

    def walk(self) -> None:
        """A lenient pass over the token stream, tracking levels, operands and conjunctions."""
        frames = [_Frame(is_group=False)]
        expect_operand = True
        pending: _Tok | None = None  # a conjunction still waiting for its right operand
        i = 0
        while i < len(self.tokens):
            token = self.tokens[i]
            frame = frames[-1]
            if not expect_operand:
                if token.is_word("and", "or"):
                    self._conjunction(frame, token)
                    pending, expect_operand = token, True
                    i += 1
                elif self._is_upper_conjunction(token):
                    self._uppercase(token)
                    pending, expect_operand = token, True
                    i += 1
                elif token.kind == "rparen":
                    i = self._close(frames, i, None)
                elif token.kind == "comma":
                    self._missing_conjunction(token, "a comma is not a conjunction")
                    expect_operand = True
                    i += 1
                elif token.kind in ("word", "bang", "lparen"):
                    following = self.at(i + 1)
                    if (
                        token.kind == "word"
                        and not self.is_call(i)
                        and (following is None or following.kind != "op")
                    ):
                        self._missing_conjunction(token, f"the stray word {_show(token.raw)}")
                        i += 1
                    else:
                        self._missing_conjunction(
                            token, "two conditions have no `and`/`or` between them"
                        )
                        expect_operand = True  # and read the operand
                else:
                    if token.kind in ("string", "sqstring", "number"):
                        self._missing_conjunction(token, f"the stray value {_show(token.raw)}")
                    elif token.kind == "other":
                        # "&&", "|" …: meant as a conjunction; the parse error says what to write.
                        expect_operand = True
                    i += 1
                continue

            if token.is_word("and", "or"):
                what = "a doubled" if pending is not None or frame.operands else "a leading"
                self._missing_conjunction(token, f"{what} {_show(token.raw)}")
                self._conjunction(frame, token)
                pending = token
                i += 1
                continue
            if self._is_upper_conjunction(token):
                self._uppercase(token)
                pending = token
                i += 1
                continue
            if token.kind == "rparen":
                i = self._close(frames, i, pending)
                pending, expect_operand = None, False
                continue
            if token.kind == "comma":
                self._missing_conjunction(token, "a comma is not a conjunction")
                i += 1
                continue
            if token.kind not in ("word", "bang", "lparen"):
                i += 1  # junk; the parse error says what is wrong
                continue

            pending = None
            self._operand_starts(frame)
            call: _Tok | None = None
            if token.kind == "word" and token.raw.lower() == "not":
                self._not_keyword(token)
                i += 1
                continue
            if token.kind == "lparen":
                self._open(frames, token, bang=None)
                i += 1
                continue
            if token.kind == "bang":
                i, call = self._bang(i, frames)
                if call is None:
                    continue
            elif self.is_call(i):
                i, call = self._call(i, bang=None)
            else:
                i = self._condition(i)
            if call is not None and frame.is_group:
                frame.pending_call = call
            frame.operands += 1
            expect_operand = False

        if pending is not None and pending.is_word("and", "or"):
            self._missing_conjunction(pending, f"a trailing {_show(pending.raw)}")
        for frame in reversed(frames):
            self._frame_done(frame)

    @staticmethod
    def _is_upper_conjunction(token: _Tok) -> bool:
        return (
            token.kind == "word"
            and token.raw.lower() in ("and", "or")
            and token.raw not in ("and", "or")
        )

    def _uppercase(self, token: _Tok) -> None:
        self.warn(
            "uppercase-keyword",
            token.start,
            f"{_show(token.raw)} is not a conjunction; write {_show(token.raw.lower())}. "
            "Segment ignores it and joins the conditions with this level's last "
            "lower-case conjunction, or `and`",
        )

    def _not_keyword(self, token: _Tok) -> None:
        self.warn(
            "not-keyword",
            token.start,
            f"{_show(token.raw)} is not an operator in FQL and Segment ignores it; negate with "
            "`!` before contains(), match() or a parenthesised group, or use `!=`",
        )

    def _conjunction(self, frame: _Frame, token: _Tok) -> None:
        frame.conjunctions.append(token)
        after = self.char_after(token)
        if after in ("(", "!"):
            self.warn(
                "missing-conjunction",
                token.start,
                f"{_show(token.raw + after)}: Segment reads a conjunction glued to `{after}` as a "
                "word and ignores it, so the neighbouring conditions join with this level's other "
                "conjunction (or `and`); add a space",
            )
        else:
            frame.segment_last = token.raw

    def _missing_conjunction(self, token: _Tok, what: str) -> None:
        self.warn(
            "missing-conjunction",
            token.start,
            f"{what} (segmix rejects it); Segment ignores it and joins the neighbouring "
            "conditions with this level's conjunction",
        )

    def _operand_starts(self, frame: _Frame) -> None:
        call = frame.pending_call
        if call is not None:
            frame.pending_call = None
            self.warn(
                "function-in-group",
                call.start,
                f"{_show(self.text[call.start : call.end])} is not the last operand of its "
                "parentheses; in Segment the group ends at the call's `)` and the conditions "
                "after it join the outer level (the grouping is lost); put the call last",
            )

    def _open(self, frames: list[_Frame], token: _Tok, bang: _Tok | None) -> None:
        if any(f.is_group for f in frames):
            start = bang.start if bang is not None else token.start
            self.warn(
                "nested-parens",
                start,
                f"{_show(self.text[start : token.end])} opens parentheses inside parentheses; "
                "Segment cannot parse nested groups, so the trigger never matches there",
            )
        frames.append(_Frame(is_group=True))

    def _close(self, frames: list[_Frame], i: int, pending: _Tok | None) -> int:
        if pending is not None and pending.is_word("and", "or"):
            self._missing_conjunction(pending, f"a trailing {_show(pending.raw)}")
        if not frames[-1].is_group:
            self._missing_conjunction(self.tokens[i], "a stray `)`")
            return i + 1
        self._frame_done(frames.pop())
        frames[-1].operands += 1
        return i + 1

    def _frame_done(self, frame: _Frame) -> None:
        kinds = {t.raw for t in frame.conjunctions}
        if len(kinds) < 2:
            return
        first = frame.conjunctions[0].raw
        mixer = next(t for t in frame.conjunctions if t.raw != first)
        last = frame.segment_last or "and"
        self.warn(
            "mixed-and-or",
            mixer.start,
            f"{_show(mixer.raw)} after {_show(first)} at one level without parentheses; segmix "
            f"gives `and` precedence, but Segment has none and joins all the conditions of this "
            f"level with its last conjunction, {_show(last)}; add parentheses",
        )

    def _bang(self, i: int, frames: list[_Frame]) -> tuple[int, _Tok | None]:
        """``!`` in operand position: (next index, the negated call if it was one)."""
        bang = self.tokens[i]
        following = self.at(i + 1)
        if following is None:
            return i + 1, None
        spaced = following.start > bang.end
        if following.kind == "lparen":
            self.warn(
                "negated-group",
                bang.start,
                f"{_show(self.text[bang.start : following.end])}: segmix negates the group, "
                "Segment ignores the `!` (it has no logical NOT)",
            )
            if spaced:
                self._bang_space(bang, following)
            self._open(frames, following, bang=bang)
            return i + 2, None
        if self.is_call(i + 1):
            if spaced:
                self._bang_space(bang, following)
            return self._call(i + 1, bang=bang)
        if following.kind == "word" and following.raw.lower() != "not":
            effect = (
                "with the space after it, a parse error for Segment"
                if spaced
                else "Segment ignores it and reads the plain comparison"
            )
            self.warn(
                "negated-comparison",
                bang.start,
                f"{_show(self.text[bang.start : following.end])}: `!` cannot negate a comparison "
                f"(segmix rejects it; {effect}); use `!=` or !( … )",
            )
        return i + 1, None

    def _bang_space(self, bang: _Tok, following: _Tok) -> None:
        self.warn(
            "bang-space",
            bang.start,
            f"{_show(self.text[bang.start : following.end])} has whitespace after `!`; "
            "Segment cannot parse that; write the `!` right before it",
        )

    def _call(self, i: int, bang: _Tok | None) -> tuple[int, _Tok]:
        """contains(F, v) / match(F, p), leniently: (next index, the whole call as a token)."""
        name = self.tokens[i]
        start = bang.start if bang is not None else name.start
        j = i + 2  # past the "("
        field_token = self.at(j)
        if field_token is not None and field_token.kind == "word":
            self._field_rules(field_token, in_call=True)
            if field_token.root == "type" and len(field_token.segments) == 1:
                self.warn(
                    "function-on-type",
                    start,
                    f"{name.raw}() on `type` works in segmix, but Segment silently drops the "
                    "condition; compare with `=` instead",
                )
            j += 1
        separator = self.at(j)
        if separator is not None and separator.kind == "comma":
            j += 1
        value = self.at(j)
        if value is not None and value.kind in ("string", "sqstring", "number", "word"):
            if value.kind == "word":
                self._unquoted(value)
            elif name.raw == "match":
                self._pattern_rules(value)
            j += 1
        closing = self.at(j)
        if closing is not None and closing.kind == "rparen":
            j += 1
        end = self.tokens[j - 1].end
        return j, _Tok("call", start, end, self.text[start:end])

    def _pattern_rules(self, token: _Tok) -> None:
        if token.kind == "sqstring":
            return  # single-quotes says it all
        if token.kind == "number":
            ours, raw = token.raw, token.raw
        else:
            ours, raw = _our_string_value(token), _string_content(token)
        if "*" not in ours:
            self.warn(
                "match-no-star",
                token.start,
                f"the pattern {_show(token.raw)} has no `*`: segmix compares the whole text, "
                f'Segment reads it as ends_with "{raw[1:]}"',
            )
            return
        starts = ours.endswith("*") and "*" not in ours[:-1]
        ends = len(ours) > 1 and ours.startswith("*") and "*" not in ours[1:]
        if starts or ends:
            return
        if raw.endswith("*"):
            segment = f'starts_with "{raw[:-1]}"'
        else:
            segment = f'ends_with "{raw[1:]}"'
        ours_reading = (
            f'contains "{ours[1:-1]}"'
            if ours.startswith("*") and ours.endswith("*") and "*" not in ours[1:-1]
            else "a whole-text pattern"
        )
        self.warn(
            "match-star-position",
            token.start,
            f"the pattern {_show(token.raw)} has a `*` that is not at just one end: segmix reads "
            f"{ours_reading}, Segment reads {segment} (inner `*` taken literally)",
        )

    def _field_rules(self, token: _Tok, *, in_call: bool) -> None:
        if token.bracket >= 0 or not token.segments:
            return
        root = token.root
        subpath = len(token.segments) > 1
        if root in _STRING_ROOTS and subpath:
            effect = "drops the call" if in_call else f"reads the plain field {_show(root)}"
            self.warn(
                "field-subpath",
                token.start,
                f"{_show(token.raw)}: {_show(root)} has no sub-fields (segmix rejects it); "
                f"Segment {effect}",
            )
        elif root in _OBJECT_ROOTS and not subpath:
            self.warn(
                "bare-object-field",
                token.start,
                f"{_show(token.raw)} needs a key, e.g. {root}.plan (segmix rejects it); Segment "
                f"reads the key {_show(root)} inside it ({root}.{root})",
            )
        elif (
            root not in _STRING_ROOTS
            and root not in _OBJECT_ROOTS
            and token.raw
            not in (
                "and",
                "or",
                "true",
                "false",
                "null",
                "contains",
                "match",
            )
        ):
            self.warn(
                "unsupported-field",
                token.start,
                f"{_show(token.raw)} is not a field Segment supports (only type, event, name, "
                "userId, properties.*, traits.* and context.*); segmix evaluates it, Segment "
                "silently drops the condition (and fails if nothing remains)",
            )

    def _unquoted(self, token: _Tok) -> None:
        self.warn(
            "unquoted-value",
            token.start,
            f"the value {_show(token.raw)} is not quoted (segmix rejects it); Segment reads it as "
            f'the text "{_unescape(token.raw)}"; write "{_unescape(token.raw)}"',
        )

    def _condition(self, i: int) -> int:
        """F op value, leniently. Returns the index after it."""
        field_token = self.tokens[i]
        operator = self.at(i + 1)
        value = self.at(i + 2)
        if operator is None or operator.kind != "op":
            self._field_rules(field_token, in_call=False)
            self._missing_operator(field_token)
            # Take a value written without an operator ("type "x"") along with the field.
            if operator is not None and operator.kind in ("string", "sqstring", "number"):
                return i + 2
            return i + 1
        self._field_rules(field_token, in_call=False)
        if value is None or not (
            value.kind in ("string", "sqstring", "number")
            or (value.kind == "word" and not value.is_word("and", "or"))
        ):
            self._missing_operator(field_token)
            return i + 2
        if value.kind == "word" and not value.is_word("true", "false", "null"):
            self._unquoted(value)
        else:
            self._value_rules(field_token, operator, value)
        return i + 3

    def _missing_operator(self, token: _Tok) -> None:
        self.warn(
            "missing-operator",
            token.start,
            f"{_show(token.raw)} is not followed by an operator and a value (segmix rejects it); "
            "Segment takes the next two tokens, whatever they are, as the operator and the value",
        )

    def _value_rules(self, field_token: _Tok, operator: _Tok, value: _Tok) -> None:
        op = operator.raw
        root = field_token.root
        plain = len(field_token.segments) == 1 and field_token.bracket < 0
        condition = self.text[field_token.start : value.end]
        if op == "!=" and value.is_word("true", "false"):
            self.warn(
                "not-equals-boolean",
                operator.start,
                f"{_show(condition)} is not supported (segmix rejects it); Segment compares it "
                f'as the text "{value.raw}", so it matches real booleans and missing fields; use '
                f"!({field_token.raw} = {value.raw}) or {field_token.raw} = "
                f"{'false' if value.raw == 'true' else 'true'}",
            )
        if op in _ORDERING and (
            value.kind in ("string", "sqstring") or value.is_word("true", "false", "null")
        ):
            self._ordering_value(field_token, operator, value)
        if not plain or op not in ("=", "!="):
            return
        if root in ("type", "event") and value.is_word("null"):
            self.warn(
                "null-as-text",
                value.start,
                f'{_show(condition)} compares with the text "null" (in Segment too); `{root}` has '
                f"no existence test; write {_show(f'{root} {op} ' + chr(34) + 'null' + chr(34))} "
                "to say so",
            )
        elif root in ("type", "event", "name") and op == "=" and value.is_word("true", "false"):
            self.warn(
                "boolean-as-text",
                value.start,
                f'{_show(condition)} compares with the text "{value.raw}" (in Segment too), not '
                f"with a boolean; write {_show(f'{root} = ' + chr(34) + value.raw + chr(34))} "
                "to say so",
            )
        elif root in _STRING_ROOTS and value.kind == "number":
            text = js_number_to_string(js_to_number(value.raw))
            self.warn(
                "number-as-text",
                value.start,
                f'{_show(condition)} compares with the text "{text}" (in Segment too): it never '
                f"matches a JSON number; write {_show(f'{root} {op} ' + chr(34) + text + chr(34))}",
            )

    def _ordering_value(self, field_token: _Tok, operator: _Tok, value: _Tok) -> None:
        if value.kind in ("string", "sqstring"):
            text = _string_content(value) if value.kind == "string" else value.raw
            shown = f'Number("{text}")'
            number = js_to_number(text)
        elif value.is_word("null"):
            shown, number = 'Number("null")', math.nan
        elif field_token.root in _STRING_ROOTS:
            shown, number = f'Number("{value.raw}")', math.nan
        else:
            shown, number = f"Number({value.raw})", 1.0 if value.raw == "true" else 0.0
        if math.isnan(number):
            effect = "NaN, so the condition is never true"
        elif value.kind == "word":
            effect = js_number_to_string(number)
        else:
            effect = f"{js_number_to_string(number)}; write the number without quotes"
        self.warn(
            "ordering-value",
            value.start,
            f"{_show(operator.raw)} needs a number, got {_show(value.raw)}; Segment uses "
            f"{shown}, which is {effect}",
        )


# --------------------------------------------------------------------------- summary


def _value_key(operator: str, value: Any) -> tuple[Any, ...]:
    if operator in _NUMERIC_OPERATORS:
        number = js_to_number(value)
        return ("number", "NaN" if math.isnan(number) else number)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", "NaN" if math.isnan(value) else float(value))
    return ("str", value)


def norm(ast: Any) -> Any:
    """A comparable form of a Segment-shaped AST (spec §2.8.1 step 5).

    One-child groups collapse, a child group with its parent's operator merges into it, children
    keep their order. Values compare by type and value, except that ordering and ``number_*``
    operators compare ``js_to_number`` of the value (NaN equals NaN here).

    >>> norm({"type": "group", "operator": "and", "children": [
    ...     {"type": "event-property", "name": "n", "operator": ">", "value": "5"}]})
    ('condition', 'event-property', 'n', '>', ('number', 5.0))
    """
    kind = ast.get("type")
    if kind == "group":
        children: list[Any] = []
        for child in ast["children"]:
            normal = norm(child)
            if normal[0] == "group" and normal[1] == ast["operator"]:
                children.extend(normal[2])
            else:
                children.append(normal)
        if len(children) == 1:
            return children[0]
        return ("group", ast["operator"], tuple(children))
    if kind == "not":
        return ("not", norm(ast["child"]))
    operator = ast.get("operator")
    value = _value_key(operator, ast["value"]) if "value" in ast else ("none",)
    return ("condition", kind, ast.get("name"), operator, value)


def _summary(text: str) -> tuple[str | None, str | None]:
    """(our parse error line, Segment summary line)."""
    ours: Any = None
    error_line: str | None = None
    try:
        ours = fql.parse(text)
    except fql.FqlError as error:
        error_line = f"parse-error: {error}"
    except Exception as error:  # never raise from lint
        error_line = f"parse-error: {error}"
    segment = read(text)
    if error_line is None:
        if isinstance(segment, SegmentParseError) or is_broken(segment):
            return (
                None,
                "segment-reading: Segment cannot parse this trigger, so it would never match",
            )
        if norm(fql.to_ast(ours)) != norm(segment):
            return None, f"segment-reading: Segment reads this trigger as: {generate(segment)}"
        return None, None
    if isinstance(segment, SegmentParseError) or is_broken(segment):
        return error_line, None
    return (
        error_line,
        f"segment-reading: Segment accepts this trigger and reads it as: {generate(segment)}",
    )


def lint(text: str) -> list[str]:
    """Warnings about ``text`` as an FQL trigger; ``[]`` when Segment reads it as we do and no
    quirk applies. Never raises.

    Order: ``parse-error: …`` (our grammar rejects the text), then ``<code>: …`` quirks (§2.8.2)
    by position, then one ``segment-reading: …`` summary when Segment's reading differs.

    >>> lint('type = "track" or type = "page" and event = "x"')[0][:13]
    'mixed-and-or:'
    """
    if not isinstance(text, str):
        return [f"parse-error: FQL must be a str, not {type(text).__name__} (at position 0)"]
    try:
        error_line, summary = _summary(text)
    except Exception:  # a bug here must not take the console down; the quirks still help
        error_line, summary = None, None
    quirks: list[str] = []
    try:
        linter = _Linter(text)
        linter.token_rules()
        linter.walk()
        quirks = linter.warnings()
    except Exception:
        quirks = []
    lines = ([error_line] if error_line else []) + quirks + ([summary] if summary else [])
    # A lone surrogate (Segment slices UTF-16) cannot be encoded for display.
    return [_LONE_SURROGATE_RE.sub("\ufffd", line) for line in lines]
