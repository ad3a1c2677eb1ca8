"""Canonical FQL text (§2.7) and Segment-shaped ASTs (§2.5)."""

from __future__ import annotations

import pytest

from mappings.engine.fql import Condition, Group, Not, parse, to_ast, to_fql


def c(type_: str, operator: str, value=None, name=None) -> Condition:
    return Condition(type=type_, operator=operator, value=value, name=name)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # Segment's own canonical output is a fixed point.
        ('type = "track"', 'type = "track"'),
        ('type = "and" or event = "or" or name = "null"', None),
        ('type = "track" and event != "Order Completed"', None),
        ('type = "track" and (event = "Order Completed" or event = "Signed Up")', None),
        ("properties.seats > 3", None),
        ("traits.beta = true", None),
        ("userId != null", None),
        ('contains(event, "Order")', None),
        ('match(event, "Order*")', None),
        ('!match(event, "*Completed")', None),
        # Layout is normalised.
        (
            'type="track"and(event="a"or event="b")',
            'type = "track" and (event = "a" or event = "b")',
        ),
        (
            '((type = "a")) and (event = "b" and name = "c")',
            'type = "a" and event = "b" and name = "c"',
        ),
        ('type = "a" or event = "b" and name = "c"', 'type = "a" or (event = "b" and name = "c")'),
        ('!(type = "a")', '!(type = "a")'),
        ('! ( type = "a" or event = "b" )', '!(type = "a" or event = "b")'),
        ('type = "a" and !(!(event = "b"))', 'type = "a" and !(!(event = "b"))'),
        ('!(contains(event, "x"))', '!(contains(event, "x"))'),
        ('! contains(event, "x")', '!contains(event, "x")'),
        # Values follow the operator mapping.
        ("userId = 42.0", 'userId = "42"'),
        ("type = null", 'type = "null"'),
        ("name = true", 'name = "true"'),
        ("properties.n = 007", "properties.n = 7"),
        ("properties.n != -0.50", "properties.n != -0.5"),
        ("properties.n >= 2e21", "properties.n >= 2e+21"),
        ("properties.n < 0.0000001", "properties.n < 1e-7"),
        ('properties.n > " 3 "', "properties.n > 3"),
        ('type > "1e3"', "type > 1000"),
        ("properties.n = 1e400", "properties.n = 1e999"),
        ("type < -1e400", "type < -1e999"),
        ("contains(properties.sku, 42.0)", 'contains(properties.sku, "42")'),
        ('match(event, "*der*")', 'contains(event, "der")'),
        ('!match(event, "**")', '!contains(event, "")'),
        ('match(event, "*")', 'match(event, "*")'),
        ('match(event, "Plan*Won")', 'match(event, "Plan*Won")'),
        ("match(event, 42)", 'match(event, "42")'),
        # Strings: ∆ backslash and quote are escaped; anything else is raw.
        ('event = "He said \\"hi\\""', 'event = "He said \\"hi\\""'),
        ('properties.p = "c:\\\\dir"', 'properties.p = "c:\\\\dir"'),
        ('event = "tab\there\nnewline"', 'event = "tab\there\nnewline"'),
        # Names: Segment's escaping, plus ∆ escapes for digits, "-", keywords and empty segments.
        ("properties.items.0.sku = 1", "properties.items.\\0.sku = 1"),
        ("properties.items.\\0.sku = 1", "properties.items.\\0.sku = 1"),
        ("properties.-x.a = 1", "properties.\\-x.a = 1"),
        ("properties.a-b.c_d = 1", "properties.a-b.c_d = 1"),
        ("properties.and.or.null.true = 1", "properties.\\and.\\or.\\null.true = 1"),
        ("properties.my\\ key = 1", "properties.my\\ key = 1"),
        ('properties.\\"q\\" = 1', 'properties.\\"q\\" = 1'),
        ("properties.back\\\\slash = 1", "properties.back\\\\slash = 1"),
        ("properties.items\\[1\\].sku = 1", "properties.items\\[1\\].sku = 1"),
        ("properties.caf\\\u00e9 = 1", "properties.caf\\\u00e9 = 1"),
        ("properties.a\\.b = 1", "properties.a.b = 1"),
        ("properties.\\.a = 1", "properties.\\.a = 1"),
        ("properties.a\\. = 1", "properties.a\\. = 1"),
        ("properties.a.\\.b = 1", "properties.a.\\.b = 1"),
        ("properties.\\and = 1", "properties.\\and = 1"),
        ("\\type = 1", 'type = "1"'),
        ("\\properties.x = 1", "properties.x = 1"),
        # Fields: the root keeps what makes it a plain field.
        ("anonymousId = 1", None),
        ("integrations.Mixpanel = false", None),
        ("\\true = 1", None),
        ("\\and.x = 1", None),
        ("\\AND = 1", None),
        ("\\Not.x = 1", None),
        ("\\contains = 1", None),
        ("\\9lives = 1", None),
        ("type\\.x = 1", None),
        ("properties\\.x.y = 1", None),
        ("type\\.\\.x = 1", None),
        ("\\_id.0 = 1", "_id.\\0 = 1"),
    ],
)
def test_canonical_text(text, canonical):
    node = parse(text)
    expected = text if canonical is None else canonical
    assert to_fql(node) == expected
    assert parse(expected) == node


