"""mapping-kit directives at runtime (spec §3.7).

"array-only" errors are provoked inside arrays, where validation never looks.
"""

from __future__ import annotations

import math

import pytest

from mappings.engine.mapping_kit import MappingError, transform, validate
from mappings.engine.mapping_kit_runtime import ROOT_KEY as ROOT


def runtime_error(mapping, payload=None) -> str:
    with pytest.raises(MappingError) as caught:
        transform(mapping, {} if payload is None else payload)
    assert caught.value.phase == "runtime"
    assert len(caught.value.messages) == 1
    return str(caught.value)


def one(directive, payload=None):
    """The value a single directive produces, or the string "<absent>"."""
    result = transform({"k": directive}, {} if payload is None else payload)
    return result.get("k", "<absent>")


def in_array(directive, payload=None):
    """The value a directive produces inside an array, where validation never runs."""
    return transform({"k": [directive]}, {} if payload is None else payload)["k"][0]


# --------------------------------------------------------------------------- @path / @template


def test_path_reads_the_payload():
    assert one({"@path": "$.traits.plan"}, {"traits": {"plan": "pro"}}) == "pro"


def test_missing_path_drops_the_key():
    assert one({"@path": "$.traits.plan"}, {}) == "<absent>"


def test_dynamic_path_is_resolved_first():
    payload = {"which": "b", "properties": {"a": 1, "b": 2}}
    assert one({"@path": {"@template": "$.properties.{{which}}"}}, payload) == 2


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(5, "number"), (None, "null"), ({"x": 1}, "object"), ([1], "array"), (True, "boolean")],
)
def test_dynamic_path_must_resolve_to_a_string(value, type_name):
    mapping = {"k": {"@path": {"@path": "$.p"}}}
    assert runtime_error(mapping, {"p": value}) == f"@path: expected string, got {type_name}"


def test_dynamic_path_that_is_absent_names_undefined():
    assert (
        runtime_error({"k": {"@path": {"@path": "$.p"}}}) == "@path: expected string, got undefined"
    )


def test_non_string_path_argument_fails_at_runtime_inside_arrays():
    assert runtime_error({"k": [{"@path": 5}]}) == "@path: expected string, got number"
    assert runtime_error({"k": [{"@path": ["$.a"]}]}) == "@path: expected string, got array"


def test_dynamic_template_must_resolve_to_a_string():
    mapping = {"k": {"@template": {"@path": "$.t"}}}
    assert runtime_error(mapping, {"t": {"a": 1}}) == "@template: expected string, got object"
    assert transform(mapping, {"t": "Hi {{n}}", "n": "Bo"}) == {"k": "Hi Bo"}


# --------------------------------------------------------------------------- @literal


def test_literal_keeps_null():
    assert transform({"k": {"@literal": None}}) == {"k": None}


def test_literal_still_runs_nested_directives():
    payload = {"a": 1}
    assert one({"@literal": {"x": {"@path": "$.a"}}}, payload) == {"x": 1}
    assert one({"@literal": [{"@path": "$.a"}, 2]}, payload) == [1, 2]


