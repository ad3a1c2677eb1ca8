"""FQL grammar: tokens (§2.2), syntax and normalisation (§2.3), operator mapping (§2.4), errors (§2.9)."""

from __future__ import annotations

import pickle

import pytest

from mappings.engine.fql import (
    Condition,
    FqlError,
    Group,
    Not,
    matches,
    parse,
    to_ast,
    tokenize,
)


def leaf(text: str) -> dict:
    """The single condition ``text`` parses to, as a Segment-shaped AST dict."""
    node = parse(text)
    assert isinstance(node, Condition)
    return to_ast(node)["children"][0]


def c(type_: str, operator: str, value=None, name=None) -> Condition:
    return Condition(type=type_, operator=operator, value=value, name=name)


T = c("event-type", "=", "track")
E = c("event", "=", "x")
U = c("userId", "exists")


# --------------------------------------------------------------------------- tokens


def test_tokenize_names_each_kind():
    kinds = [t.kind for t in tokenize('!contains(properties.a, "x") and (n >= -1.5e3) or null')]
    assert kinds == [
        "bang",
        "function",
        "lparen",
        "path",
        "comma",
        "string",
        "rparen",
        "keyword",
        "lparen",
        "path",
        "op",
        "number",
        "rparen",
        "keyword",
        "keyword",
        "end",
    ]


def test_tokenize_gives_unescaped_path_segments_and_positions():
    path, op, value, end = tokenize('properties.items.\\0.my\\ key = "a\\"b"')
    assert path.value == ("properties", "items", "0", "my key")
    assert (path.position, op.position, value.position) == (0, 28, 30)
    assert value.value == 'a"b'
    assert end == ("end", "", 36, None)


def test_an_emoji_escaped_as_two_utf16_halves_is_one_character():
    # Segment's generateFql escapes per UTF-16 unit: the key 👍 is written "\\<D83D>\\<DC4D>",
    # and its lexer joins the halves again (the difference was found by differential fuzzing).
    text = 'properties.\\\ud83d\\\udc4d = "x"'
    (path, *_rest) = tokenize(text)
    assert path.value == ("properties", "\U0001f44d")
    assert matches(text, {"properties": {"\U0001f44d": "x"}})
    assert tokenize('properties.\\\ud83dx = "x"')[0].value == ("properties", "\ud83dx")


def test_tokenize_lenient_reports_errors_as_tokens_and_resumes():
    tokens = tokenize("type == 'x' && a", lenient=True)
    assert [(t.kind, t.text) for t in tokens] == [
        ("path", "type"),
        ("error", "=="),
        ("error", "'x'"),
        ("error", "&&"),
        ("path", "a"),
        ("end", ""),
    ]


def test_tokenize_strict_raises_the_first_lexical_error():
    with pytest.raises(FqlError) as err:
        tokenize("a = 1 & b")
    assert err.value.position == 6


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("and", "keyword"),
        ("AND", "path"),
        ("\\and", "path"),
        ("and.x", "path"),
        ("contains(", "function"),
        ("contains  (", "function"),
        ("contains", "path"),
        ("match.x(", "path"),
    ],
)
def test_keywords_and_function_names_are_exact(text, kind):
    assert tokenize(text)[0].kind == kind


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("007", 7.0),
        ("-2.5", -2.5),
        ("+3", 3.0),
        ("2e3", 2000.0),
        ("1E-2", 0.01),
        ("1e400", float("inf")),
    ],
)
def test_numbers_are_js_doubles(text, value):
    assert tokenize(text)[0] == ("number", text, 0, value)


def test_whitespace_includes_carriage_return_and_newlines_are_allowed_in_strings():
    assert parse('type\r\n=\t"a\nb"') == c("event-type", "=", "a\nb")


def test_keyword_glued_to_punctuation_is_still_a_keyword():
    assert parse('type = "a" and(userId != null)') == Group("and", (c("event-type", "=", "a"), U))


# --------------------------------------------------------------------------- syntax


def test_and_binds_tighter_than_or():
    assert parse('type = "track" or event = "x" and userId != null') == Group(
        "or", (T, Group("and", (E, U)))
    )


def test_chains_flatten_through_redundant_parentheses():
    text = 'type = "track" and (event = "x" and (userId != null))'
    assert parse(text) == Group("and", (T, E, U))
    assert parse('((type = "track"))') == T


