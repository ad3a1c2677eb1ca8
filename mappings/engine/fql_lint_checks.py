"""FQL lint's local checks: the rules that look at one token or one operand (spec §2.8.2).

:class:`Checks` scans the text (:mod:`.fql_lint_scan`), keeps the warnings found, and holds
the token-level rules and the rules for a single condition or ``contains()``/``match()`` call.
The structural rules (levels, groups, conjunctions), the order of the warnings and
:func:`~.fql_lint.lint` itself are in :mod:`.fql_lint`, whose ``_Linter`` builds on this class.
"""

from __future__ import annotations

import math
import re
from typing import Final

from .fql_lexer import DIGITS
from .fql_lint_scan import Token, scan, unescape
from .fql_segment_lexer import TERMINATORS as SEGMENT_TERMINATORS
from .jsvalues import js_number_to_string, js_to_number

_STRING_ROOTS: Final = ("type", "event", "name", "userId")
_OBJECT_ROOTS: Final = ("properties", "traits", "context")
ORDERING: Final = frozenset({"<", "<=", ">", ">="})


# --------------------------------------------------------------------------- rules


def show(text: str, limit: int = 60) -> str:
    """A fragment of FQL for a message: control characters visible, long text shortened."""
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


def _string_content(token: Token) -> str:
    """Segment's view of a string token's value: everything between the quotes, raw."""
    return token.raw[1:-1] if token.closed else token.raw[1:]


def _our_string_value(token: Token) -> str:
    return re.sub(r"\\([\"\\])", lambda m: m[1], _string_content(token))