def test_literal_with_an_invalid_nested_directive_fails_only_at_runtime():
    mapping = {"l": {"@literal": {"k": {"@path": 1}}}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == "@path: expected string, got number"


# --------------------------------------------------------------------------- @if


IF_EXISTS = {"@if": {"exists": {"@path": "$.x"}, "then": "yes", "else": "no"}}
IF_BLANK = {"@if": {"blank": {"@path": "$.x"}, "then": "yes", "else": "no"}}


@pytest.mark.parametrize("value", [0, "", False, [], {}, "x"])
def test_if_exists_is_true_for_any_present_non_null_value(value):
    assert one(IF_EXISTS, {"x": value}) == "yes"


@pytest.mark.parametrize("payload", [{}, {"x": None}])
def test_if_exists_is_false_for_absent_or_null(payload):
    assert one(IF_EXISTS, payload) == "no"


@pytest.mark.parametrize("value", ["a", " ", 1, math.nan, True, [None, None], [0], {}])
def test_if_blank_is_true_for_values_loosely_unequal_to_the_empty_string(value):
    assert one(IF_BLANK, {"x": value}) == "yes"


@pytest.mark.parametrize("value", ["", 0, 0.0, False, [], [None], [""], [[]], None])
def test_if_blank_is_false_for_values_loosely_equal_to_the_empty_string_and_null(value):
    assert one(IF_BLANK, {"x": value}) == "no"


def test_if_blank_is_false_when_absent():
    assert one(IF_BLANK, {}) == "no"


def test_if_present_exists_key_wins_over_blank_whatever_its_value():
    directive = {"@if": {"exists": 0, "blank": {"@path": "$.missing"}, "then": "yes"}}
    assert one(directive) == "yes"
    directive = {"@if": {"exists": None, "blank": "x", "then": "yes", "else": "no"}}
    assert one(directive) == "no"


@pytest.mark.parametrize("then", [False, 0, None, ""])
def test_if_returns_falsy_then_values_as_they_are(then):
    assert one({"@if": {"exists": {"@path": "$.x"}, "then": then}}, {"x": 1}) == then


def test_if_true_without_then_is_absent_even_with_else():
    assert one({"@if": {"exists": {"@path": "$.x"}, "else": "no"}}, {"x": 1}) == "<absent>"


@pytest.mark.parametrize("other", [False, 0, "", None])
def test_if_falsy_else_drops_the_key(other):
    assert one({"@if": {"exists": {"@path": "$.x"}, "then": 1, "else": other}}) == "<absent>"


def test_if_false_without_else_is_absent():
    assert one({"@if": {"exists": {"@path": "$.x"}, "then": 1}}) == "<absent>"


def test_if_resolves_then_and_else():
    directive = {
        "@if": {"exists": {"@path": "$.x"}, "then": {"@path": "$.x"}, "else": {"@path": "$.y"}}
    }
    assert one(directive, {"x": 1, "y": 2}) == 1
    assert one(directive, {"y": 2}) == 2


@pytest.mark.parametrize("exists", ["", 0, False, None])
def test_if_without_truthy_exists_or_blank_fails_at_runtime(exists):
    mapping = {"k": {"@if": {"exists": exists, "then": 1}}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == '@if requires an "exists" key or a "blank" key'


def test_if_without_any_condition_key_fails_at_runtime():
    assert (
        runtime_error({"k": {"@if": {"then": 1}}})
        == '@if requires an "exists" key or a "blank" key'
    )


def test_if_options_that_are_not_an_object_fail_inside_arrays():
    assert runtime_error({"k": [{"@if": 5}]}) == '@if requires an object with an "exists" key'
    assert runtime_error({"k": [{"@if": [1]}]}) == '@if requires an object with an "exists" key'


def test_if_untaken_branch_is_never_resolved():
    directive = {"@if": {"exists": {"@path": "$.x"}, "then": 1, "else": [{"@bogus": 1}]}}
    assert one(directive, {"x": 1}) == 1
    assert runtime_error({"k": directive}) == "@bogus is not a valid directive, got undefined"


# --------------------------------------------------------------------------- @case


def test_case_lower_and_upper_use_full_unicode_mappings():
    assert one({"@case": {"operator": "upper", "value": "straße"}}) == "STRASSE"
    assert one({"@case": {"operator": "lower", "value": "ΟΔΟΣ"}}) == "οδος"
    assert (
        one({"@case": {"operator": "lower", "value": {"@path": "$.e"}}}, {"e": "MiXeD"}) == "mixed"
    )


def test_case_operator_is_compared_exactly():
    mapping = {"k": {"@case": {"operator": "Upper", "value": "x"}}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == 'operator key should have a value of "lower" or "upper"'


@pytest.mark.parametrize("value", [5, None, {"a": 1}, [1], True])
def test_case_returns_non_string_values_unchanged_even_with_a_bad_operator(value):
    directive = {"@case": {"operator": "bogus", "value": {"@path": "$.v"}}}
    assert one(directive, {"v": value}) == value


def test_case_with_an_absent_value_is_absent():
    assert one({"@case": {"operator": "bogus", "value": {"@path": "$.v"}}}) == "<absent>"


def test_case_with_a_falsy_raw_value_is_absent():
    assert one({"@case": {"operator": "lower", "value": ""}}) == "<absent>"


@pytest.mark.parametrize("operator", ["<missing>", "", None])
def test_case_without_a_truthy_operator_fails_at_runtime(operator):
    opts = {"value": "x"} if operator == "<missing>" else {"operator": operator, "value": "x"}
    if operator is None:
        # A null operator is a validation error; inside an array only the runtime sees it.
        assert runtime_error({"k": [{"@case": opts}]}) == '@case requires a "operator" key'
    else:
        assert runtime_error({"k": {"@case": opts}}) == '@case requires a "operator" key'


def test_case_options_that_are_not_an_object_fail_inside_arrays():
    assert (
        runtime_error({"k": [{"@case": "lower"}]})
        == '@case requires an object with a "operator" key'
    )


# --------------------------------------------------------------------------- @replace


def replace(value, pattern, replacement=None, **flags):
    opts = {"pattern": pattern, "value": value, **flags}
    if replacement is not None:
        opts["replacement"] = replacement
    return one({"@replace": opts})


def test_replace_is_global_by_default():
    assert replace("a-b-c", "-", "_") == "a_b_c"


def test_replace_with_global_false_replaces_the_first_match_only():
    assert replace("a-b-c", "-", "_", **{"global": False}) == "a_b-c"


def test_replace_without_replacement_deletes_the_matches():
    assert replace("a-b-c", "-") == "abc"


def test_replace_treats_the_pattern_literally():
    assert replace("a.b*c", ".", "!") == "a!b*c"
    assert replace("a.b*c", "*", "!") == "a.b!c"
    assert replace("(x)[y]", "(x)", "z") == "z[y]"
    assert replace("a b\tc", " ", "_") == "a_b\tc"
    assert replace("1$2^3", "$", "d") == "1d2^3"
    assert replace("a\\b", "\\", "/") == "a/b"


def test_replace_matches_left_to_right_without_overlaps():
    assert replace("aaaa", "aa", "b") == "bb"
    assert replace("aaa", "aa", "b") == "ba"


def test_replace_is_case_sensitive_by_default():
    assert replace("AbA", "a", "x") == "AbA"


def test_replace_ignorecase_folds_like_a_js_regex_without_the_u_flag():
    assert replace("AbA", "a", "x", ignorecase=True) == "xbx"
    assert replace("Éé", "é", "e", ignorecase=True) == "ee"
    assert replace("\u212a", "k", "x", ignorecase=True) == "\u212a"
    assert replace("ſ", "s", "x", ignorecase=True) == "ſ"
    assert replace("ß", "ss", "x", ignorecase=True) == "ß"
    assert replace("ẞß", "ß", "x", ignorecase=True) == "ẞx"
    assert replace("ı", "i", "x", ignorecase=True) == "ı"


def test_replace_expands_dollar_ampersand_to_the_match():
    assert replace("x-y", "-", "<$&>") == "x<->y"


def test_replace_expands_dollar_ampersand_to_the_original_casing_of_the_match():
    assert replace("xAy", "a", "[$&]", ignorecase=True) == "x[A]y"


def test_replace_expands_double_dollar_to_one_dollar():
    assert replace("a-b", "-", "$$") == "a$b"
    assert replace("a-b", "-", "$$&") == "a$&b"


def test_replace_expands_dollar_backtick_to_the_text_before_the_match():
    assert replace("ab-cd", "-", "[$`]") == "ab[ab]cd"
    assert replace("a-b-c", "-", "$`") == "aaba-bc"


def test_replace_expands_dollar_quote_to_the_text_after_the_match():
    assert replace("ab-cd", "-", "[$']") == "ab[cd]cd"


@pytest.mark.parametrize("replacement", ["$1", "$<x>", "x$", "$", "$0", "$a"])
def test_replace_keeps_other_dollar_sequences_literal(replacement):
    assert replace("a-b", "-", replacement) == f"a{replacement}b"


def test_replace_turns_numbers_and_booleans_into_strings():
    directive = {"@replace": {"pattern": "1", "replacement": "2", "value": {"@path": "$.v"}}}
    assert one(directive, {"v": 1.0}) == "2"
    assert one(directive, {"v": 11}) == "22"
    directive = {"@replace": {"pattern": "t", "replacement": "T", "value": {"@path": "$.v"}}}
    assert one(directive, {"v": True}) == "True"


@pytest.mark.parametrize("payload", [{}, {"v": None}, {"v": {"a": 1}}, {"v": ["a"]}])
def test_replace_gives_an_empty_string_for_missing_null_object_and_array_values(payload):
    directive = {"@replace": {"pattern": "a", "value": {"@path": "$.v"}}}
    assert one(directive, payload) == ""


def test_replace_with_a_falsy_raw_value_is_absent():
    assert one({"@replace": {"pattern": "a", "value": ""}}) == "<absent>"


def test_replace_applies_the_second_pattern_to_the_result():
    opts = {
        "pattern": "-",
        "replacement": " ",
        "pattern2": "_",
        "replacement2": ".",
        "value": "a-b_c",
    }
    assert one({"@replace": opts}) == "a b.c"


def test_replace_second_pattern_sees_the_first_result():
    opts = {"pattern": "a", "replacement": "b", "pattern2": "b", "replacement2": "c", "value": "ab"}
    assert one({"@replace": opts}) == "cc"


def test_replace_second_replacement_defaults_to_empty():
    assert one({"@replace": {"pattern": "-", "pattern2": "_", "value": "a-b_c"}}) == "abc"
    opts = {"pattern": "-", "pattern2": "_", "replacement2": None, "value": "a-b_c"}
    assert one({"@replace": opts}) == "abc"


def test_replace_second_pattern_uses_the_same_flags():
    opts = {
        "pattern": "x",
        "pattern2": "A",
        "replacement2": "b",
        "value": "aAa",
        "ignorecase": True,
        "global": False,
    }
    assert one({"@replace": opts}) == "bAa"


def test_replace_second_pattern_length_is_checked_only_at_runtime():
    mapping = {"k": {"@replace": {"pattern": "a", "pattern2": "b" * 11, "value": "abc"}}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == '@replace requires a "pattern" less than 10 characters'
    mapping = {
        "k": {"@replace": {"pattern": "a", "pattern2": "b", "replacement2": "c" * 11, "value": "x"}}
    }
    assert runtime_error(mapping) == '@replace requires a "replacement" less than 10 characters'


def test_replace_length_limits_allow_exactly_ten_utf16_units():
    assert replace("a" * 10, "a" * 10, "b" * 10) == "b" * 10
    assert runtime_error({"k": [{"@replace": {"pattern": "😀" * 6, "value": "x"}}]}) == (
        '@replace requires a "pattern" less than 10 characters'
    )


def test_replace_checks_the_pattern_length_before_the_replacement_length():
    opts = {"pattern": "a" * 11, "replacement": "b" * 11, "value": "x"}
    assert runtime_error({"k": [{"@replace": opts}]}) == (
        '@replace requires a "pattern" less than 10 characters'
    )


def test_replace_resolves_the_value_before_checking_lengths():
    opts = {"pattern": "a" * 11, "value": {"@bogus": 1}}
    assert (
        runtime_error({"k": [{"@replace": opts}]})
        == "@bogus is not a valid directive, got undefined"
    )


def test_replace_with_non_boolean_flags_gives_an_empty_string_inside_arrays():
    assert in_array({"@replace": {"pattern": "a", "value": "abc", "ignorecase": "yes"}}) == ""
    assert in_array({"@replace": {"pattern": 5, "value": "abc"}}) == ""


def test_replace_null_flags_take_their_defaults_inside_arrays():
    opts = {"pattern": "a", "value": "aAa", "ignorecase": None, "global": None, "replacement": None}
    assert in_array({"@replace": opts}) == "A"


def test_replace_without_a_truthy_pattern_fails_inside_arrays():
    assert (
        runtime_error({"k": [{"@replace": {"value": "x"}}]}) == '@replace requires a "pattern" key'
    )
    assert runtime_error({"k": [{"@replace": {"pattern": "", "value": "x"}}]}) == (
        '@replace requires a "pattern" key'
    )
    assert (
        runtime_error({"k": [{"@replace": "x"}]})
        == '@replace requires an object with a "pattern" key'
    )


# --------------------------------------------------------------------------- @arrayPath

PRODUCTS = {"products": [{"id": 1, "n": "a"}, {"id": 2}], "event": "Order"}


def test_array_path_maps_each_item_with_the_shape():
    directive = {"@arrayPath": ["$.products", {"sku": {"@path": "$.id"}, "name": {"@path": "$.n"}}]}
    assert one(directive, PRODUCTS) == [{"sku": 1, "name": "a"}, {"sku": 2}]


def test_array_path_shape_does_not_see_the_root_payload():
    directive = {"@arrayPath": ["$.products", {"e": {"@path": "$.event"}, "c": 1}]}
    assert one(directive, PRODUCTS) == [{"c": 1}, {"c": 1}]


def test_array_path_wraps_an_object_root_in_a_list():
    directive = {"@arrayPath": ["$.product", {"sku": {"@path": "$.id"}}]}
    assert one(directive, {"product": {"id": 7}}) == [{"sku": 7}]


def test_array_path_with_a_directive_shape_maps_items_to_scalars():
    assert one({"@arrayPath": ["$.products", {"@path": "$.id"}]}, PRODUCTS) == [1, 2]


@pytest.mark.parametrize("shape", ["<none>", {}, 5, "x", [1]])
def test_array_path_without_an_object_shape_returns_the_root(shape):
    arg = ["$.products"] if shape == "<none>" else ["$.products", shape]
    assert one({"@arrayPath": arg}, PRODUCTS) == PRODUCTS["products"]


@pytest.mark.parametrize("root", ["ab", 5, None, True])
def test_array_path_returns_a_scalar_root_unchanged(root):
    assert one({"@arrayPath": ["$.r", {"x": 1}]}, {"r": root}) == root


def test_array_path_with_an_absent_root_is_absent():
    assert one({"@arrayPath": ["$.r", {"x": 1}]}) == "<absent>"


def test_array_path_dollar_dot_reaches_a_primitive_item_but_dollar_alone_is_a_key():
    payload = {"tags": ["a", "b"]}
    assert one({"@arrayPath": ["$.tags", {"t": {"@path": "$."}}]}, payload) == [
        {"t": "a"},
        {"t": "b"},
    ]
    assert one({"@arrayPath": ["$.tags", {"t": {"@path": "$"}}]}, payload) == [{}, {}]


def test_array_path_falsy_items_are_what_every_path_returns():
    directive = {"@arrayPath": ["$.items", {"x": {"@path": "$.a.b"}}]}
    assert one(directive, {"items": [0, "", None, False]}) == [
        {"x": 0},
        {"x": ""},
        {"x": None},
        {"x": False},
    ]


def test_array_path_template_sees_a_string_item():
    directive = {"@arrayPath": ["$.tags", {"@template": "#{{length}}:{{0}}"}]}
    assert one(directive, {"tags": ["ab", "xyz"]}) == ["#2:a", "#3:x"]


def test_array_path_transform_on_a_primitive_item_fails_with_the_payload_error():
    shape = {"@transform": {"apply": {"a": 1}, "mapping": {"b": {"@path": "$.a"}}}}
    mapping = {"k": {"@arrayPath": ["$.tags", shape]}}
    assert runtime_error(mapping, {"tags": ["x"]}) == "data must be an object, got string"
    assert transform(mapping, {"tags": [{}]}) == {"k": [{"b": 1}]}


def test_array_path_resolves_a_non_string_path_to_the_root():
    directive = {"@arrayPath": [{"@literal": [1, 2]}, {"v": {"@path": "$."}}]}
    assert one(directive) == [{"v": 1}, {"v": 2}]
    assert one({"@arrayPath": [{"@path": "$.p"}]}, {"p": [3]}) == [3]


def test_array_path_strips_the_first_dollar_dot_anywhere():
    assert one({"@arrayPath": ["x.$.y"]}, {"x": {"y": [1]}}) == [1]


def test_array_path_argument_that_is_not_a_list_fails_inside_arrays():
    assert runtime_error({"k": [{"@arrayPath": "$.x"}]}) == "@arrayPath expected array, got string"
    assert (
        runtime_error({"k": [{"@arrayPath": {"a": 1}}]}) == "@arrayPath expected array, got object"
    )


# --------------------------------------------------------------------------- @json


def test_json_encode_writes_compact_json_in_js_key_order():
    payload = {"traits": {"b": 1, "2": [1.0, None, 1.5e-7], "a": "é/\n"}}
    directive = {"@json": {"mode": "encode", "value": {"@path": "$.traits"}}}
    assert one(directive, payload) == '{"2":[1,null,1.5e-7],"b":1,"a":"é/\\n"}'


def test_json_encode_of_a_resolved_mapping_object_keeps_its_key_order():
    directive = {"@json": {"mode": "encode", "value": {"z": 1, "a": {"@path": "$.x"}, "m": 2}}}
    assert one(directive, {"x": 9}) == '{"z":1,"a":9,"m":2}'
    assert one(directive, {}) == '{"z":1,"m":2}'


def test_json_encode_of_an_absent_value_is_absent():
    assert one({"@json": {"mode": "encode", "value": {"@path": "$.missing"}}}) == "<absent>"


def test_json_encode_writes_null_for_absent_list_elements():
    directive = {"@json": {"mode": "encode", "value": [{"@path": "$.missing"}, 1]}}
    assert one(directive) == "[null,1]"


def test_json_decode_parses_strings():
    directive = {"@json": {"mode": "decode", "value": {"@path": "$.s"}}}
    assert one(directive, {"s": '{"a": [1, true]}'}) == {"a": [1, True]}


@pytest.mark.parametrize("text", ["{bad", "NaN", "Infinity", "'x'", "\ufeff1", ""])
def test_json_decode_keeps_the_original_string_when_parsing_fails(text):
    directive = {"@json": {"mode": "decode", "value": {"@path": "$.s"}}}
    assert one(directive, {"s": text}) == text


def test_json_decode_leaves_non_strings_unchanged():
    directive = {"@json": {"mode": "decode", "value": {"@path": "$.s"}}}
    assert one(directive, {"s": {"a": 1}}) == {"a": 1}
    assert one(directive, {"s": 5}) == 5


def test_json_decode_turns_integers_beyond_2_53_into_doubles():
    directive = {"@json": {"mode": "decode", "value": '{"n": 9007199254740993}'}}
    assert one(directive) == {"n": 9007199254740992.0}


def test_json_mode_other_than_exact_encode_or_decode_is_absent():
    mapping = {"k": {"@json": {"mode": "Encode", "value": "x"}}}
    assert validate(mapping) == []
    assert transform(mapping) == {}


@pytest.mark.parametrize("value", [None, 0, False, ""])
def test_json_with_a_falsy_literal_value_fails_at_runtime(value):
    mapping = {"k": {"@json": {"mode": "encode", "value": value}}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == '@json requires a "value" key'


def test_json_checks_mode_before_value_inside_arrays():
    assert runtime_error({"k": [{"@json": {"value": None}}]}) == '@json requires a "mode" key'
    assert runtime_error({"k": [{"@json": "x"}]}) == '@json requires an object with a "value" key'


# --------------------------------------------------------------------------- @flatten


def flatten(value, separator=".", **extra):
    return one({"@flatten": {"separator": separator, "value": value, **extra}})


def test_flatten_joins_nested_keys_with_the_separator():
    assert flatten({"a": {"b": 1, "c": [1, {"d": 2}]}}) == {"a.b": 1, "a.c.0": 1, "a.c.1.d": 2}
    assert flatten({"a": {"b": 1}}, separator="__") == {"a__b": 1}


def test_flatten_can_keep_arrays_whole():
    assert flatten({"a": {"c": [1, 2]}}, omitArrays=True) == {"a.c": [1, 2]}


def test_flatten_omit_arrays_is_js_truthiness_of_the_raw_option():
    assert flatten({"c": [1]}, omitArrays="no") == {"c": [1]}
    assert flatten({"c": [1]}, omitArrays=0) == {"c.0": 1}


def test_flatten_drops_empty_containers():
    assert flatten({"a": {}, "b": [], "c": 1}) == {"c": 1}


def test_flatten_of_a_top_level_scalar_uses_the_empty_key():
    assert flatten("x") == {"": "x"}
    assert flatten(None) == {"": None}
    assert one({"@flatten": {"separator": ".", "value": {"@path": "$.missing"}}}) == {}


def test_flatten_with_omit_arrays_keeps_a_top_level_list_under_the_empty_key():
    assert flatten([1, 2], omitArrays=True) == {"": [1, 2]}


def test_flatten_uses_the_prefix_only_when_it_is_not_empty():
    assert flatten({"": {"k": 5}}) == {"k": 5}
    assert flatten({"m": {"": 5}}) == {"m.": 5}


def test_flatten_drops_absent_leaves():
    assert flatten({"a": {"@path": "$.missing"}, "b": 1}) == {"b": 1}


def test_flatten_later_writes_win():
    assert flatten({"a.b": 1, "a": {"b": 2}}) == {"a.b": 2}


@pytest.mark.parametrize("opts", [{"value": {"a": 1}}, {"separator": "", "value": {"a": 1}}])
def test_flatten_without_a_truthy_separator_fails_at_runtime(opts):
    mapping = {"k": {"@flatten": opts}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == '@flatten requires a "separator" key'


def test_flatten_resolves_a_directive_separator_at_runtime():
    directive = {"@flatten": {"separator": {"@path": "$.sep"}, "value": {"a": {"b": 1}}}}
    assert validate({"k": directive}) == [
        "/k/@flatten/separator should be a string but it is a directive."
    ]
    assert in_array(directive, {"sep": "_"}) == {"a_b": 1}
    assert runtime_error({"k": [directive]}, {"sep": 5}) == "@flatten requires a string separator"


def test_flatten_options_that_are_not_an_object_fail_inside_arrays():
    assert (
        runtime_error({"k": [{"@flatten": 1}]})
        == '@flatten requires an object with a "separator" key'
    )


# --------------------------------------------------------------------------- @merge


def merge(objects, direction="right", payload=None):
    return one({"@merge": {"direction": direction, "objects": objects}}, payload)


def test_merge_rightmost_object_wins_by_default():
    assert merge([{"a": 1, "b": 1}, {"b": 2}]) == {"a": 1, "b": 2}


def test_merge_left_makes_the_leftmost_object_win():
    assert merge([{"a": 1, "b": 1}, {"b": 2, "c": 3}], "left") == {"a": 1, "b": 1, "c": 3}


def test_merge_direction_is_compared_exactly():
    assert merge([{"b": 1}, {"b": 2}], "Left") == {"b": 2}


def test_merge_is_shallow():
    assert merge([{"a": {"x": 1}}, {"a": {"y": 2}}]) == {"a": {"y": 2}}


def test_merge_of_no_objects_is_empty():
    assert merge([]) == {}


def test_merge_resolves_directive_objects():
    payload = {"traits": {"a": 1}, "properties": {"a": 2, "b": 3}}
    assert merge([{"@path": "$.traits"}, {"@path": "$.properties"}], "left", payload) == {
        "a": 1,
        "b": 3,
    }


def test_merge_follows_object_assign_for_non_objects():
    objects = [{"@path": f"$.{k}"} for k in ("n", "u", "num", "flag", "s", "l")]
    payload = {"n": None, "num": 5, "flag": True, "s": "ab", "l": ["x"]}
    assert merge(objects, payload=payload) == {"0": "x", "1": "b"}


def test_merge_absent_member_overwrites_and_then_drops_the_key():
    assert merge([{"a": 1, "b": 1}, {"a": {"@path": "$.missing"}}]) == {"b": 1}


def test_merge_null_member_overwrites_and_stays():
    assert merge([{"a": 1}, {"a": None}]) == {"a": None}


def test_merge_without_direction_fails_at_runtime():
    mapping = {"k": {"@merge": {"objects": [{"a": 1}]}}}
    assert validate(mapping) == []
    assert runtime_error(mapping) == '@merge requires a "direction" key'


def test_merge_resolves_a_directive_direction_at_runtime():
    directive = {"@merge": {"direction": {"@path": "$.d"}, "objects": [{"a": 1}, {"a": 2}]}}
    assert validate({"k": directive})[0].startswith("/k/@merge/direction should be a string")
    assert in_array(directive, {"d": "left"}) == {"a": 1}


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (None, '@merge requires a "objects" key'),
        (0, '@merge requires a "objects" key'),
        ("x", "@merge: expected opts.array, got string"),
        (5, "@merge: expected opts.array, got number"),
        (True, "@merge: expected opts.array, got boolean"),
        ({"a": 1}, "@merge: expected opts.array, got object"),
    ],
)
def test_merge_objects_errors_happen_inside_arrays(objects, message):
    assert runtime_error({"k": [{"@merge": {"direction": "left", "objects": objects}}]}) == message


def test_merge_resolves_the_direction_before_checking_objects():
    directive = {"@merge": {"direction": {"@bogus": 1}}}
    assert runtime_error({"k": [directive]}) == "@bogus is not a valid directive, got undefined"


def test_merge_options_that_are_not_an_object_fail_inside_arrays():
    assert runtime_error({"k": [{"@merge": []}]}) == (
        '@merge requires an object with an "objects" key and a "direction" key'
    )


# --------------------------------------------------------------------------- @transform

PLAN = {"traits": {"plan": "gold"}, "event": "E"}


def test_transform_maps_the_result_of_apply():
    directive = {
        "@transform": {
            "apply": {"tier": {"@path": "$.traits.plan"}},
            "mapping": {"x": {"@path": "$.tier"}},
        }
    }
    assert one(directive, PLAN) == {"x": "gold"}


def test_transform_mapping_does_not_see_the_original_payload():
    directive = {
        "@transform": {
            "apply": {"a": 1},
            "mapping": {"e": {"@path": "$.event"}, "a": {"@path": "$.a"}},
        }
    }
    assert one(directive, PLAN) == {"a": 1}


def test_transform_keys_dropped_by_apply_are_absent():
    directive = {
        "@transform": {
            "apply": {"a": {"@path": "$.missing"}},
            "mapping": {"x": {"@path": "$.a"}, "y": 1},
        }
    }
    assert one(directive, PLAN) == {"y": 1}


def test_transform_mapping_may_be_a_directive():
    directive = {
        "@transform": {"apply": {"tier": {"@path": "$.traits.plan"}}, "mapping": {"@path": "$."}}
    }
    assert one(directive, PLAN) == {"tier": "gold"}


def test_transform_keeps_absent_list_elements_for_later_lookups():
    apply = {"l": [{"@path": "$.missing"}, 1]}
    mapping = {"n": {"@path": "$.l.length"}, "first": {"@path": "$.l.0"}, "l": {"@path": "$.l"}}
    assert one({"@transform": {"apply": apply, "mapping": mapping}}) == {"n": 2, "l": [None, 1]}


def test_transform_apply_yielding_a_scalar_is_read_by_paths():
    apply = {"__segment_internal_directive": {"@if": {"exists": 1, "then": "abc"}}}
    mapping = {"n": {"@path": "$.length"}, "lit": 1, "c": {"@path": "$.1"}}
    assert one({"@transform": {"apply": apply, "mapping": mapping}}) == {"n": 3, "lit": 1, "c": "b"}


def test_transform_apply_yielding_undefined_keeps_literals_only():
    apply = {"__segment_internal_directive": {"@if": {"exists": {"@path": "$.missing"}, "then": 1}}}
    mapping = {"lit": 1, "p": {"@path": "$.a"}, "all": {"@path": "$."}}
    assert one({"@transform": {"apply": apply, "mapping": mapping}}) == {"lit": 1}


def test_transform_nested_in_transform():
    inner = {"@transform": {"apply": {"b": {"@path": "$.a"}}, "mapping": {"c": {"@path": "$.b"}}}}
    directive = {
        "@transform": {"apply": {"a": {"@path": "$.traits.plan"}}, "mapping": {"inner": inner}}
    }
    assert one(directive, PLAN) == {"inner": {"c": "gold"}}


def test_transform_checks_mapping_then_apply_inside_arrays():
    assert runtime_error({"k": [{"@transform": {}}]}) == '@transform requires a "mapping" key'
    assert (
        runtime_error({"k": [{"@transform": {"mapping": {"a": 1}}}]})
        == '@transform requires a "apply" key'
    )
    assert runtime_error({"k": [{"@transform": {"mapping": {"a": 1}, "apply": [1]}}]}) == (
        '@transform "apply" key should be an object'
    )
    assert runtime_error({"k": [{"@transform": 5}]}) == (
        '@transform requires an object with an "apply" key and a "mapping" key'
    )


def test_transform_with_an_invalid_apply_inside_an_array_fails_validation_with_every_message():
    # The outer validation does not look inside arrays; Segment throws the nested transform's
    # validation error (an AggregateError) when it gets there.
    apply = {"x": {"@bogus": 1}, "y": {"@path": 1}}
    mapping = {"k": [{"@transform": {"apply": apply, "mapping": {"a": 1}}}]}
    assert validate(mapping) == []
    with pytest.raises(MappingError) as caught:
        transform(mapping, {})
    assert caught.value.phase == "validate"
    assert caught.value.messages == [
        "/x has an invalid directive: @bogus.",
        "/y/@path should be a string or a mapping directive but it is a number.",
    ]


# --------------------------------------------------------------------------- @excludeWhenNull


def test_exclude_when_null_drops_a_null_value():
    assert one({"@excludeWhenNull": {"@path": "$.n"}}, {"n": None}) == "<absent>"


@pytest.mark.parametrize("value", [0, "", False, [None], "x"])
def test_exclude_when_null_passes_other_values_through(value):
    assert one({"@excludeWhenNull": {"@path": "$.v"}}, {"v": value}) == value


def test_exclude_when_null_drops_null_members_of_objects_recursively_but_not_in_lists():
    payload = {"o": {"a": None, "b": {"c": None, "d": 1}, "l": [None, {"x": None}], "z": 0}}
    assert one({"@excludeWhenNull": {"@path": "$.o"}}, payload) == {
        "b": {"d": 1},
        "l": [None, {"x": None}],
        "z": 0,
    }


def test_exclude_when_null_works_on_a_literal_object():
    assert one({"@excludeWhenNull": {"a": None, "b": 1}}) == {"b": 1}


def test_exclude_when_null_does_not_change_the_payload():
    payload = {"o": {"a": None}}
    one({"@excludeWhenNull": {"@path": "$.o"}}, payload)
    assert payload == {"o": {"a": None}}


# --------------------------------------------------------------------------- @liquid and unknown


def test_liquid_inside_arrays_fails_as_not_supported():
    assert runtime_error({"k": [{"@liquid": "{{ x }}"}]}) == "@liquid is not supported"


def test_unknown_directive_inside_arrays_fails_at_runtime():
    assert runtime_error({"k": [{"@nope": 1}]}) == "@nope is not a valid directive, got undefined"


def test_transform_with_a_bad_root_directive_in_apply_fails_at_runtime():
    mapping = {"k": [{"@transform": {"apply": {ROOT: "x"}, "mapping": {"a": 1}}}]}
    with pytest.raises(MappingError) as caught:
        transform(mapping, {})
    assert (caught.value.phase, caught.value.messages) == (
        "runtime",
        ["The root directive must be an object"],
    )


def test_a_template_reading_an_undefined_payload_reads_an_empty_object():
    # Segment's render(template, data = {}): `{{ }}` is then "[object Object]", not "".
    mapping = {
        "k": {
            "@transform": {
                "apply": {"@path": "$.missing"},
                "mapping": {"t": {"@template": "{{ }}"}, "x": {"@template": "a{{x}}b"}},
            }
        },
        "v": {
            "@arrayPath": [{"@literal": [{"@path": "$.missing"}, None]}, {"@template": "x{{ }}"}]
        },
    }
    assert transform(mapping, {}) == {
        "k": {"t": "[object Object]", "x": "ab"},
        "v": ["x[object Object]", "x"],
    }
