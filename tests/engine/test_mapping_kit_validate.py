"""mapping-kit validate(): every message, its path and its order (spec §3.3)."""

from __future__ import annotations

import pytest

from mappings.engine.mapping_kit import MappingError, transform, validate

ROOT = "__segment_internal_directive"


# --------------------------------------------------------------------------- format and order


def test_valid_mapping_gives_no_messages():
    mapping = {
        "plan": {"@path": "$.traits.plan"},
        "greeting": {"@template": "Hi {{traits.name}}"},
        "static": {"nested": [1, "two", None]},
        "n": 3,
    }
    assert validate(mapping) == []


def test_message_path_holds_raw_keys_and_directive_names():
    mapping = {"plan": {"@if": {"exists": {"@path": 5}}}}
    assert validate(mapping) == [
        "/plan/@if/exists/@path should be a string or a mapping directive but it is a number."
    ]


def test_root_path_gives_slash_then_space():
    assert validate({"@a": 1, "@b": 2}) == [
        "/ should only have one @-prefixed key but it has 2 keys."
    ]


def test_empty_key_gives_double_slash():
    assert validate({"": {"@path": 1}}) == [
        "//@path should be a string or a mapping directive but it is a number."
    ]


def test_top_level_directive_is_validated_at_the_root():
    assert validate({"@path": 5}) == [
        "/@path should be a string or a mapping directive but it is a number."
    ]


def test_messages_follow_js_key_order_with_index_keys_first():
    mapping = {"b": {"@path": 1}, "2": {"@path": 2}, "a": {"@path": True}, "10": {"@path": None}}
    assert validate(mapping) == [
        "/2/@path should be a string or a mapping directive but it is a number.",
        "/10/@path should be a string or a mapping directive but it is a null.",
        "/b/@path should be a string or a mapping directive but it is a number.",
        "/a/@path should be a string or a mapping directive but it is a boolean.",
    ]


def test_messages_are_collected_depth_first():
    mapping = {
        "a": {"@path": 1},
        "b": {"c": {"@template": 2}, "d": {"@nope": 1}},
        "e": {"@path": "ok"},
    }
    assert validate(mapping) == [
        "/a/@path should be a string or a mapping directive but it is a number.",
        "/b/c/@template should be a string or a mapping directive but it is a number.",
        "/b/d has an invalid directive: @nope.",
    ]


def test_array_elements_are_never_validated():
    assert validate({"x": [{"@bogus": 1}, {"@path": 5}, [{"@if": 1}]]}) == []


def test_scalars_are_always_valid():
    assert validate({"a": 1, "b": None, "c": "x", "d": True, "e": 1.5}) == []


# --------------------------------------------------------------------------- directive shape (D)


def test_more_than_one_at_key_counts_only_at_keys():
    mapping = {"x": {"@path": "a", "@template": "b", "k": 1, "_metadata": {}}}
    assert validate(mapping) == ["/x should only have one @-prefixed key but it has 2 keys."]


def test_other_keys_count_all_keys_including_metadata():
    mapping = {"x": {"@path": "a", "k": 1, "_metadata": {}}}
    assert validate(mapping) == ["/x should only have one @-prefixed key but it has 3 keys."]


def test_unknown_directive_names_the_directive():
    assert validate({"x": {"@nope": "a"}}) == ["/x has an invalid directive: @nope."]


def test_directive_names_are_case_sensitive():
    assert validate({"x": {"@Template": "a"}}) == ["/x has an invalid directive: @Template."]


def test_liquid_is_reported_as_not_supported_at_its_own_path():
    assert validate({"note": {"@liquid": "{{ x }}"}}) == ["/note/@liquid is not supported."]


def test_metadata_is_never_validated():
    assert validate({"x": {"@path": "$.a", "_metadata": {"@bogus": 1}}}) == []


def test_shape_errors_stop_before_the_directive_rule():
    assert validate({"x": {"@path": 5, "k": 1}}) == [
        "/x should only have one @-prefixed key but it has 2 keys."
    ]


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("arg", "article_and_type"),
    [
        (5, "a number"),
        (True, "a boolean"),
        (None, "a null"),
        ([], "an array"),
        ({}, "an object"),
        ({"k": 1}, "an object"),
    ],
)
def test_string_or_directive_names_the_type_with_its_article(arg, article_and_type):
    assert validate({"p": {"@path": arg}}) == [
        f"/p/@path should be a string or a mapping directive but it is {article_and_type}."
    ]


