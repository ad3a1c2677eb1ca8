"""FQL lint: what Segment would have understood from a trigger (spec §2.8).

:func:`lint` parses the text with our grammar and reads it with the Segment reader
(:mod:`.fql_segment`), then reports:

1. ``parse-error: …`` when our grammar rejects the text;
2. one ``<code>: <explanation>`` per quirk (§2.8.2), in position order, at most one per code and
   position. Rules work from a lenient scan of the raw text, so they also fire when our parse
   failed;
3. a ``segment-reading: …`` summary when Segment's reading differs from ours.

Console-only: nothing here runs on the delivery path.

Implementation map: :mod:`.fql_lint_scan` (the lenient scanner), :mod:`.fql_lint_checks`
(bookkeeping, token-level and operand rules); this module holds the quirk table, the
structural rules (levels, groups, conjunctions), the Segment-reading summary and :func:`lint`.

>>> lint('type = "track" and event != "Order Completed"')
[]
>>> lint("type = identify")[0]
'parse-error: unquoted value "identify"; write "identify" in double quotes (at position 7)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from . import fql
from .fql_lint_checks import ORDERING, Checks, show
from .fql_lint_scan import Token
from .fql_segment import SegmentParseError, generate, is_broken, read
from .jsvalues import SURROGATE, js_to_number

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

_NUMERIC_OPERATORS: Final = ORDERING | {"number_equals", "number_not_equals"}


# --------------------------------------------------------------------------- structural rules


@dataclass
class _Frame:
    """One nesting level: the top of the text or a parenthesised group."""

    is_group: bool
    operands: int = 0
    # Our conjunctions at this level (glued ones count for our precedence, not for Segment).
    conjunctions: list[Token] = field(default_factory=list)
    segment_last: str | None = None
    pending_call: Token | None = None  # a call that ended an operand in this group


class _Linter(Checks):
    # -- bookkeeping

    def warnings(self) -> list[str]:
        keys = sorted(self.found, key=lambda k: (k[0], _CODE_ORDER[k[1]]))
        return [self.found[k] for k in keys]

    # -- structural rules

    def walk(self) -> None:
        """A lenient pass over the token stream, tracking levels, operands and conjunctions."""
        frames = [_Frame(is_group=False)]
        expect_operand = True
        pending: Token | None = None  # a conjunction still waiting for its right operand
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
                        self._missing_conjunction(token, f"the stray word {show(token.raw)}")
                        i += 1
                    else:
                        self._missing_conjunction(
                            token, "two conditions have no `and`/`or` between them"
                        )
                        expect_operand = True  # and read the operand
                else:
                    if token.kind in ("string", "sqstring", "number"):
                        self._missing_conjunction(token, f"the stray value {show(token.raw)}")
                    elif token.kind == "other":
                        # "&&", "|" …: meant as a conjunction; the parse error says what to write.
                        expect_operand = True
                    i += 1
                continue

            if token.is_word("and", "or"):
                what = "a doubled" if pending is not None or frame.operands else "a leading"
                self._missing_conjunction(token, f"{what} {show(token.raw)}")
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
            call: Token | None = None
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
                i, call = self.call(i, bang=None)
            else:
                i = self.condition(i)
            if call is not None and frame.is_group:
                frame.pending_call = call
            frame.operands += 1
            expect_operand = False

        if pending is not None and pending.is_word("and", "or"):
            self._missing_conjunction(pending, f"a trailing {show(pending.raw)}")
        for frame in reversed(frames):
            self._frame_done(frame)

    @staticmethod
    def _is_upper_conjunction(token: Token) -> bool:
        return (
            token.kind == "word"
            and token.raw.lower() in ("and", "or")
            and token.raw not in ("and", "or")
        )

    def _uppercase(self, token: Token) -> None:
        self.warn(
            "uppercase-keyword",
            token.start,
            f"{show(token.raw)} is not a conjunction; write {show(token.raw.lower())}. "
            "Segment ignores it and joins the conditions with this level's last "
            "lower-case conjunction, or `and`",
        )

    def _not_keyword(self, token: Token) -> None:
        self.warn(
            "not-keyword",
            token.start,
            f"{show(token.raw)} is not an operator in FQL and Segment ignores it; negate with "
            "`!` before contains(), match() or a parenthesised group, or use `!=`",
        )

    def _conjunction(self, frame: _Frame, token: Token) -> None:
        frame.conjunctions.append(token)
        after = self.char_after(token)
        if after in ("(", "!"):
            self.warn(
                "missing-conjunction",
                token.start,
                f"{show(token.raw + after)}: Segment reads a conjunction glued to `{after}` as a "
                "word and ignores it, so the neighbouring conditions join with this level's other "
                "conjunction (or `and`); add a space",
            )
        else:
            frame.segment_last = token.raw

    def _missing_conjunction(self, token: Token, what: str) -> None:
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
                f"{show(self.text[call.start : call.end])} is not the last operand of its "
                "parentheses; in Segment the group ends at the call's `)` and the conditions "
                "after it join the outer level (the grouping is lost); put the call last",
            )

    def _open(self, frames: list[_Frame], token: Token, bang: Token | None) -> None:
        if any(f.is_group for f in frames):
            start = bang.start if bang is not None else token.start
            self.warn(
                "nested-parens",
                start,
                f"{show(self.text[start : token.end])} opens parentheses inside parentheses; "
                "Segment cannot parse nested groups, so the trigger never matches there",
            )
        frames.append(_Frame(is_group=True))

    def _close(self, frames: list[_Frame], i: int, pending: Token | None) -> int:
        if pending is not None and pending.is_word("and", "or"):
            self._missing_conjunction(pending, f"a trailing {show(pending.raw)}")
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
            f"{show(mixer.raw)} after {show(first)} at one level without parentheses; segmix "
            f"gives `and` precedence, but Segment has none and joins all the conditions of this "
            f"level with its last conjunction, {show(last)}; add parentheses",
        )

    def _bang(self, i: int, frames: list[_Frame]) -> tuple[int, Token | None]:
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
                f"{show(self.text[bang.start : following.end])}: segmix negates the group, "
                "Segment ignores the `!` (it has no logical NOT)",
            )
            if spaced:
                self._bang_space(bang, following)
            self._open(frames, following, bang=bang)
            return i + 2, None
        if self.is_call(i + 1):
            if spaced:
                self._bang_space(bang, following)
            return self.call(i + 1, bang=bang)
        if following.kind == "word" and following.raw.lower() != "not":
            effect = (
                "with the space after it, a parse error for Segment"
                if spaced
                else "Segment ignores it and reads the plain comparison"
            )
            self.warn(
                "negated-comparison",
                bang.start,
                f"{show(self.text[bang.start : following.end])}: `!` cannot negate a comparison "
                f"(segmix rejects it; {effect}); use `!=` or !( … )",
            )
        return i + 1, None

    def _bang_space(self, bang: Token, following: Token) -> None:
        self.warn(
            "bang-space",
            bang.start,
            f"{show(self.text[bang.start : following.end])} has whitespace after `!`; "
            "Segment cannot parse that; write the `!` right before it",
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
    return [SURROGATE.sub("\ufffd", line) for line in lines]
