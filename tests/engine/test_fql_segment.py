"""The Segment reader (spec §2.10): a port of fql-ts's lexer and destination-subscriptions' flat
parser and generator. Every expectation here was checked against Segment's real JavaScript
(@segment/destination-subscriptions 3.37.0, @segment/fql-ts 1.10.1).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from mappings.engine.fql_segment import (
    SegmentParseError,
    generate,
    is_broken,
    lex,
    read,
    tokenize,
)

GOLDEN_PATH = Path(__file__).resolve().parents[1] / "golden" / "fql.json"


def conditions(text: str) -> list[dict[str, Any]]:
    ast = read(text)
    assert isinstance(ast, dict), f"Segment cannot parse {text!r}: {ast!r}"
    assert ast["type"] == "group"
    return ast["children"]


def one(text: str) -> dict[str, Any]:
    (node,) = conditions(text)
    return node


def fails(text: str) -> bool:
    return isinstance(read(text), SegmentParseError)


def values(text: str) -> list[str]:
    tokens = tokenize(text)
    assert not isinstance(tokens, SegmentParseError), tokens
    return [t.value for t in tokens]


# --------------------------------------------------------------------------- flat parser


def test_it_reads_canonical_fql_as_written():
    assert read('type = "track" and event != "Order Completed"') == {
        "type": "group",
        "operator": "and",
        "children": [
            {"type": "event-type", "operator": "=", "value": "track"},
            {"type": "event", "operator": "!=", "value": "Order Completed"},
        ],
    }


def test_it_wraps_a_single_condition_in_an_and_group():
    assert read('type = "page"') == {
        "type": "group",
        "operator": "and",
        "children": [{"type": "event-type", "operator": "=", "value": "page"}],
    }


def test_the_last_conjunction_of_a_level_applies_to_all_its_conditions():
    ast = read('type = "a" or event = "b" and userId = "c"')
    assert isinstance(ast, dict)
    assert ast["operator"] == "and"
    assert len(ast["children"]) == 3
    mixed = read('type = "a" and event = "b" or name = "c"')
    assert isinstance(mixed, dict) and mixed["operator"] == "or"


def test_it_keeps_one_level_of_parentheses():
    assert read('(type = "a" or type = "b") and event = "c"') == {
        "type": "group",
        "operator": "and",
        "children": [
            {
                "type": "group",
                "operator": "or",
                "children": [
                    {"type": "event-type", "operator": "=", "value": "a"},
                    {"type": "event-type", "operator": "=", "value": "b"},
                ],
            },
            {"type": "event", "operator": "=", "value": "c"},
        ],
    }


def test_nested_parentheses_and_unclosed_groups_are_parse_errors():
    assert fails('(type = "a" and (event = "b"))')
    assert fails('((type = "a"))')
    assert fails('(type = "a"')


def test_a_group_ends_at_the_first_call_closing_paren():
    assert conditions('(contains(event, "x") or type = "y") and name = "z"') == [
        {"type": "event", "operator": "contains", "value": "x"},
        {"type": "event-type", "operator": "=", "value": "y"},
        {"type": "name", "operator": "=", "value": "z"},
    ]


def test_an_empty_group_beside_conditions_is_a_none_child_and_broken():
    ast = read('type = "track" and ()')
    assert isinstance(ast, dict)
    assert ast["children"][1] is None
    assert is_broken(ast)
    with pytest.raises(TypeError):
        generate(ast)
    assert fails("()")


def test_the_bang_negates_only_a_function_right_after_it():
    assert conditions('!contains(event, "x") and !(type = "y")') == [
        {"type": "event", "operator": "not_contains", "value": "x"},
        {"type": "event-type", "operator": "=", "value": "y"},
    ]
    assert one('!type = "x"') == {"type": "event-type", "operator": "=", "value": "x"}


def test_a_condition_takes_the_next_two_tokens_whatever_they_are():
    assert one("type =") == {"type": "event-type", "operator": "=", "value": "eos"}
    assert one("properties.seats >= 9") == {
        "type": "event-property",
        "name": "seats",
        "operator": ">=",
        "value": 9.0,
    }
    assert fails("type")


def test_glued_greater_equal_reads_as_greater_than_the_text_equals():
    assert one("properties.seats >=9") == {
        "type": "event-property",
        "name": "seats",
        "operator": ">",
        "value": "=",
    }


def test_double_equals_compares_with_the_text_equals():
    assert one('type == "x"') == {"type": "event-type", "operator": "=", "value": "="}


def test_an_exponent_keeps_only_the_mantissa():
    assert one("properties.x = 2e3") == {
        "type": "event-property",
        "name": "x",
        "operator": "number_equals",
        "value": 2.0,
    }
    assert values("2e3") == ["2", "e3", "eos"]


def test_a_keyword_look_ahead_cut_short_by_the_end_keeps_the_characters_it_read():
    assert one("type = an") == {"type": "event-type", "operator": "=", "value": "a"}
    assert one("type = nul") == {"type": "event-type", "operator": "=", "value": "n"}
    assert values("type = o") == ["type", "=", "o", "eos"]


def test_and_or_null_are_keywords_only_before_a_terminator():
    assert values("android or nullable") == ["android", "or", "nullable", "eos"]
    assert [t.type for t in lex("a and(b)")][:3] == ["ident", "ident", "parenleft"]
    assert values("properties.and.x") == ["properties.and.x", "eos"]
    assert one("properties.and = 1") == {
        "type": "event-property",
        "name": "properties",
        "operator": ".",
        "value": "and",
    }


def test_single_quotes_stay_in_the_value():
    assert one("type = 'pro'") == {"type": "event-type", "operator": "=", "value": "'pro'"}


def test_there_are_no_string_escapes():
    assert one('type = "a\\"b"') == {"type": "event-type", "operator": "=", "value": "a\\"}


def test_a_closing_quote_is_eaten_only_before_a_terminator():
    assert values('type = "a"b"') == ["type", "=", '"a"', '"b"', "eos"]
    assert one('type = "a"b"') == {"type": "event-type", "operator": "=", "value": "a"}
    assert fails('type = "a"b')


def test_a_carriage_return_is_not_whitespace():
    assert fails('type\r= "a"')
    assert fails('type = "a"\r')
    assert one('type = "a\rb"')["value"] == "a\rb"


def test_an_identifier_must_end_at_a_terminator_dot_paren_equals_or_bang():
    assert fails("properties.seats>9")
    assert fails('list["a"] = 1')
    assert one('type!= "x"') == {"type": "event-type", "operator": "!=", "value": "x"}


def test_bang_rules():
    assert fails('type !="x"')
    assert fails('! contains(event, "x")')
    assert fails("!!contains(event, 'x')")
    tokens = lex("!(")
    assert not isinstance(tokens, SegmentParseError)
    assert [(t.type, t.value) for t in tokens][:2] == [("operator", "!"), ("parenleft", "(")]


def test_number_lexing():
    assert math.isnan(one("properties.x = -")["value"])
    assert one("properties.x = +5")["value"] == 5.0
    assert one("properties.x > -.5")["value"] == -0.5
    assert one("properties.x = 007")["value"] == 7.0
    assert fails("properties.x = 1.")
    assert fails("properties.x = 1.2.3")
    assert values("properties.seats = --1") == ["properties.seats", "=", "-", "-1", "eos"]


def test_the_joiner_does_not_join_across_a_number_segment():
    assert values("properties.items.0.sku = 1") == [
        "properties.items",
        ".",
        "0.",
        "sku",
        "=",
        "1",
        "eos",
    ]
    assert one("properties.items.0.sku = 1") == {
        "type": "event-property",
        "name": "items",
        "operator": ".",
        "value": 0.0,
    }
    assert one("properties.items.\\0.sku = 1")["name"] == "items.0.sku"


def test_escapes_in_identifiers_are_removed():
    assert one("properties.a\\ b = 1")["name"] == "a b"
    assert one('\\type = "x"') == {"type": "event-type", "operator": "=", "value": "x"}
    assert fails("properties.a\\")


def test_an_escaped_astral_character_breaks_the_identifier_as_in_utf16():
    assert fails("properties.\\\U0001f600 = 1")
    assert one('properties.emoji = "\U0001f44d\U0001f3fd"')["value"] == "\U0001f44d\U0001f3fd"


def test_object_prototype_roots_consume_two_tokens_and_add_nothing():
    assert conditions('constructor = "x" and type = "a"') == [
        {"type": "event-type", "operator": "=", "value": "a"}
    ]
    assert fails("toString = 1")
    assert fails('__proto__ = "x"')


def test_unknown_roots_are_dropped():
    assert conditions('anonymousId = "a" and type = "b"') == [
        {"type": "event-type", "operator": "=", "value": "b"}
    ]
    assert fails('anonymousId = "a"')
    assert fails('TYPE = "x"')


def test_operator_mapping_per_field():
    assert one("userId = true") == {"type": "userId", "operator": "is_true"}
    assert one("userId != null") == {"type": "userId", "operator": "exists"}
    assert one("name = true") == {"type": "name", "operator": "=", "value": "true"}
    assert one("name = null") == {"type": "name", "operator": "not_exists"}
    assert one("type = null") == {"type": "event-type", "operator": "=", "value": "null"}
    assert one("event = 5") == {"type": "event", "operator": "=", "value": "5"}
    assert one("userId = 5.50") == {"type": "userId", "operator": "=", "value": "5.5"}
    assert one("traits.x = false") == {"type": "event-trait", "name": "x", "operator": "is_false"}
    assert one("context.x != 5") == {
        "type": "event-context",
        "name": "x",
        "operator": "number_not_equals",
        "value": 5.0,
    }
    assert one("properties.x != true") == {
        "type": "event-property",
        "name": "x",
        "operator": "!=",
        "value": True,
    }
    assert one('properties.x > "abc"')["value"] == "abc"
    assert one("properties.x > true")["value"] is True


def test_bare_object_roots_and_sub_fields():
    assert one("properties = 1")["name"] == "properties"
    assert one('type.x = "a"') == {"type": "event-type", "operator": "=", "value": "a"}


def test_functions():
    assert one('match(event, "a*")') == {"type": "event", "operator": "starts_with", "value": "a"}
    assert one('match(event, "*a*")')["value"] == "*a"
    assert one('match(event, "Plan*Won")') == {
        "type": "event",
        "operator": "ends_with",
        "value": "lan*Won",
    }
    assert one('match(event, "Plan")')["value"] == "lan"
    assert one("match(event, 5)") == {"type": "event", "operator": "ends_with", "value": ""}
    assert one("contains(userId, 5)") == {"type": "userId", "operator": "contains", "value": "5"}
    assert one('contains(propertiesX, "a")')["name"] == "propertiesX"
    assert one('!match(traits.plan, "p*")') == {
        "type": "event-trait",
        "name": "plan",
        "operator": "not_starts_with",
        "value": "p",
    }
    assert fails('contains(event.x, "a")')
    assert fails('contains(type, "a")')
    assert fails("contains(event")


def test_match_slices_utf16_units():
    # JS slice(1) drops one UTF-16 unit: the emoji's low surrogate is left behind.
    assert one('match(event, "\U0001f600x")')["value"] == "\ude00x"


# --------------------------------------------------------------------------- generator


def group(*children: dict[str, Any], operator: str = "and") -> dict[str, Any]:
    return {"type": "group", "operator": operator, "children": list(children)}


def test_generator_strips_one_outer_pair_of_parentheses_when_it_is_the_only_pair():
    inner = group(
        {"type": "event-type", "operator": "=", "value": "page"},
        {"type": "event-type", "operator": "=", "value": "screen"},
        operator="or",
    )
    assert generate(group(inner)) == 'type = "page" or type = "screen"'
    # Two groups: four parentheses, nothing is stripped.
    assert generate(group(inner, inner)) == (
        '(type = "page" or type = "screen") and (type = "page" or type = "screen")'
    )
    # Parentheses in values count too.
    value = {"type": "event", "operator": "=", "value": "a)"}
    assert generate(group(inner, value)).startswith("(")


def test_generator_prints_values_raw_and_numbers_bare():
    assert generate(group({"type": "event", "operator": "=", "value": 'say "hi"'})) == (
        'event = "say "hi""'
    )
    prop = {"type": "event-property", "name": "my key.a", "operator": ">", "value": "abc"}
    assert generate(group(prop)) == "properties.my\\ key.a > NaN"
    prop = {"type": "event-trait", "name": "x", "operator": ">=", "value": True}
    assert generate(group(prop)) == "traits.x >= 1"
    prop = {"type": "event-context", "name": "n", "operator": "number_equals", "value": 2e21}
    assert generate(group(prop)) == "context.n = 2e+21"
    prop = {"type": "event-property", "name": "x", "operator": "!=", "value": True}
    assert generate(group(prop)) == "properties.x != true"


def test_generator_prints_junk_operators_as_they_are():
    assert generate(read("properties.items.0.sku = 1")) == "properties.items . 0"  # type: ignore[arg-type]
    assert generate(read('type "x"')) == 'type "x" "eos"'  # type: ignore[arg-type]
    assert generate(read("properties.x = -")) == "properties.x = NaN"  # type: ignore[arg-type]


def test_generator_prints_every_operator_form():
    cases = {
        "contains": 'contains(event, "v")',
        "not_contains": '!contains(event, "v")',
        "starts_with": 'match(event, "v*")',
        "not_starts_with": '!match(event, "v*")',
        "ends_with": 'match(event, "*v")',
        "not_ends_with": '!match(event, "*v")',
    }
    for operator, expected in cases.items():
        assert generate(group({"type": "event", "operator": operator, "value": "v"})) == expected
    assert generate(group({"type": "name", "operator": "exists"})) == "name != null"
    assert generate(group({"type": "userId", "operator": "not_exists"})) == "userId = null"
    assert generate(group({"type": "userId", "operator": "is_true"})) == "userId = true"
    assert generate(group({"type": "userId", "operator": "is_false"})) == "userId = false"


def test_generator_rejects_unknown_node_types():
    with pytest.raises(ValueError):
        generate(group({"type": "field", "name": "anonymousId", "operator": "=", "value": "a"}))


# --------------------------------------------------------------------------- golden parity


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$js"}:
            return float(value["$js"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.skipif(not GOLDEN_PATH.exists(), reason="no golden file")
def test_lexer_reader_and_generator_match_segment_golden_cases():
    cases = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))["cases"]
    wrong = []
    for case in cases:
        text = case["fql"]
        tokens = lex(text)
        if "lex_error" in case:
            if not isinstance(tokens, SegmentParseError):
                wrong.append((text, "lexes", tokens))
            continue
        assert not isinstance(tokens, SegmentParseError), (text, tokens)
        if [[t.type, t.value] for t in tokens] != case["tokens"]:
            wrong.append((text, "tokens", tokens))
        ast = read(text)
        if "ast_error" in case:
            if not is_broken(ast):
                wrong.append((text, "parses", ast))
        elif not _same(ast, _decode(case["ast"])):
            wrong.append((text, "ast", ast))
        elif "generated_error" in case:
            if not is_broken(ast):
                wrong.append((text, "not broken", ast))
        elif generate(ast) != case["generated"]:  # type: ignore[arg-type]
            wrong.append((text, "generated", generate(ast)))  # type: ignore[arg-type]
    assert wrong == []
    assert len(cases) > 500