def test_string_or_directive_validates_a_nested_directive_at_the_same_path():
    assert validate({"p": {"@template": {"@path": 1}}}) == [
        "/p/@template/@path should be a string or a mapping directive but it is a number."
    ]


def test_string_check_calls_a_directive_a_directive():
    mapping = {
        "k": {"@json": {"mode": {"@path": "$.properties.fmt"}, "value": {"@path": "$.traits"}}}
    }
    assert validate(mapping) == ["/k/@json/mode should be a string but it is a directive."]


def test_object_or_directive_says_a_object():
    mapping = {"t": {"@transform": {"apply": 5, "mapping": "x"}}}
    assert validate(mapping) == [
        "/t/@transform/apply should be a object or a mapping directive but it is a number.",
        "/t/@transform/mapping should be a object or a mapping directive but it is a string.",
    ]


def test_object_or_directive_walks_object_members():
    mapping = {"t": {"@transform": {"apply": {"a": {"@path": 1}}, "mapping": {"@nope": 1}}}}
    assert validate(mapping) == [
        "/t/@transform/apply/a/@path should be a string or a mapping directive but it is a number.",
        "/t/@transform/mapping has an invalid directive: @nope.",
    ]


def test_raw_or_directive_accepts_any_json_value():
    for value in (1, "x", None, True, [1, {"@bogus": 1}], {"k": 1}):
        assert validate({"l": {"@literal": value}}) == []
        assert validate({"l": {"@excludeWhenNull": value}}) == []


def test_raw_or_directive_validates_a_directive():
    assert validate({"l": {"@literal": {"@path": 1}}}) == [
        "/l/@literal/@path should be a string or a mapping directive but it is a number."
    ]


def test_raw_or_directive_does_not_walk_an_object_value():
    # The runtime still resolves it (and fails): see the @literal runtime tests.
    assert validate({"l": {"@literal": {"k": {"@path": 1}}}}) == []


def test_boolean_check_names_the_type():
    mapping = {"r": {"@replace": {"pattern": "a", "value": "x", "ignorecase": "yes", "global": 1}}}
    assert validate(mapping) == [
        "/r/@replace/ignorecase should be a boolean but it is a string.",
        "/r/@replace/global should be a boolean but it is a number.",
    ]


def test_array_check_is_not_directive_aware():
    mapping = {"m": {"@merge": {"direction": "left", "objects": {"@path": "$.x"}}}}
    assert validate(mapping) == ["/m/@merge/objects should be an array but it is an object."]


def test_length_checks_count_utf16_units():
    assert validate({"r": {"@replace": {"pattern": "😀" * 5, "value": "x"}}}) == []
    assert validate({"r": {"@replace": {"pattern": "😀" * 6, "value": "x"}}}) == [
        "/r/@replace/pattern should be a string of length 10 or less."
    ]


def test_pattern_must_not_be_empty():
    assert validate({"r": {"@replace": {"pattern": "", "value": "x"}}}) == [
        "/r/@replace/pattern should be a string of length 1 or greater."
    ]


def test_pattern_of_exactly_ten_characters_is_valid():
    assert validate({"r": {"@replace": {"pattern": "a" * 10, "value": "x"}}}) == []


def test_replacement_may_be_empty_but_not_longer_than_ten():
    assert validate({"r": {"@replace": {"pattern": "a", "replacement": "", "value": "x"}}}) == []
    assert validate(
        {"r": {"@replace": {"pattern": "a", "replacement": "b" * 11, "value": "x"}}}
    ) == ["/r/@replace/replacement should be a string of length 10 or less."]


def test_length_check_runs_only_after_the_string_check():
    assert validate({"r": {"@replace": {"pattern": 12345678901, "value": "x"}}}) == [
        "/r/@replace/pattern should be a string but it is a number."
    ]


def test_enum_check_quotes_the_value_as_json():
    assert validate({"j": {"@json": {"mode": "yaml", "value": "x"}}}) == [
        '/j/@json/mode should be one of encode, decode but it is "yaml".'
    ]
    assert validate({"j": {"@json": {"mode": 'a"b', "value": "x"}}}) == [
        '/j/@json/mode should be one of encode, decode but it is "a\\"b".'
    ]