def test_mixed_groups_keep_their_structure():
    assert parse('(type = "track" or event = "x") and userId != null') == Group(
        "and", (Group("or", (T, E)), U)
    )


def test_negated_group_is_a_not_node_and_a_single_condition_collapses():
    assert parse('!(type = "track")') == Not(T)
    assert parse('!(type = "track" or event = "x")') == Not(Group("or", (T, E)))
    assert parse('!(!(type = "track"))') == Not(Not(T))


def test_negated_call_is_an_operator_but_negated_group_of_a_call_is_logical():
    assert parse('!contains(event, "x")') == c("event", "not_contains", "x")
    assert parse('!(contains(event, "x"))') == Not(c("event", "contains", "x"))
    assert parse('! contains(event, "x")') == c("event", "not_contains", "x")


@pytest.mark.parametrize(
    ("text", "type_", "name"),
    [
        ("\\type", "event-type", None),
        ("properties.a\\.b", "event-property", "a.b"),
        ("properties.items\\[1\\].sku", "event-property", "items[1].sku"),
        ("properties.0.-x", "event-property", "0.-x"),
        ("traits.plan", "event-trait", "plan"),
        ("context.page.path", "event-context", "page.path"),
        ("anonymousId", "field", "anonymousId"),
        ("integrations.Mixpanel", "field", "integrations.Mixpanel"),
        ("\\and.x", "field", "and.x"),
        ("\\AND", "field", "AND"),
        ("type\\.x", "field", "type.x"),
        ("True", "field", "True"),
    ],
)
def test_field_roots_and_names(text, type_, name):
    node = parse(f'{text} = "v"')
    assert (node.type, node.name) == (type_, name)


def test_nodes_are_hashable_comparable_and_picklable():
    node = parse('type = "track" and !(properties.n > 3 or match(event, "a*b"))')
    assert node == parse('type = "track" and !(properties.n > 3.0 or match(event, "a*b"))')
    assert hash(node) == hash(
        parse(' type = "track" and !(properties.n > 3 or match(event,"a*b"))')
    )
    copy = pickle.loads(pickle.dumps(node))
    assert copy == node
    assert copy._test({"type": "track", "event": "aXc"}) is True
    assert copy._test({"type": "track", "event": "aXb"}) is False


def test_parse_is_cached_by_text():
    text = 'event = "cached"'
    assert parse(text) is parse(text)


# --------------------------------------------------------------------------- §2.4 operator table

