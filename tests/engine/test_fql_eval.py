"""FQL evaluation (§2.6): value reads, walks, strict operator typing, presets, explain, parity."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mappings.engine.fql import Condition, FqlError, explain, matches, parse, to_ast
from mappings.engine.fql_eval import split_name

MISSING = object()


def props(value=MISSING) -> dict:
    """A track event whose ``properties.a`` is ``value`` (absent when MISSING)."""
    return {"type": "track", "properties": {} if value is MISSING else {"a": value}}


# --------------------------------------------------------------------------- public contract


@pytest.mark.parametrize("event", [None, [], "track", 1, ["type"]])
def test_it_gives_false_for_events_that_are_not_dicts(event):
    assert matches('type != "x"', event) is False


def test_it_gives_false_for_text_that_does_not_parse():
    assert matches("type = ", {"type": "track"}) is False
    assert matches(42, {"type": "track"}) is False  # type: ignore[arg-type]


def test_it_accepts_text_or_nodes():
    event = {"type": "track"}
    assert matches('type = "track"', event) is True
    assert matches(parse('type = "track"'), event) is True


def test_it_never_raises_on_hostile_values():
    class Angry:
        def __eq__(self, other):
            raise RuntimeError("no")

        __hash__ = object.__hash__

    assert matches('type = "track"', {"type": Angry()}) is False


# --------------------------------------------------------------------------- the presets

PRESETS = [
    'type = "track" and event != "Order Completed"',
    'type = "track" and event = "Order Completed"',
    'type = "page"',
    'type = "screen"',
    'type = "identify"',
    'type = "group"',
]
EVENTS = [
    {"type": "track", "event": "Order Completed"},
    {"type": "track", "event": "Signed Up"},
    {"type": "track"},
    {"type": "page", "name": "Home"},
    {"type": "screen"},
    {"type": "identify", "traits": {}},
    {"type": "group", "groupId": "g"},
    {"type": "alias"},
    {"event": "Order Completed"},
    {"type": "TRACK", "event": "Order Completed"},
]
# Rows: events above; columns: presets above.
EXPECTED = [
    [False, True, False, False, False, False],
    [True, False, False, False, False, False],
    [True, False, False, False, False, False],
    [False, False, True, False, False, False],
    [False, False, False, True, False, False],
    [False, False, False, False, True, False],
    [False, False, False, False, False, True],
    [False, False, False, False, False, False],
    [False, False, False, False, False, False],
    [False, False, False, False, False, False],
]


@pytest.mark.parametrize(("event", "expected"), list(zip(EVENTS, EXPECTED, strict=True)))
def test_the_six_mixpanel_preset_triggers(event, expected):
    assert [matches(parse(p), event) for p in PRESETS] == expected


def test_the_seed_example():
    trigger = parse('type = "track" and properties.platform = "android"')
    assert matches(trigger, {"type": "track", "properties": {"platform": "android"}})
    assert not matches(trigger, {"type": "track", "properties": {"platform": "ios"}})
    assert not matches(trigger, {"type": "page", "properties": {"platform": "android"}})
    assert not matches(trigger, {"type": "track", "context": {"platform": "android"}})


# --------------------------------------------------------------------------- value reads


def test_each_condition_type_reads_its_own_place():
    event = {
        "type": "identify",
        "event": "E",
        "name": "N",
        "userId": "U",
        "properties": {"p": "1"},
        "traits": {"t": "1"},
        "context": {"traits": {"t": "2"}},
        "anonymousId": "A",
        "integrations": {"Mixpanel": {"x": "y"}},
    }
    for text in [
        'type = "identify"',
        'event = "E"',
        'name = "N"',
        'userId = "U"',
        'properties.p = "1"',
        'traits.t = "1"',
        'context.traits.t = "2"',
        'anonymousId = "A"',
        'integrations.Mixpanel.x = "y"',
    ]:
        assert matches(text, event), text
    assert not matches('traits.t = "2"', event)


@pytest.mark.parametrize(
    ("name", "keys"),
    [("a[0].b", ("a", "0", "b")), ("a..b", ("a", "b")), ("[x]", ("x",)), ("a.b[]", ("a", "b"))],
)
def test_names_split_on_dots_and_brackets(name, keys):
    assert split_name(name) == keys


@pytest.mark.parametrize(
    ("text", "event_properties", "expected"),
    [
        ('properties.items.\\0.sku = "x"', {"items": [{"sku": "x"}]}, True),
        ('properties.items.1.sku = "y"', {"items": [{"sku": "x"}, {"sku": "y"}]}, True),
        ('properties.items\\[1\\].sku = "y"', {"items": [{"sku": "x"}, {"sku": "y"}]}, True),
        ("properties.items.2.sku != null", {"items": [{"sku": "x"}]}, False),
        ("properties.items.01 != null", {"items": ["a", "b"]}, False),
        ("properties.items.-1 != null", {"items": ["a", "b"]}, False),
        ('properties.m.0 = "zero"', {"m": {"0": "zero"}}, True),
        ('properties.a\\.b = "x"', {"a": {"b": "x"}}, True),
        ("properties.a\\.b != null", {"a.b": "x"}, False),
        # JS leakage we do not reproduce: strings are not walkable, falsy values are not results.
        ("properties.s.length = 3", {"s": "abc"}, False),
        ('properties.s.\\0 = "a"', {"s": "abc"}, False),
        ("properties.list.length = 3", {"list": [1, 2, 3]}, False),
        ("properties.n.x = 0", {"n": 0}, False),
        ("properties.n.x = null", {"n": 0}, True),
        ("properties.constructor != null", {}, False),
    ],
)
def test_walk(text, event_properties, expected):
    assert matches(text, {"properties": event_properties}) is expected


@pytest.mark.parametrize("properties", [None, "abc", [1], 5])
def test_non_object_roots_make_every_key_missing(properties):
    event = {"properties": properties}
    assert matches("properties.a = null", event)
    assert matches('properties.a != "x"', event)
    assert not matches("properties.a != 1", event)


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        # = : a str equal to the value
        ('properties.a = "5"', "5", True),
        ('properties.a = "5"', 5, False),
        ('properties.a = "true"', True, False),
        ('properties.a = "Pro"', "pro", False),
        ('properties.a = "null"', None, False),
        # != : true unless a str equal to the value
        ('properties.a != "pro"', MISSING, True),
        ('properties.a != "pro"', None, True),
        ('properties.a != "5"', 5, True),
        ('properties.a != "true"', True, True),
        ('properties.a != "x"', {"x": 1}, True),
        ('properties.a != "pro"', "pro", False),
        # number_equals / number_not_equals
        ("properties.a = 1", 1, True),
        ("properties.a = 1", 1.0, True),
        ("properties.a = 1", True, False),
        ("properties.a = 0", False, False),
        ("properties.a = 1", "1", False),
        ("properties.a = 1", MISSING, False),
        ("properties.a = 9007199254740993", 9007199254740993, True),
        ("properties.a != 3", MISSING, False),
        ("properties.a != 3", None, False),
        ("properties.a != 3", "4", False),
        ("properties.a != 3", True, False),
        ("properties.a != 3", 4, True),
        ("properties.a != 3", 3.0, False),
        ("properties.a != 3", math.nan, True),
        # ordering: numbers only, NaN never, huge ints as ±inf
        ("properties.a > 3", 5, True),
        ("properties.a > 3", "5", False),
        ("properties.a > 0", True, False),
        ("properties.a >= 3", 3.0, True),
        ("properties.a < 3", 3, False),
        ("properties.a <= 3", 2.5, True),
        ("properties.a > 3", math.nan, False),
        ("properties.a <= 3", math.nan, False),
        ("properties.a > 3", 10**400, True),
        ("properties.a < 3", -(10**400), True),
        ("properties.a > 1e308", 10**400, True),
        ("properties.a > 9007199254740992", 9007199254740993, False),
        ("properties.a < 3", None, False),
        ("properties.a < 3", MISSING, False),
        ('properties.a > "2"', 3, True),
        # contains / not_contains: strings only, lists never searched
        ('contains(properties.a, "ro")', "pro", True),
        ('contains(properties.a, "")', "", True),
        ('contains(properties.a, "pro")', ["pro"], False),
        ('contains(properties.a, "1")', 1, False),
        ('!contains(properties.a, "x")', "pro", True),
        ('!contains(properties.a, "x")', MISSING, False),
        ('!contains(properties.a, "x")', ["pro"], False),
        ('!(contains(properties.a, "x"))', MISSING, True),
        # starts_with / ends_with and their negations
        ('match(properties.a, "Pro*")', "Pro Plan", True),
        ('match(properties.a, "pro*")', "Pro Plan", False),
        ('match(properties.a, "*")', "", True),
        ('match(properties.a, "*")', 5, False),
        ('match(properties.a, "*Plan")', "Pro Plan", True),
        ('!match(properties.a, "Pro*")', "Free", True),
        ('!match(properties.a, "Pro*")', MISSING, False),
        ('!match(properties.a, "*Plan")', "Pro Plan", False),
        ('match(properties.a, "*o P*")', "Pro Plan", True),
        # glob: whole string, "*" is any run including none
        ('match(properties.a, "Plan*Won")', "Plan*Won", True),
        ('match(properties.a, "Plan*Won")', "PlanWon", True),
        ('match(properties.a, "Plan*Won")', "Plan X\nWon", True),
        ('match(properties.a, "Plan*Won")', "Plan Won!", False),
        ('match(properties.a, "a*b*a")', "aba", True),
        ('match(properties.a, "a*b*a")', "ab", False),
        ('match(properties.a, "a*a")', "a", False),
        ('match(properties.a, "**a**")', "xax", True),
        ('match(properties.a, "pro")', "pro", True),
        ('match(properties.a, "pro")', "pro!", False),
        ('match(properties.a, "")', "", True),
        ('!match(properties.a, "a*b")', "ab", False),
        ('!match(properties.a, "a*b")', "ba", True),
        ('!match(properties.a, "a*b")', None, False),
        # exists / not_exists: null and missing alike; 0, "" and false exist
        ("properties.a != null", 0, True),
        ("properties.a != null", "", True),
        ("properties.a != null", False, True),
        ("properties.a != null", None, False),
        ("properties.a != null", MISSING, False),
        ("properties.a = null", None, True),
        ("properties.a = null", MISSING, True),
        ("properties.a = null", [], False),
        # is_true / is_false: real booleans only
        ("properties.a = true", True, True),
        ("properties.a = true", 1, False),
        ("properties.a = true", "true", False),
        ("properties.a = false", False, True),
        ("properties.a = false", 0, False),
        ("properties.a = false", MISSING, False),
    ],
)
def test_operators_are_strictly_typed(text, value, expected):
    assert matches(text, props(value)) is expected


@pytest.mark.parametrize(
    ("text", "event", "expected"),
    [
        ("userId = 42", {"userId": 42}, False),
        ("userId = 42", {"userId": "42"}, True),
        ("userId != 42", {"userId": 42}, True),
        ("userId = true", {"userId": True}, True),
        ("userId = null", {"userId": None}, True),
        ("name = true", {"name": True}, False),
        ("name = true", {"name": "true"}, True),
        ("type = null", {}, False),
        ("type = null", {"type": "null"}, True),
        ("type != null", {}, True),
        ("event = false", {"event": "false"}, True),
        ("type > 3", {"type": 5}, True),
        ("type > 3", {"type": "5"}, False),
        ('name >= " 2 "', {"name": 2}, True),
        ('contains(type, "ack")', {"type": "track"}, True),
    ],
)
def test_string_fields_compare_as_text(text, event, expected):
    assert matches(text, event) is expected


@pytest.mark.parametrize(
    ("text", "event", "expected"),
    [
        ("properties.seats > 3", {"properties": {"seats": 5}}, True),
        ("properties.seats > 3", {"properties": {"seats": "5"}}, False),
        ('properties.plan != "pro"', {"properties": {}}, True),
        ("properties.seats != 3", {"properties": {}}, False),
        ("traits.beta = true", {"traits": {"beta": True}}, True),
        ("traits.beta = true", {"traits": {"beta": "true"}}, False),
    ],
)
def test_the_spec_examples(text, event, expected):
    assert matches(text, event) is expected


def test_groups_and_negation():
    event = {"type": "track", "event": "A"}
    assert matches('type = "track" and (event = "B" or event = "A")', event)
    assert not matches('type = "track" and event = "B"', event)
    assert matches('type = "page" or event = "A"', event)
    assert matches('!(type = "page")', event)
    assert not matches('!(type = "track" and event = "A")', event)
    assert matches('!(!(type = "track"))', event)
    many = " and ".join(f'event != "{i}"' for i in range(50))
    assert matches(many, event)
    assert matches(" or ".join(f'event = "{i}"' for i in range(50)) + ' or event = "A"', event)


# --------------------------------------------------------------------------- explain


def test_explain_reports_each_condition():
    node = parse('type = "track" and !(properties.seats > 3 or match(event, "Order*"))')
    event = {"type": "track", "event": "Order Completed", "properties": {"seats": "9"}}
    assert explain(node, event) == [
        ('type = "track"', True),
        ("properties.seats > 3", False),
        ('match(event, "Order*")', True),
    ]
    assert explain('type = "x"', None) == [('type = "x"', False)]


def test_explain_of_a_single_condition():
    assert explain(Condition(type="userId", operator="exists"), {"userId": 0}) == [
        ("userId != null", True)
    ]


# --------------------------------------------------------------------------- Segment parity

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[1] / "golden" / "fql.json").read_text(encoding="utf-8")
)
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# Object.prototype members JS finds on any object; we deliberately do not (§2.1).
_PROTOTYPE = {
    "constructor",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
}


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"$js"}:
            return _SPECIAL[value["$js"]]
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _norm(ast):
    """Collapse one-child groups and merge same-operator children (lint's ``norm``, §2.8.1)."""
    if ast.get("type") != "group":
        return ast
    flat = []
    for child in map(_norm, ast["children"]):
        if child.get("type") == "group" and child["operator"] == ast["operator"]:
            flat.extend(child["children"])
        else:
            flat.append(child)
    return flat[0] if len(flat) == 1 else {**ast, "children": flat}


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


_ROOTS = {"event-property": "properties", "event-trait": "traits", "event-context": "context"}


def _leaks_js(ast, event) -> bool:
    """Whether Segment's answer for this event depends on JS leakage we do not reproduce (§2.1)."""
    if ast.get("type") == "group":
        return any(_leaks_js(child, event) for child in ast["children"])
    if ast["type"] not in _ROOTS:
        return False
    cur = event.get(_ROOTS[ast["type"]])
    for key in split_name(ast["name"]):
        if isinstance(cur, dict):
            if key in _PROTOTYPE and key not in cur:
                return True
            cur = cur.get(key)
        elif isinstance(cur, list):
            if key == "length":
                return True
            cur = (
                cur[int(key)]
                if key.isdigit() and str(int(key)) == key and int(key) < len(cur)
                else None
            )
        elif cur is None:
            return False
        else:
            return True  # strings index and have .length; falsy values end the walk as results
    return False


def _same_reading(case, node) -> bool:
    return "ast" in case and _same(_norm(to_ast(node)), _norm(_decode(case["ast"])))


def _compared_cases():
    """Golden cases our grammar parses to the very conditions Segment reads."""
    out = []
    for case in GOLDEN["cases"]:
        try:
            node = parse(case["fql"])
        except FqlError:
            continue
        if _same_reading(case, node):
            out.append((case, node))
    return out


_COMPARED = _compared_cases()


def test_enough_golden_cases_read_the_same_as_segment():
    assert len(_COMPARED) >= 400


@pytest.mark.parametrize(
    ("case", "node"), _COMPARED, ids=[repr(case["fql"][:60]) for case, _ in _COMPARED]
)
def test_matches_agrees_with_segment_where_the_readings_agree(case, node):
    events = [_decode(e) for e in GOLDEN["events"]]
    ast = _decode(case["ast"])
    wrong = [
        (i, expected)
        for i, (event, expected) in enumerate(zip(events, case["matches"], strict=True))
        if expected is not None
        and not _leaks_js(ast, event)
        and matches(node, event) is not expected
    ]
    assert wrong == []
