"""The trigger builder's rows ⇄ FQL, without Django: every shape it can show round-trips."""

from __future__ import annotations

import pytest

from mappings.engine import fql
from mappings.forms.editor_trigger import TriggerForm, parse_rows, rows_data, trigger_data
from mappings.views import trigger_builder as tb
from mappings.views.trigger_builder import ConditionRow, GroupRow

EXPRESSIBLE = [
    'type = "track"',
    'type != "identify"',
    'type = "track" and properties.platform = "android"',
    'type = "track" and event != "Order Completed"',
    'event = "Signed Up" or event = "Logged In"',
    'contains(event, "Viewed")',
    '!contains(name, "Admin")',
    'match(event, "Order*")',
    '!match(event, "Order*")',
    'match(userId, "*@acme.example")',
    '!match(name, "*Settings")',
    "properties.seats > 3",
    "properties.seats >= 3.5",
    "traits.age < 18",
    "context.screen.width <= 1080",
    "properties.price = 9.99",
    "properties.count != 0",
    'properties.count = "0"',
    "properties.beta = true",
    "traits.vip = false",
    "context.ip != null",
    "properties.coupon = null",
    "userId != null",
    "name = null",
    'anonymousId = "a-1"',
    "messageId != null",
    'properties.items\\[0\\].sku = "x"',
    'properties.address.city = "Berlin"',
    'type = "identify" or (traits.seats > 3 and context.ip != null)',
    'type = "track" and (event = "A" or (properties.n > 1 and properties.m < 2))',
    '(type = "page" or type = "screen") and properties.path != null',
    'event = "say \\"hi\\""',
]

NOT_EXPRESSIBLE = [
    '!(type = "track")',
    'match(event, "Plan*Won")',  # a glob
    'match(event, "Plan")',  # a glob without *
    'properties.plan = ""',
    "event > 3",
]


@pytest.mark.parametrize("text", EXPRESSIBLE)
def test_rows_build_back_to_the_same_fql(text):
    node = fql.parse(text)
    rows = tb.rows_from_node(node)
    built, errors = tb.node_from_rows(rows)
    assert errors == {}
    assert built == node
    assert fql.to_fql(built) == fql.to_fql(node)
    assert tb.rows_from_node(built) == rows


@pytest.mark.parametrize("text", EXPRESSIBLE)
def test_rows_survive_the_form_round_trip(text):
    rows = tb.rows_from_node(fql.parse(text))
    assert parse_rows(rows_data(rows)) == rows


@pytest.mark.parametrize("text", NOT_EXPRESSIBLE)
def test_what_the_builder_cannot_show_says_so(text):
    with pytest.raises(tb.NotExpressible):
        tb.rows_from_node(fql.parse(text))
    assert trigger_data(text)["trigger_mode"] == "raw"


def test_the_seed_android_example_by_clicking():
    rows = tb.rows_from_node(fql.parse('type = "track"'))
    rows = tb.add_condition(rows, 0)
    assert rows[-1] == ConditionRow(1)
    rows[-1] = ConditionRow(1, "properties", "platform", "eq", "android")
    node, errors = tb.node_from_rows(rows)
    assert errors == {}
    assert fql.to_fql(node) == 'type = "track" and properties.platform = "android"'


def test_numbers_and_text_compare_differently():
    as_text = ConditionRow(1, "properties", "count", "eq", "3", "string")
    as_number = ConditionRow(1, "properties", "count", "eq", "3", "number")
    text_node, _ = tb.node_from_rows([GroupRow(0), as_text])
    number_node, _ = tb.node_from_rows([GroupRow(0), as_number])
    assert fql.to_fql(text_node) == 'properties.count = "3"'
    assert fql.to_fql(number_node) == "properties.count = 3"


def test_nested_groups_alternate_and_same_operator_groups_flatten():
    rows = [
        GroupRow(0, "and"),
        ConditionRow(1, "type", "", "eq", "track"),
        GroupRow(1, "or"),
        ConditionRow(2, "event", "", "eq", "A"),
        GroupRow(2, "and"),
        ConditionRow(3, "properties", "n", "gt", "1"),
        ConditionRow(3, "properties", "m", "lt", "2"),
        GroupRow(1, "and"),  # same operator as its parent: merged, as the parser does
        ConditionRow(2, "userId", "", "exists"),
    ]
    node, errors = tb.node_from_rows(rows)
    assert errors == {}
    assert fql.to_fql(node) == (
        'type = "track" and (event = "A" or (properties.n > 1 and properties.m < 2)) '
        "and userId != null"
    )