S = "event-type"
P = "event-property"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # F = null / F != null
        ("type = null", {"type": S, "operator": "=", "value": "null"}),
        ("event = null", {"type": "event", "operator": "=", "value": "null"}),
        ("name = null", {"type": "name", "operator": "not_exists"}),
        ("userId = null", {"type": "userId", "operator": "not_exists"}),
        ("properties.a = null", {"type": P, "name": "a", "operator": "not_exists"}),
        ("type != null", {"type": S, "operator": "!=", "value": "null"}),
        ("event != null", {"type": "event", "operator": "!=", "value": "null"}),
        ("name != null", {"type": "name", "operator": "exists"}),
        ("userId != null", {"type": "userId", "operator": "exists"}),
        ("traits.a != null", {"type": "event-trait", "name": "a", "operator": "exists"}),
        ("anonymousId != null", {"type": "field", "name": "anonymousId", "operator": "exists"}),
        # F = true / false
        ("type = true", {"type": S, "operator": "=", "value": "true"}),
        ("event = false", {"type": "event", "operator": "=", "value": "false"}),
        ("name = true", {"type": "name", "operator": "=", "value": "true"}),
        ("userId = true", {"type": "userId", "operator": "is_true"}),
        ("userId = false", {"type": "userId", "operator": "is_false"}),
        ("context.a = true", {"type": "event-context", "name": "a", "operator": "is_true"}),
        ("properties.a = false", {"type": P, "name": "a", "operator": "is_false"}),
        # F = N / F != N
        ("type = 42", {"type": S, "operator": "=", "value": "42"}),
        ("event = 4.50", {"type": "event", "operator": "=", "value": "4.5"}),
        ("name = 1e21", {"type": "name", "operator": "=", "value": "1e+21"}),
        ("userId = 42.0", {"type": "userId", "operator": "=", "value": "42"}),
        ("userId != 42", {"type": "userId", "operator": "!=", "value": "42"}),
        ("type != -0", {"type": S, "operator": "!=", "value": "0"}),
        ("properties.a = 42", {"type": P, "name": "a", "operator": "number_equals", "value": 42.0}),
        (
            "properties.a != 1.5",
            {"type": P, "name": "a", "operator": "number_not_equals", "value": 1.5},
        ),
        (
            "messageId = 7",
            {"type": "field", "name": "messageId", "operator": "number_equals", "value": 7.0},
        ),
        # F = "s" / F != "s"
        ('type = "track"', {"type": S, "operator": "=", "value": "track"}),
        ('name != "Home"', {"type": "name", "operator": "!=", "value": "Home"}),
        ('userId = "42"', {"type": "userId", "operator": "=", "value": "42"}),
        ('properties.a != "x"', {"type": P, "name": "a", "operator": "!=", "value": "x"}),
        ('properties.a = "null"', {"type": P, "name": "a", "operator": "=", "value": "null"}),
        # ordering with a number
        ("type < 3", {"type": S, "operator": "<", "value": "3"}),
        ("event >= 2e21", {"type": "event", "operator": ">=", "value": "2e+21"}),
        ("userId > 1.5", {"type": "userId", "operator": ">", "value": "1.5"}),
        ("properties.a <= -2", {"type": P, "name": "a", "operator": "<=", "value": -2.0}),
        ("traits.a > 3", {"type": "event-trait", "name": "a", "operator": ">", "value": 3.0}),
        # ordering with a numeric string
        ('name > " 5 "', {"type": "name", "operator": ">", "value": "5"}),
        ('type < "1e3"', {"type": S, "operator": "<", "value": "1000"}),
        ('properties.a >= "007"', {"type": P, "name": "a", "operator": ">=", "value": 7.0}),
        ('properties.a < "-1.5"', {"type": P, "name": "a", "operator": "<", "value": -1.5}),
        # functions
        ('contains(event, "Order")', {"type": "event", "operator": "contains", "value": "Order"}),
        ('!contains(name, "x")', {"type": "name", "operator": "not_contains", "value": "x"}),
        (
            "contains(properties.sku, 42.0)",
            {"type": P, "name": "sku", "operator": "contains", "value": "42"},
        ),
        ('contains(type, "tr")', {"type": S, "operator": "contains", "value": "tr"}),
        ('!contains(userId, "a")', {"type": "userId", "operator": "not_contains", "value": "a"}),
    ],
)
def test_operator_mapping_table(text, expected):
    assert leaf(text) == expected


def test_number_values_are_floats():
    value = leaf("properties.a = 3")["value"]
    assert type(value) is float


@pytest.mark.parametrize(
    ("pattern", "operator", "value"),
    [
        ('"Order*"', "starts_with", "Order"),
        ('"*"', "starts_with", ""),
        ('"*Completed"', "ends_with", "Completed"),
        ('"*der*"', "contains", "der"),
        ('"**"', "contains", ""),
        ('"Order"', "glob", "Order"),
        ('""', "glob", ""),
        ('"Plan*Won"', "glob", "Plan*Won"),
        ('"***"', "glob", "***"),
        ('"a**"', "glob", "a**"),
        ('"*a*b"', "glob", "*a*b"),
        ("42", "glob", "42"),
    ],
)
def test_match_pattern_table(pattern, operator, value):
    assert leaf(f"match(event, {pattern})") == {
        "type": "event",
        "operator": operator,
        "value": value,
    }
    negated = leaf(f"!match(event, {pattern})")
    assert negated == {"type": "event", "operator": "not_" + operator, "value": value}


# --------------------------------------------------------------------------- §2.9 errors