def test_enum_check_ignores_case():
    assert validate({"j": {"@json": {"mode": "ENCODE", "value": "x"}}}) == []
    assert validate({"m": {"@merge": {"direction": "Left", "objects": []}}}) == []


def test_enum_check_runs_only_after_the_string_check():
    assert validate({"m": {"@merge": {"direction": 1, "objects": []}}}) == [
        "/m/@merge/direction should be a string but it is a number."
    ]


# --------------------------------------------------------------------------- options objects


@pytest.mark.parametrize(
    ("opts", "article_and_type"),
    [
        ({"@path": "x"}, "a directive"),
        (5, "a number"),
        ([], "an array"),
        (None, "a null"),
        ("x", "a string"),
    ],
)
def test_options_must_be_an_object(opts, article_and_type):
    assert validate({"k": {"@if": opts}}) == [
        f"/k/@if should be an object but it is {article_and_type}."
    ]


def test_options_members_are_checked_first_and_stop_the_field_checks():
    mapping = {"k": {"@replace": {"value": 7, "extra": {"@path": 1}}}}
    assert validate(mapping) == [
        "/k/@replace/extra/@path should be a string or a mapping directive but it is a number."
    ]


def test_options_metadata_member_is_walked_too():
    mapping = {"k": {"@case": {"operator": "lower", "value": "x", "_metadata": {"@nope": 1}}}}
    assert validate(mapping) == ["/k/@case/_metadata has an invalid directive: @nope."]


def test_options_collect_every_field_message_in_field_order():
    assert validate({"slug": {"@replace": {"value": 7}}}) == [
        '/slug/@replace should have field "pattern" but it doesn\'t.',
        "/slug/@replace/value should be a string or a mapping directive but it is a number.",
    ]


def test_if_accepts_any_raw_exists_then_and_else():
    mapping = {"k": {"@if": {"exists": 0, "then": [1], "else": None}}}
    assert validate(mapping) == []


def test_if_blank_is_only_walked_as_a_member():
    assert validate({"k": {"@if": {"blank": 5}}}) == []
    assert validate({"k": {"@if": {"blank": {"@path": 5}}}}) == [
        "/k/@if/blank/@path should be a string or a mapping directive but it is a number."
    ]


def test_if_without_exists_or_blank_is_valid_for_the_validator():
    assert validate({"k": {"@if": {}}}) == []


def test_case_checks_operator_and_value():
    assert validate({"c": {"@case": {"operator": 5, "value": 6}}}) == [
        "/c/@case/operator should be a string but it is a number.",
        "/c/@case/value should be a string or a mapping directive but it is a number.",
    ]


def test_case_operator_is_optional_for_the_validator():
    assert validate({"c": {"@case": {"value": "x"}}}) == []


def test_replace_second_pattern_is_only_walked_as_a_member():
    mapping = {
        "r": {
            "@replace": {
                "pattern": "a",
                "value": "x",
                "pattern2": "b" * 20,
                "replacement2": 5,
            }
        }
    }
    assert validate(mapping) == []


def test_json_requires_value_and_mode_in_that_order():
    assert validate({"j": {"@json": {}}}) == [
        '/j/@json should have field "value" but it doesn\'t.',
        '/j/@json should have field "mode" but it doesn\'t.',
    ]


def test_json_accepts_a_null_value():
    assert validate({"j": {"@json": {"mode": "encode", "value": None}}}) == []


def test_flatten_requires_value_and_a_string_separator():
    assert validate({"f": {"@flatten": {"separator": {"@path": "$.s"}}}}) == [
        "/f/@flatten/separator should be a string but it is a directive.",
        '/f/@flatten should have field "value" but it doesn\'t.',
    ]


def test_flatten_separator_is_optional_for_the_validator():
    assert validate({"f": {"@flatten": {"value": {}}}}) == []


def test_merge_requires_objects():
    assert validate({"m": {"@merge": {"direction": "left"}}}) == [
        '/m/@merge should have field "objects" but it doesn\'t.'
    ]


def test_merge_elements_are_checked_with_an_empty_path_and_stop_at_the_first_failure():
    mapping = {"m": {"@merge": {"direction": "left", "objects": [{}, 5, "x"]}}}
    assert validate(mapping) == ["/ should be a object or a mapping directive but it is a number."]


def test_merge_element_members_are_reported_relative_to_the_element():
    mapping = {"m": {"@merge": {"objects": [{"k": {"@path": 1}, "j": {"@path": 2}}, 5]}}}
    assert validate(mapping) == [
        "/k/@path should be a string or a mapping directive but it is a number.",
        "/j/@path should be a string or a mapping directive but it is a number.",
    ]