class Checks:
    """The text scanned once (``tokens``), the warnings found so far (``found``, keyed by
    position and rule), and the rules for one token or one operand: :meth:`call` and
    :meth:`condition` read an operand from token ``i`` and return the index after it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens, self.carriage_returns = scan(text)
        self.found: dict[tuple[int, str], str] = {}

    # -- bookkeeping

    def warn(self, code: str, position: int, explanation: str) -> None:
        self.found.setdefault((position, code), f"{code}: {explanation}")

    def at(self, i: int) -> Token | None:
        return self.tokens[i] if 0 <= i < len(self.tokens) else None

    def char_after(self, token: Token) -> str | None:
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
        previous: Token | None = None
        for token in self.tokens:
            if token.kind == "sqstring":
                self.warn(
                    "single-quotes",
                    token.start,
                    f"{show(token.raw)} is single-quoted; segmix needs double quotes, and "
                    "Segment keeps the quotes as part of the value (in match() the pattern breaks)",
                )
            elif token.kind == "string":
                self._string_rules(token)
            elif token.kind == "number" and ("e" in token.raw or "E" in token.raw):
                mantissa = re.match(r"[+-]?[0-9.]+", token.raw)
                self.warn(
                    "exponent",
                    token.start,
                    f"{show(token.raw)} has an exponent; Segment reads only the mantissa "
                    f"{show(mantissa[0] if mantissa else token.raw)} and ignores the rest; "
                    "write the number out in full",
                )
            elif token.kind == "op":
                self._operator_rules(token, previous)
            elif token.kind == "word":
                self._path_rules(token)
            previous = token

    def _string_rules(self, token: Token) -> None:
        content = _string_content(token)
        if "\\" in content:
            if '\\"' in content:
                effect = 'the string ends at the first `"` and what follows is misread'
            else:
                effect = "backslashes are kept literally, so the value differs"
            self.warn(
                "string-escape",
                token.start,
                f"{show(token.raw)} contains a backslash; Segment has no escapes: {effect}",
            )
        after = self.char_after(token)
        if token.closed and after is not None and after not in SEGMENT_TERMINATORS:
            self.warn(
                "quote-glued",
                token.end - 1,
                f"the closing quote of {show(token.raw)} is followed by {show(after)}; "
                "Segment re-reads that quote as the start of a new string, which swallows the "
                'text up to the next `"`; add a space',
            )

    def _operator_rules(self, token: Token, previous: Token | None) -> None:
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
            and after not in SEGMENT_TERMINATORS
        ):
            if token.raw == "!=":
                effect = f"{show(token.raw + after)} is a parse error for Segment"
            else:
                effect = (
                    f'Segment reads {show(token.raw[0])} compared with the value "=" (never true)'
                )
            self.warn(
                "operator-spacing",
                token.start,
                f"{show(token.raw)} is glued to the value after it; {effect}; add a space",
            )
        elif (
            token.raw in ORDERING
            and previous is not None
            and previous.kind == "word"
            and previous.end == token.start
        ):
            self.warn(
                "operator-spacing",
                token.start,
                f"{show(previous.raw + token.raw)}: the operator is glued to the field before "
                "it, which is a parse error for Segment; add a space",
            )

    def _path_rules(self, token: Token) -> None:
        if token.bracket >= 0:
            close = self.text.find("]", token.bracket)
            shown = self.text[token.start : close + 1 if close >= 0 else token.end]
            self.warn(
                "bracket-path",
                token.bracket,
                f"{show(shown)} uses brackets; neither segmix nor Segment supports them (a parse "
                "error for Segment); escape instead, e.g. properties.my\\ key",
            )
        for segment in token.segments[1:]:
            if segment.raw[:1] in DIGITS or segment.raw[:1] == "-":
                effect = "Segment's lexer reads it as a number and the path turns to junk"
            elif segment.raw in ("and", "or", "null"):
                end = segment.start + len(segment.raw)
                if end == len(self.text) or self.text[end] in SEGMENT_TERMINATORS:
                    effect = "Segment's lexer reads it as a keyword and the path turns to junk"
                else:
                    effect = "Segment's lexer reads it as a keyword wherever it ends the path"
            else:
                continue
            self.warn(
                "path-segment",
                segment.start,
                f"the path segment {show(segment.raw)} in {show(token.raw)} is not escaped; "
                f"{effect}; write {show(chr(92) + segment.raw)}",
            )
        for m in re.finditer(r"\\.", token.raw, flags=re.DOTALL):
            if m[0] == "\\.":
                self.warn(
                    "escaped-dot",
                    token.start + m.start(),
                    f"{show(token.raw)} escapes a dot; lookups split names on every dot anyway "
                    "(in Segment and in segmix), so a key containing a dot cannot be addressed",
                )

    # -- operand rules (one condition or call)

    def call(self, i: int, bang: Token | None) -> tuple[int, Token]:
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
        return j, Token("call", start, end, self.text[start:end])

    def _pattern_rules(self, token: Token) -> None:
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
                f"the pattern {show(token.raw)} has no `*`: segmix compares the whole text, "
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
            f"the pattern {show(token.raw)} has a `*` that is not at just one end: segmix reads "
            f"{ours_reading}, Segment reads {segment} (inner `*` taken literally)",
        )

    def _field_rules(self, token: Token, *, in_call: bool) -> None:
        if token.bracket >= 0 or not token.segments:
            return
        root = token.root
        subpath = len(token.segments) > 1
        if root in _STRING_ROOTS and subpath:
            effect = "drops the call" if in_call else f"reads the plain field {show(root)}"
            self.warn(
                "field-subpath",
                token.start,
                f"{show(token.raw)}: {show(root)} has no sub-fields (segmix rejects it); "
                f"Segment {effect}",
            )
        elif root in _OBJECT_ROOTS and not subpath:
            self.warn(
                "bare-object-field",
                token.start,
                f"{show(token.raw)} needs a key, e.g. {root}.plan (segmix rejects it); Segment "
                f"reads the key {show(root)} inside it ({root}.{root})",
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
                f"{show(token.raw)} is not a field Segment supports (only type, event, name, "
                "userId, properties.*, traits.* and context.*); segmix evaluates it, Segment "
                "silently drops the condition (and fails if nothing remains)",
            )

    def _unquoted(self, token: Token) -> None:
        self.warn(
            "unquoted-value",
            token.start,
            f"the value {show(token.raw)} is not quoted (segmix rejects it); Segment reads it as "
            f'the text "{unescape(token.raw)}"; write "{unescape(token.raw)}"',
        )

    def condition(self, i: int) -> int:
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

    def _missing_operator(self, token: Token) -> None:
        self.warn(
            "missing-operator",
            token.start,
            f"{show(token.raw)} is not followed by an operator and a value (segmix rejects it); "
            "Segment takes the next two tokens, whatever they are, as the operator and the value",
        )

    def _value_rules(self, field_token: Token, operator: Token, value: Token) -> None:
        op = operator.raw
        root = field_token.root
        plain = len(field_token.segments) == 1 and field_token.bracket < 0
        condition = self.text[field_token.start : value.end]
        if op == "!=" and value.is_word("true", "false"):
            self.warn(
                "not-equals-boolean",
                operator.start,
                f"{show(condition)} is not supported (segmix rejects it); Segment compares it "
                f'as the text "{value.raw}", so it matches real booleans and missing fields; use '
                f"!({field_token.raw} = {value.raw}) or {field_token.raw} = "
                f"{'false' if value.raw == 'true' else 'true'}",
            )
        if op in ORDERING and (
            value.kind in ("string", "sqstring") or value.is_word("true", "false", "null")
        ):
            self._ordering_value(field_token, operator, value)
        if not plain or op not in ("=", "!="):
            return
        if root in ("type", "event") and value.is_word("null"):
            self.warn(
                "null-as-text",
                value.start,
                f'{show(condition)} compares with the text "null" (in Segment too); `{root}` has '
                f"no existence test; write {show(f'{root} {op} ' + chr(34) + 'null' + chr(34))} "
                "to say so",
            )
        elif root in ("type", "event", "name") and op == "=" and value.is_word("true", "false"):
            self.warn(
                "boolean-as-text",
                value.start,
                f'{show(condition)} compares with the text "{value.raw}" (in Segment too), not '
                f"with a boolean; write {show(f'{root} = ' + chr(34) + value.raw + chr(34))} "
                "to say so",
            )
        elif root in _STRING_ROOTS and value.kind == "number":
            text = js_number_to_string(js_to_number(value.raw))
            self.warn(
                "number-as-text",
                value.start,
                f'{show(condition)} compares with the text "{text}" (in Segment too): it never '
                f"matches a JSON number; write {show(f'{root} {op} ' + chr(34) + text + chr(34))}",
            )

    def _ordering_value(self, field_token: Token, operator: Token, value: Token) -> None:
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
            f"{show(operator.raw)} needs a number, got {show(value.raw)}; Segment uses "
            f"{shown}, which is {effect}",
        )
