"""mapping-kit paths (spec §3.5) and templates (spec §3.6)."""

from __future__ import annotations

import math

import pytest

from mappings.engine.mapping_kit import transform
from mappings.engine.mapping_kit_paths import split_path


def path(p, payload):
    """What ``{"@path": p}`` reads from ``payload``, or "<absent>"."""
    return transform({"k": {"@path": p}}, payload).get("k", "<absent>")


def template(t, payload):
    return transform({"k": {"@template": t}}, payload)["k"]


# --------------------------------------------------------------------------- splitting


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("", ()),
        (".", ()),
        ("a", ("a",)),
        ("a.b", ("a", "b")),
        ("a['b c']", ("a", "b c")),
        ('a["b c"]', ("a", "b c")),
        ("a.b c", ("a", "b c")),
        ("a[0]", ("a", "0")),
        ("a..0", ("a", "0")),
        ("a[0]]]", ("a", "0")),
        ("a['x.y']", ("a", "x", "y")),
        ("a[-1]", ("a[-1",)),
        ("a[x]", ("a[x]",)),
        ("a['o'clock']", ("a", "oclock")),
        ("$['a']", ("$", "a")),
        ("a[''].b", ("a", "", "b")),
        ("a[١]", ("a[١]",)),
    ],
)
def test_paths_split_like_segment(text, keys):
    assert split_path(text) == keys


# --------------------------------------------------------------------------- reading


def test_dollar_dot_is_the_whole_payload():
    payload = {"a": 1, "b": [2]}
    assert path("$.", payload) == payload
    assert path("", payload) == payload
    assert path(".", payload) == payload


def test_only_the_first_dollar_dot_anywhere_is_removed():
    assert path("plan.$.x", {"plan": {"x": 1}}) == 1
    assert path("$.a.$.b", {"a": {"$": {"b": 2}}}) == 2


def test_bracket_and_dot_forms_read_the_same_key():
    payload = {"a": {"b c": 1, "0": "zero"}, "l": ["x", "y"]}
    assert path("$.a['b c']", payload) == 1
    assert path('$.a["b c"]', payload) == 1
    assert path("$.a.b c", payload) == 1
    assert path("$.a[0]", payload) == "zero"
    assert path("$.l[1]", payload) == "y"
    assert path("$.l..1", payload) == "y"


def test_a_quoted_key_with_a_dot_is_split_at_the_dot():
    assert path("a['x.y']", {"a": {"x": {"y": 1}}}) == 1
    assert path("a['x.y']", {"a": {"x.y": 1}}) == "<absent>"


def test_negative_index_is_a_plain_key():
    assert path("a[-1]", {"a[-1": 7, "a": [1, 2]}) == 7


def test_every_quote_is_deleted():
    assert path("a['o'clock']", {"a": {"oclock": 1}}) == 1


def test_dollar_bracket_does_not_reach_the_root():
    assert path("$['a']", {"a": 1}) == "<absent>"
    assert path("$['a']", {"$": {"a": 2}}) == 2


@pytest.mark.parametrize("falsy", [0, "", False, None])
def test_a_falsy_intermediate_value_is_the_result(falsy):
    assert path("$.properties.count.x", {"properties": {"count": falsy}}) == falsy


def test_a_nan_intermediate_value_is_the_result():
    assert math.isnan(path("$.n.x", {"n": math.nan}))


@pytest.mark.parametrize("truthy", [5, -1.5, True, "abc", [1]])
def test_a_truthy_scalar_has_no_members(truthy):
    assert path("$.v.x", {"v": truthy}) == "<absent>"


def test_lists_give_length_and_in_bounds_canonical_indices():
    payload = {"l": ["a", "b"]}
    assert path("$.l.length", payload) == 2
    assert path("$.l.1", payload) == "b"
    assert path("$.l.2", payload) == "<absent>"
    assert path("$.l.01", payload) == "<absent>"
    assert path("$.l.-1", payload) == "<absent>"
    assert path("$.l.+1", payload) == "<absent>"
    assert path("$.l.1.0", payload) == "b"


def test_strings_give_utf16_length_and_units():
    payload = {"s": "a😀b"}
    assert path("$.s.length", payload) == 4
    assert path("$.s.0", payload) == "a"
    assert path("$.s.3", payload) == "b"
    assert path("$.s.4", payload) == "<absent>"
    assert path("$.s.x", payload) == "<absent>"


def test_prototype_members_are_not_reachable():
    assert path("$.x.constructor.name", {"x": {}}) == "<absent>"
    assert path("$.x.toString", {"x": {}}) == "<absent>"
    assert path("$.x.__proto__", {"x": {"a": 1}}) == "<absent>"


def test_own_keys_named_like_prototype_members_are_read():
    assert path("$.x.constructor", {"x": {"constructor": 1}}) == 1
    assert path("$.length", {"length": 3}) == 3


# --------------------------------------------------------------------------- templates


def test_template_inserts_values_verbatim():
    assert template("Hi {{name}}!", {"name": "<a&b> $& \\1"}) == "Hi <a&b> $& \\1!"


def test_template_missing_and_null_values_render_empty():
    assert template("[{{a}}|{{b}}]", {"b": None}) == "[|]"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([1.0, None, "a"], "1,,a"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (3e21, "3e+21"),
        (7.0, "7"),
        ({"a": 1}, "[object Object]"),
        ([[1, 2], [3]], "1,2,3"),
    ],
)
def test_template_renders_values_like_js_string(value, text):
    assert template("{{v}}", {"v": value}) == text


def test_template_trims_the_inner_text_with_js_whitespace():
    assert template("{{ name }}", {"name": "Bo"}) == "Bo"
    assert template("{{\u00a0name\ufeff}}", {"name": "Bo"}) == "Bo"
    assert template("{{\x1cname}}", {"name": "Bo", "\x1cname": "raw"}) == "raw"


def test_template_does_not_strip_dollar_dot():
    assert template("{{$.event}}", {"event": "E"}) == ""
    assert template("{{$.event}}", {"$": {"event": "X"}}) == "X"


def test_template_reads_nested_paths():
    assert template("{{properties.items[0].sku}}", {"properties": {"items": [{"sku": "S"}]}}) == "S"


def test_template_empty_braces_stay_literal():
    assert template("a{{}}b", {}) == "a{{}}b"


def test_template_blank_braces_render_the_whole_payload():
    assert template("{{ }}", {"a": 1}) == "[object Object]"


def test_template_unclosed_braces_stay_literal():
    assert template("{{x", {"x": 1}) == "{{x"
    assert template("x}}", {"x": 1}) == "x}}"


def test_template_four_braces_render_a_lone_brace():
    assert template("{{{{name}}}}", {"name": "Bo"}) == "}"


def test_template_triple_braces_are_replaced_first():
    assert template("{{{name}}}", {"name": "Bo"}) == "Bo"


def test_template_value_inserted_by_triple_braces_is_expanded_by_the_second_pass():
    assert template("{{{x}}}", {"x": "{{name}}", "name": "Bo"}) == "Bo"


def test_template_second_pass_can_span_inserted_and_static_text():
    assert template("{{{x}}}name}}", {"x": "{{", "name": "Bo"}) == "Bo"


def test_template_value_inserted_by_double_braces_is_not_expanded_again():
    assert template("{{x}}", {"x": "{{name}}", "name": "Bo"}) == "{{name}}"


def test_template_inner_text_may_span_lines():
    assert template("{{na\nme}}", {"na\nme": "v"}) == "v"


def test_template_without_placeholders_is_the_text():
    assert template("plain", {}) == "plain"
    assert template("", {}) == ""