def test_merge_elements_are_not_checked_when_the_options_report():
    mapping = {"m": {"@merge": {"direction": "up", "objects": [5]}}}
    assert validate(mapping) == ['/m/@merge/direction should be one of left, right but it is "up".']


def test_merge_accepts_directive_elements():
    mapping = {"m": {"@merge": {"objects": [{"@path": "$.a"}, {"@path": "$.b"}]}}}
    assert validate(mapping) == []


def test_transform_requires_apply_then_mapping():
    assert validate({"t": {"@transform": {}}}) == [
        '/t/@transform should have field "apply" but it doesn\'t.',
        '/t/@transform should have field "mapping" but it doesn\'t.',
    ]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("$.x", "/a/@arrayPath should be an array but it is a string."),
        ({"@path": "$.x"}, "/a/@arrayPath should be an array but it is an object."),
        ([], "/a/@arrayPath should be a string or a mapping directive but it is an undefined."),
        ([5], "/a/@arrayPath should be a string or a mapping directive but it is a number."),
        (
            [{"@path": 1}],
            "/a/@arrayPath/@path should be a string or a mapping directive but it is a number.",
        ),
        (
            ["$.x", {"sku": {"@path": 1}}],
            "/a/@arrayPath/sku/@path should be a string or a mapping directive but it is a number.",
        ),
        (
            ["$.x", {"@path": 1}],
            "/a/@arrayPath/@path should be a string or a mapping directive but it is a number.",
        ),
    ],
)
def test_array_path_messages(arg, message):
    assert validate({"a": {"@arrayPath": arg}}) == [message]


def test_array_path_stops_at_a_bad_path_before_the_shape():
    assert validate({"a": {"@arrayPath": [5, {"x": {"@path": 1}}]}}) == [
        "/a/@arrayPath should be a string or a mapping directive but it is a number."
    ]


def test_array_path_accepts_scalar_and_array_shapes():
    assert validate({"a": {"@arrayPath": ["$.x", 5]}}) == []
    assert validate({"a": {"@arrayPath": ["$.x", [{"@bogus": 1}]]}}) == []
    assert validate({"a": {"@arrayPath": ["$.x", {"k": 1}, "ignored"]}}) == []


# --------------------------------------------------------------------------- what transform processes


def test_root_transform_is_validated_as_transform_processes_it():
    mapping = {
        ROOT: {"@transform": {"apply": {"tier": {"@path": "$.traits.plan"}}}},
        "plan_tier": {"@path": "$.tier"},
    }
    assert validate(mapping) == []


def test_customer_keys_of_a_root_mapping_are_reported_under_the_root_directive():
    mapping = {ROOT: {"@transform": {"apply": {}}}, "p": {"@path": 1}}
    assert validate(mapping) == [
        "/@transform/mapping/p/@path should be a string or a mapping directive but it is a number."
    ]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (None, "Cannot convert undefined or null to object"),
        ({ROOT: None}, "Cannot convert undefined or null to object"),
        ({ROOT: {"@a": {}, "@b": {}}}, "The root mapping must only have a single directive object"),
        ({ROOT: "ab"}, "The root mapping must only have a single directive object"),
        ({ROOT: [{}, {}]}, "The root mapping must only have a single directive object"),
        ({ROOT: {"@transform": "x"}}, "The root directive must be an object"),
        ({ROOT: {"@transform": None}}, "The root directive must be an object"),
        ({ROOT: {}}, "The root directive must be an object"),
        ({ROOT: []}, "The root directive must be an object"),
        ({ROOT: "a"}, "The root directive must be an object"),
        ({ROOT: 5}, "The root directive must be an object"),
        ({ROOT: True}, "The root directive must be an object"),
    ],
)
def test_root_handling_failures_are_the_one_message(mapping, message):
    assert validate(mapping) == [message]
    with pytest.raises(MappingError) as caught:
        transform(mapping, {})
    assert caught.value.messages == [message]
    assert caught.value.phase == "runtime"


def test_spread_mappings_are_validated_after_the_spread():
    assert validate("ab") == []
    assert validate([{"@path": 1}]) == [
        "/0/@path should be a string or a mapping directive but it is a number."
    ]
    assert validate(5) == []
