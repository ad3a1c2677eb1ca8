"""FQL lint (spec §2.8): one test or more per quirk code, the summary lines, clean cases, and the
property that Segment-expressible trees print to warning-free FQL.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.engine import fql
from mappings.engine.fql_lint import CODES, lint, norm

PRESETS = [
    'type = "track" and event != "Order Completed"',
    'type = "track" and event = "Order Completed"',
    'type = "page"',
    'type = "screen"',
    'type = "identify"',
    'type = "group"',
]


def codes(text: str) -> list[str]:
    return [line.split(":", 1)[0] for line in lint(text)]


def warning(text: str, code: str) -> str:
    """The one warning with ``code`` for ``text``."""
    found = [line for line in lint(text) if line.startswith(code + ": ")]
    assert len(found) == 1, f"{code} for {text!r}: {lint(text)}"
    return found[0]


def summary(text: str) -> str | None:
    found = [line for line in lint(text) if line.startswith("segment-reading: ")]
    assert len(found) <= 1
    return found[0] if found else None


# --------------------------------------------------------------------------- clean


@pytest.mark.parametrize("text", PRESETS)
def test_mixpanel_presets_lint_clean(text):
    assert lint(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "properties.seats > 3",
        "traits.beta = true",
        "userId != null",
        "name = null",
        'contains(event, "Order")',
        '!contains(properties.plan, "pro")',
        'match(event, "Order*")',
        'match(event, "*ed")',
        'match(event, "*")',
        'type = "track" and (event = "Order Completed" or event = "Signed Up")',
        'properties.x != "a" or (properties.y = 1 and contains(name, "q"))',
        'properties.my\\ key = "x"',
        'properties.items.\\0.sku = "A1"',
        "context.traits.x = -1.5",
        'userId = "42"',
        'type = "null"',
        "type > 5",
        '(type = "a" or type = "b")\tand\nevent = "c"',
    ],
)
def test_canonical_segment_fql_lints_clean(text):
    assert lint(text) == []


def test_lint_never_raises():
    for text in ["", "   ", "(", ")", '"', "'", "\\", "!", "!!", "((((", "\r", "a\\", "\x00", "é"]:
        assert isinstance(lint(text), list)
    assert lint(None) == [  # type: ignore[arg-type]
        "parse-error: FQL must be a str, not NoneType (at position 0)"
    ]


def test_fql_module_delegates_to_the_linter():
    assert fql.lint("type = identify") == lint("type = identify")


# --------------------------------------------------------------------------- summary lines


def test_summary_when_both_parse_but_read_differently():
    assert lint('type = "a" or event = "b" and userId = "c"')[-1] == (
        'segment-reading: Segment reads this trigger as: type = "a" and event = "b" and userId = "c"'
    )


def test_summary_when_only_we_parse():
    assert lint("properties.seats>9")[-1] == (
        "segment-reading: Segment cannot parse this trigger, so it would never match"
    )


def test_summary_when_only_segment_parses():
    lines = lint("type = identify")
    assert lines[0] == (
        'parse-error: unquoted value "identify"; write "identify" in double quotes (at position 7)'
    )
    assert lines[-1] == (
        'segment-reading: Segment accepts this trigger and reads it as: type = "identify"'
    )


def test_no_summary_when_both_fail():
    lines = lint('properties["k"] = 1')
    assert lines[0].startswith("parse-error: ")
    assert summary('properties["k"] = 1') is None


def test_an_empty_group_counts_as_segment_cannot_parse():
    assert summary('type = "a" and ()') is None  # we reject it too
    assert lint('type = "a" and ()')[0].startswith("parse-error: ")


def test_warnings_come_in_position_order_after_the_parse_error():
    lines = lint("type = 'a' AND event == \"b\"")
    assert [line.split(":", 1)[0] for line in lines] == [
        "parse-error",
        "single-quotes",
        "uppercase-keyword",
        "double-equals",
        "segment-reading",
    ]


def test_at_most_one_warning_per_code_and_position():
    text = '(type = "a" and)'
    assert codes(text).count("missing-conjunction") == 1


def test_norm_flattens_and_compares_numbers_by_value():
    nested = {
        "type": "group",
        "operator": "and",
        "children": [
            {
                "type": "group",
                "operator": "and",
                "children": [{"type": "event", "operator": "=", "value": "a"}],
            },
            {"type": "event-property", "name": "n", "operator": ">", "value": "5"},
        ],
    }
    flat = {
        "type": "group",
        "operator": "and",
        "children": [
            {"type": "event", "operator": "=", "value": "a"},
            {"type": "event-property", "name": "n", "operator": ">", "value": 5.0},
        ],
    }
    assert norm(nested) == norm(flat)
    bool_value = {"type": "event-property", "name": "n", "operator": "!=", "value": True}
    str_value = {"type": "event-property", "name": "n", "operator": "!=", "value": "true"}
    assert norm(bool_value) != norm(str_value)


# --------------------------------------------------------------------------- quirk codes


def test_every_code_has_a_test():
    with open(__file__, encoding="utf-8") as handle:
        source = handle.read()
    assert [c for c in CODES if f'"{c}"' not in source] == []


def test_mixed_and_or():
    text = 'type = "a" or type = "b" and event = "c"'
    line = warning(text, "mixed-and-or")
    assert "`and` after `or`" in line and "last conjunction, `and`" in line
    assert summary(text) is not None
    # Parenthesised: fine.
    assert lint('type = "a" or (type = "b" and event = "c")') == []


def test_nested_parens():
    assert "`(`" in warning('((type = "a"))', "nested-parens")
    line = warning('(type = "a" and !(event = "b"))', "nested-parens")
    assert "`!(`" in line
    assert summary('((type = "a"))') == (
        "segment-reading: Segment cannot parse this trigger, so it would never match"
    )


def test_function_in_group():
    text = '(contains(event, "x") or type = "y") and name = "z"'
    assert '`contains(event, "x")`' in warning(text, "function-in-group")
    assert summary(text) is not None
    assert "function-in-group" not in codes('(type = "y" or contains(event, "x")) and name = "z"')


def test_negated_group():
    assert "`!(`" in warning('!(type = "x")', "negated-group")
    assert summary('!(type = "x")') == 'segment-reading: Segment reads this trigger as: type = "x"'


def test_negated_comparison():
    assert "`!type`" in warning('!type = "x"', "negated-comparison")
    assert "parse error" in warning('! type = "x"', "negated-comparison")


def test_bang_space():
    assert "`! contains`" in warning('! contains(event, "x")', "bang-space")
    assert "`! (`" in warning('! (type = "x")', "bang-space")
    assert "bang-space" not in codes('!contains(event, "x")')


def test_match_no_star():
    line = warning('match(event, "Plan")', "match-no-star")
    assert '`"Plan"`' in line and 'ends_with "lan"' in line
    assert "match-no-star" in codes("match(event, 5)")


def test_match_star_position():
    line = warning('match(event, "Plan*Won")', "match-star-position")
    assert '`"Plan*Won"`' in line and 'ends_with "lan*Won"' in line
    assert 'starts_with "*v"' in warning('match(event, "*v*")', "match-star-position")
    assert "match-star-position" in codes('match(event, "**")')
    assert "match-star-position" not in codes('match(event, "v*")')


def test_single_quotes():
    assert "`'pro'`" in warning("type = 'pro'", "single-quotes")
    assert summary("type = 'pro'") == (
        "segment-reading: Segment accepts this trigger and reads it as: type = \"'pro'\""
    )


def test_string_escape():
    assert '`"a\\"b"`' in warning('type = "a\\"b"', "string-escape")
    assert "literally" in warning('type = "a\\\\b"', "string-escape")
    assert "string-escape" in codes('type = "a\\nb"')  # our parse error, still explained


def test_quote_glued():
    line = warning('type = "a"and event = "b"', "quote-glued")
    assert '`"a"`' in line and "`a`" in line
    assert "quote-glued" in codes('type = "a""b"')
    assert "quote-glued" not in codes('contains(event, "a")')


def test_carriage_return():
    text = 'type = "a"\r\nand event = "b"'
    assert "position 10" in warning(text, "carriage-return")
    assert "carriage-return" not in codes('type = "a\rb"')  # inside a string: fine


def test_unquoted_value():
    assert "`identify`" in warning("type = identify", "unquoted-value")
    assert "`foo`" in warning("contains(event, foo)", "unquoted-value")


def test_double_equals():
    assert "`==`" in warning('type == "x"', "double-equals")


def test_operator_spacing():
    assert "`properties.seats>`" in warning("properties.seats>9", "operator-spacing")
    assert "`>=`" in warning("properties.seats >=9", "operator-spacing")
    assert '`!="`' in warning('type !="x"', "operator-spacing")
    assert "operator-spacing" not in codes("properties.seats >9")
    assert "operator-spacing" not in codes('type!= "x"')


def test_exponent():
    line = warning("properties.x = 2e3", "exponent")
    assert "`2e3`" in line and "`2`" in line
    assert summary("properties.x = 2e3") == (
        "segment-reading: Segment reads this trigger as: properties.x = 2"
    )


def test_uppercase_keyword():
    assert "`AND`" in warning('type = "a" AND event = "b"', "uppercase-keyword")
    assert "`Or`" in warning('type = "a" Or event = "b"', "uppercase-keyword")


def test_not_keyword():
    assert "`not`" in warning('not type = "a"', "not-keyword")
    assert "`NOT`" in warning('type = "a" and NOT contains(event, "x")', "not-keyword")


def test_missing_conjunction():
    assert "two conditions" in warning('type = "a" event = "b"', "missing-conjunction")
    assert "comma" in warning('type = "a", event = "b"', "missing-conjunction")
    assert "leading `and`" in warning('and type = "a"', "missing-conjunction")
    assert "trailing `and`" in warning('type = "a" and', "missing-conjunction")
    assert "stray word `foo`" in warning('type = "a" foo', "missing-conjunction")
    assert "stray `)`" in warning('type = "a")', "missing-conjunction")
    glued = 'type = "a" or(event = "b")'
    assert "`or(`" in warning(glued, "missing-conjunction")
    assert not lint(glued)[0].startswith("parse-error")  # ours parses the glued form
    assert summary(glued) == (
        'segment-reading: Segment reads this trigger as: type = "a" and event = "b"'
    )


def test_missing_operator():
    assert "`type`" in warning('type "x"', "missing-operator")
    assert "`type`" in warning("type =", "missing-operator")
    assert (
        summary("type =")
        == 'segment-reading: Segment accepts this trigger and reads it as: type = "eos"'
    )


def test_unsupported_field():
    assert "`anonymousId`" in warning('anonymousId = "a"', "unsupported-field")
    assert "`TYPE`" in warning('TYPE = "x"', "unsupported-field")
    assert "`anonymousId`" in warning('contains(anonymousId, "a")', "unsupported-field")
    assert summary('anonymousId = "a" and type = "b"') == (
        'segment-reading: Segment reads this trigger as: type = "b"'
    )


def test_field_subpath():
    assert "`type.x`" in warning('type.x = "a"', "field-subpath")
    assert "drops the call" in warning('contains(event.x, "a")', "field-subpath")


def test_bare_object_field():
    assert "`properties`" in warning("properties = 1", "bare-object-field")
    assert "`traits`" in warning('contains(traits, "a")', "bare-object-field")


def test_path_segment():
    assert "`0`" in warning("properties.items.0.sku = 1", "path-segment")
    assert "`and`" in warning("properties.x.and = 1", "path-segment")
    assert "`-x`" in warning("properties.-x = 1", "path-segment")
    assert "path-segment" not in codes("properties.items.\\0.sku = 1")


def test_bracket_path():
    assert '`properties["k"]`' in warning('properties["k"] = 1', "bracket-path")


def test_not_equals_boolean():
    line = warning("properties.x != true", "not-equals-boolean")
    assert "`properties.x != true`" in line
    assert "not-equals-boolean" in codes("type != false")


def test_function_on_type():
    assert "contains()" in warning('contains(type, "x")', "function-on-type")
    assert "match()" in warning('!match(type, "x*")', "function-on-type")


def test_ordering_value():
    assert "which is 5" in warning('properties.x > "5"', "ordering-value")
    assert "NaN" in warning('properties.x > "abc"', "ordering-value")
    assert "Number(true), which is 1" in warning("properties.x > true", "ordering-value")
    assert "NaN" in warning("type > true", "ordering-value")
    assert "NaN" in warning("properties.x <= null", "ordering-value")


def test_null_as_text():
    assert "`type = null`" in warning("type = null", "null-as-text")
    assert "`event != null`" in warning("event != null", "null-as-text")
    assert "null-as-text" not in codes("userId = null")


def test_boolean_as_text():
    assert "`event = true`" in warning("event = true", "boolean-as-text")
    assert "`name = false`" in warning("name = false", "boolean-as-text")
    assert "boolean-as-text" not in codes("userId = true")


def test_number_as_text():
    line = warning("userId = 42", "number-as-text")
    assert "`userId = 42`" in line and '`userId = "42"`' in line
    assert "number-as-text" not in codes("properties.x = 42")


def test_escaped_dot():
    assert "`properties.a\\.b`" in warning("properties.a\\.b = 1", "escaped-dot")


def test_hazards_are_quiet_in_canonical_form():
    for text in ['type = "null"', 'event = "true"', 'userId = "42"']:
        assert lint(text) == []


# --------------------------------------------------------------------------- property

# Astral characters are left out of names: escaped, Segment's UTF-16 lexer cannot read them.
# Dots and brackets are name separators (spec §2.6), so keys do not hold them.
_KEY = st.text(
    alphabet=st.characters(
        max_codepoint=0xFFFF, exclude_categories=("Cs",), exclude_characters=".[]"
    ),
    min_size=1,
    max_size=6,
)
_NAME = st.lists(_KEY, min_size=1, max_size=3).map(".".join)
_VALUE = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters='"\\'),
    max_size=8,
)
_PATTERN_VALUE = _VALUE.filter(lambda s: "*" not in s)
# Numbers whose JS text has no exponent (Segment's lexer cannot read one).
_NUMBER = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15).map(float),
    st.decimals(min_value=-10000, max_value=10000, places=3, allow_nan=False).map(float),
)
_FUNCTIONS = (
    "contains",
    "not_contains",
    "starts_with",
    "not_starts_with",
    "ends_with",
    "not_ends_with",
)


@st.composite
def _condition(draw, *, call: bool) -> fql.Condition:
    if call:
        operator = draw(st.sampled_from(_FUNCTIONS))
        value = draw(_PATTERN_VALUE.filter(bool) if "ends_with" in operator else _PATTERN_VALUE)
        kind = draw(
            st.sampled_from(
                ("event", "name", "userId", "event-property", "event-trait", "event-context")
            )
        )
    else:
        kind = draw(
            st.sampled_from(
                (
                    "event-type",
                    "event",
                    "name",
                    "userId",
                    "event-property",
                    "event-trait",
                    "event-context",
                )
            )
        )
        if kind in ("event-type", "event", "name", "userId"):
            operator = draw(
                st.sampled_from(("=", "!=", "<", ">=", "exists", "not_exists", "is_true"))
            )
            if operator in ("exists", "not_exists") and kind in ("event-type", "event"):
                operator = "="
            if operator == "is_true" and kind != "userId":
                operator = "!="
        else:
            operator = draw(
                st.sampled_from(
                    (
                        "=",
                        "!=",
                        "number_equals",
                        "number_not_equals",
                        "<",
                        "<=",
                        ">",
                        ">=",
                        "exists",
                        "not_exists",
                        "is_true",
                        "is_false",
                    )
                )
            )
        if operator in ("<", "<=", ">", ">=") and kind in ("event-type", "event", "name", "userId"):
            value = fql.format_number(draw(_NUMBER))
        elif operator in ("<", "<=", ">", ">=", "number_equals", "number_not_equals"):
            value = draw(_NUMBER)
        elif operator in ("exists", "not_exists", "is_true", "is_false"):
            value = None
        else:
            value = draw(_VALUE)
    name = draw(_NAME) if kind.startswith("event-") and kind != "event-type" else None
    return fql.Condition(type=kind, operator=operator, value=value, name=name)


@st.composite
def _inner_group(draw, operator: str) -> fql.Group:
    """A parenthesised group: conditions only, at most one call and only as its last operand."""
    children = draw(st.lists(_condition(call=False), min_size=2, max_size=3))
    if draw(st.booleans()):
        children.append(draw(_condition(call=True)))
    return fql.Group(operator, tuple(children))


@st.composite
def _tree(draw) -> fql.Node:
    if draw(st.booleans()):
        return draw(_condition(call=draw(st.booleans())))
    operator = draw(st.sampled_from(("and", "or")))
    other = "or" if operator == "and" else "and"
    children = draw(
        st.lists(
            st.one_of(_condition(call=False), _condition(call=True), _inner_group(other)),
            min_size=2,
            max_size=4,
        )
    )
    return fql.Group(operator, tuple(children))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tree())
def test_segment_expressible_trees_print_to_fql_that_lints_clean(node):
    text = fql.to_fql(node)
    assert lint(text) == [], text