def test_field_names_round_trip_through_their_escapes():
    node = parse("type\\.x = 1")
    assert (node.type, node.name) == ("field", "type.x")
    assert parse("\\9lives = 1").name == "9lives"


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (c("event-property", "exists", name="a"), "properties.a != null"),
        (c("event-trait", "not_exists", name="a"), "traits.a = null"),
        (c("event-context", "is_true", name="a"), "context.a = true"),
        (c("field", "is_false", name="a"), "a = false"),
        (c("userId", "number_equals", 3), "userId = 3"),
        (c("event-property", "<", "12", name="a"), "properties.a < 12"),
        (c("name", "not_starts_with", "x"), '!match(name, "x*")'),
        (c("name", "not_ends_with", "x"), '!match(name, "*x")'),
        (c("name", "not_glob", "x"), '!match(name, "x")'),
        (
            Group(
                "or",
                (
                    Group("and", (c("event", "=", "a"), c("name", "=", "b"))),
                    Not(c("userId", "exists")),
                ),
            ),
            '(event = "a" and name = "b") or !(userId != null)',
        ),
    ],
)
def test_hand_built_nodes_print(node, text):
    assert to_fql(node) == text


def test_to_ast_wraps_a_top_condition_in_an_and_group():
    assert to_ast(parse('type = "track"')) == {
        "type": "group",
        "operator": "and",
        "children": [{"type": "event-type", "operator": "=", "value": "track"}],
    }


def test_to_ast_shapes():
    node = parse(
        'event = "a" or (properties.n > 3 and !(traits.t = null) and match(anonymousId, "x*y"))'
    )
    assert to_ast(node) == {
        "type": "group",
        "operator": "or",
        "children": [
            {"type": "event", "operator": "=", "value": "a"},
            {
                "type": "group",
                "operator": "and",
                "children": [
                    {"type": "event-property", "name": "n", "operator": ">", "value": 3.0},
                    {
                        "type": "not",
                        "child": {"type": "event-trait", "name": "t", "operator": "not_exists"},
                    },
                    {"type": "field", "name": "anonymousId", "operator": "glob", "value": "x*y"},
                ],
            },
        ],
    }
    assert to_ast(Not(parse('type = "a"'))) == {
        "type": "group",
        "operator": "and",
        "children": [
            {"type": "not", "child": {"type": "event-type", "operator": "=", "value": "a"}}
        ],
    }


def test_to_ast_values_are_json_ready():
    ast = to_ast(parse("properties.n = 3 and userId = 3 and traits.b = true"))
    assert [child.get("value") for child in ast["children"]] == [3.0, "3", None]
    assert "value" not in ast["children"][2]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": "nope", "operator": "="},
        {"type": "event", "operator": "~", "value": "x"},
        {"type": "event", "operator": "=", "value": "x", "name": "a"},
        {"type": "event-property", "operator": "=", "value": "x"},
        {"type": "event-property", "operator": "=", "value": "x", "name": ".[]"},
        {"type": "field", "operator": "=", "value": "x", "name": "properties"},
        {"type": "event", "operator": "exists", "value": "x"},
        {"type": "event", "operator": "number_equals", "value": True},
        {"type": "event", "operator": "=", "value": 3},
    ],
)
def test_condition_rejects_malformed_shapes(kwargs):
    with pytest.raises(ValueError):
        Condition(**kwargs)