@pytest.mark.parametrize(
    ("text", "position", "message_part"),
    [
        ("", 0, "expected a condition"),
        ("  \n ", 4, "expected a condition"),
        ('type = "a" & b', 11, 'unexpected character "&"'),
        ('type = "a" && b', 11, '"and"'),
        ('type = "a" || b', 11, '"or"'),
        ('type = "a" # b', 11, 'unexpected character "#"'),
        ('type = "abc', 7, "unterminated string"),
        ('type = "abc\\"', 7, "unterminated string"),
        ("type = 'pro'", 7, "single-quoted"),
        ('type = "a\\nb"', 9, "unknown escape"),
        ('event = "ok" and type = "\\t"', 25, "unknown escape"),
        ("type = identify", 7, 'unquoted value "identify"'),
        ("contains(event, Order)", 16, "unquoted value"),
        ('type == "a"', 5, '"==" is not an operator'),
        ("properties.a =< 3", 13, '"=<"'),
        ("properties.a => 3", 13, '"=>"'),
        ("properties.a <> 3", 13, '"<>"'),
        ('type = "a" AND event = "b"', 11, "lower-case"),
        ('type = "a" Or event = "b"', 11, "lower-case"),
        ('not type = "a"', 0, '"!" only before'),
        ('NOT (type = "a")', 0, '"!" only before'),
        ('!type = "a"', 0, '"!" only before'),
        ('!!(type = "a")', 0, '"!" only before'),
        ('event = "x" and !', 16, '"!" only before'),
        ("properties.a != true", 16, '"!= true" is not supported'),
        ("traits.a != false", 12, '"!= false" is not supported'),
        ("name != true", 8, "not supported"),
        ('properties.a > "abc"', 15, '">" needs a number'),
        ("properties.a < true", 15, '"<" needs a number'),
        ("userId >= null", 10, '">=" needs a number'),
        ('type <= "1e"', 8, "needs a number"),
        ('type.x = "a"', 0, '"type" has no sub-fields'),
        ('event = "a" and userId.x = "b"', 16, '"userId" has no sub-fields'),
        ("properties = 1", 0, '"properties" needs a key'),
        ("traits != null", 0, '"traits" needs a key'),
        ('properties["k"] = 1', 10, "bracket paths are not supported"),
        ("exists(properties.a)", 0, 'unknown function "exists"'),
        ('type = "a" xyz', 11, 'expected "and", "or" or end of input, got "xyz"'),
        ('(type = "a"', 11, 'expected ")"'),
        ('(type = "a" xyz)', 12, 'expected "and", "or" or ")"'),
        ('type = "a")', 10, 'unmatched ")"'),
        ("()", 1, "expected a condition"),
        ('type = "a" and', 14, "expected a condition, got end of input"),
        ('type = "a" or or event = "b"', 14, "expected a condition"),
        ('type "track"', 5, "expected an operator"),
        ("type =", 6, "expected a value, got end of input"),
        ("type = and", 7, "expected a value"),
        ("contains(event)", 14, 'expected ","'),
        ('contains(event, "a"', 19, 'expected ")"'),
        ("contains(event, true)", 16, "expected a string or number"),
        ('contains("x", event)', 9, "expected a field"),
        ("properties..a = 1", 10, "empty path segment"),
        ("properties.a. = 1", 12, "empty path segment"),
        ("properties.\\. = 1", 0, "has no key"),
        ("properties.a = .5", 15, "invalid number"),
        ("properties.a = 5.", 15, "invalid number"),
        ("properties.a = 4.5.6", 15, "invalid number"),
        ("properties.a = -", 15, 'unexpected character "-"'),
        ("properties.a = 3abc", 15, "invalid number"),
        ("properties.a = 2e", 15, "invalid number"),
        ("properties.caf\u00e9 = 1", 14, "escape non-ASCII"),
        ("properties.a\\", 13, 'after "\\"'),
        ("true = 1", 0, '"true" is a keyword'),
        ("null != null", 0, '"null" is a keyword'),
        ("and.x = 1", 0, '"and" is a keyword'),
        ('contains = "x"', 0, '"contains" is a function'),
        ('match.x = "x"', 0, '"match" is a function'),
        ("(" * 101 + 'type = "a"' + ")" * 101, 100, "too deeply nested"),
    ],
)
def test_errors_have_positions(text, position, message_part):
    with pytest.raises(FqlError) as err:
        parse(text)
    assert err.value.position == position
    assert message_part in err.value.message
    assert str(err.value) == f"{err.value.message} (at position {position})"


def test_the_left_most_problem_is_reported():
    # A parse error before a lexical one wins, and vice versa.
    with pytest.raises(FqlError) as err:
        parse('type "x" && y')
    assert err.value.position == 5
    with pytest.raises(FqlError) as err:
        parse("type = 'x' and type")
    assert err.value.position == 7


def test_fql_error_is_a_value_error_and_pickles():
    err = FqlError("expected a condition", 3)
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.message, copy.position, str(copy)) == (err.message, 3, str(err))


def test_cached_failures_raise_fresh_errors():
    for _ in range(2):
        with pytest.raises(FqlError) as err:
            parse("type = ")
        assert err.value.position == 7


def test_parse_rejects_non_text():
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]