def test_empty_groups_and_a_lone_condition_collapse():
    rows = [GroupRow(0, "or"), GroupRow(1, "and"), ConditionRow(1, "type", "", "eq", "page")]
    node, errors = tb.node_from_rows(rows)
    assert errors == {} and fql.to_fql(node) == 'type = "page"'


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (ConditionRow(1, "properties", "", "eq", "x"), "Enter a path"),
        (ConditionRow(1, "properties", "a..b", "eq", "x"), "Enter a path"),
        (ConditionRow(1, "event", "", "eq", ""), "Enter a value"),
        (ConditionRow(1, "properties", "n", "gt", "three"), "Enter a number"),
        (ConditionRow(1, "properties", "n", "eq", "1,5", "number"), "Enter a number"),
        (ConditionRow(1, "event", "", "starts_with", "a*b"), "cannot be written exactly"),
        (ConditionRow(1, "field", "properties.x", "eq", "1"), "field list"),
        (ConditionRow(1, "type", "", "exists"), "Choose a comparison"),
    ],
)
def test_incomplete_rows_get_a_message(row, message):
    node, errors = tb.node_from_rows([GroupRow(0), ConditionRow(1, "type", "", "eq", "track"), row])
    assert message in errors[2]


def test_no_condition_at_all_is_an_error():
    node, errors = tb.node_from_rows([GroupRow(0)])
    assert node is None and errors == {0: "Add at least one condition."}


def test_add_and_remove_keep_nesting():
    rows = [GroupRow(0), ConditionRow(1, "type", "", "eq", "track")]
    rows = tb.add_group(rows, 0)
    assert rows[2:] == [GroupRow(1, "or"), ConditionRow(2)]
    rows = tb.add_condition(rows, 2)
    assert rows[4] == ConditionRow(2)
    rows = tb.add_condition(rows, 0)
    assert rows[5] == ConditionRow(1)
    assert tb.remove_row(rows, 2) == [
        GroupRow(0),
        ConditionRow(1, "type", "", "eq", "track"),
        ConditionRow(1),
    ]
    assert tb.remove_row(rows, 0) == rows  # the top group stays


def test_changing_the_field_resets_an_operator_it_does_not_offer():
    data = rows_data([GroupRow(0), ConditionRow(1, "properties", "n", "gt", "3")])
    data["t-1-field"] = "type"
    assert parse_rows(data)[1].operator == "eq"


def test_the_trigger_form_clicks_through_the_android_example():
    data = {**trigger_data('type = "track"'), "builder": "add-condition:0"}
    form = TriggerForm(data, actions=True)
    assert not form.is_valid()  # the new row is empty
    assert form.focus_row == 2
    data = {**rows_data(form.rows), "trigger_mode": "builder"}
    data.update(
        {"t-2-field": "properties", "t-2-path": "platform", "t-2-op": "eq", "t-2-value": "android"}
    )
    form = TriggerForm(data)
    assert form.is_valid()
    assert form.fql == 'type = "track" and properties.platform = "android"'
    assert form.lint == []


def test_raw_fql_shows_typed_canonical_and_lint_side_by_side():
    form = TriggerForm(
        {"trigger_mode": "raw", "trigger_raw": 'type="track" and match(event, "Plan")'}
    )
    assert form.is_valid()
    assert form.raw == 'type="track" and match(event, "Plan")'
    assert form.canonical == 'type = "track" and match(event, "Plan")'
    assert any(w.startswith("match-no-star") for w in form.lint)
    assert "builder cannot show" in form.note


def test_switching_tabs_converts_both_ways_and_refuses_what_does_not_fit():
    to_raw = TriggerForm({**trigger_data('type = "track"'), "trigger_tab": "raw"}, actions=True)
    assert to_raw.is_valid() and to_raw.mode == "raw" and to_raw.raw == 'type = "track"'
    back = TriggerForm(
        {"trigger_mode": "raw", "trigger_raw": 'event = "A"', "trigger_tab": "builder"},
        actions=True,
    )
    assert back.is_valid() and back.mode == "builder" and back.rows[1].value == "A"
    stuck = TriggerForm(
        {"trigger_mode": "raw", "trigger_raw": '!(event = "A")', "trigger_tab": "builder"},
        actions=True,
    )
    assert stuck.is_valid() and stuck.mode == "raw" and "negated" in stuck.note


def test_a_raw_parse_error_names_the_position():
    form = TriggerForm({"trigger_mode": "raw", "trigger_raw": 'type = "track" and'})
    assert not form.is_valid()
    assert "position" in form.errors["trigger_raw"][0]
