"""JSON.stringify, JSON.parse and Object.keys order (spec §4)."""

from __future__ import annotations

import doctest
import math

import pytest

from mappings.engine import jsjson
from mappings.engine.jsjson import js_json_parse, js_json_stringify, js_keys
from mappings.engine.jsvalues import UNDEFINED


def test_docstring_examples_hold():
    result = doctest.testmod(jsjson)
    assert result.failed == 0
    assert result.attempted == 3


# --------------------------------------------------------------------------- keys


def test_js_keys_put_canonical_array_indices_first_in_ascending_order():
    assert js_keys({"b": 1, "2": 1, "a": 1, "10": 1, "0": 1}) == ["0", "2", "10", "b", "a"]


def test_js_keys_treat_non_canonical_numbers_as_ordinary_keys():
    keys = {"01": 1, "-1": 1, "1.5": 1, "+1": 1, "١": 1, "4294967295": 1, "4294967294": 1}
    assert js_keys(keys) == ["4294967294", "01", "-1", "1.5", "+1", "١", "4294967295"]


def test_js_keys_keep_insertion_order_without_indices():
    assert js_keys({"z": 1, "a": 2}) == ["z", "a"]


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1, "b": [1.0, True, None]}, '{"a":1,"b":[1,true,null]}'),
        ({"b": 1, "1": 2, "a": UNDEFINED}, '{"1":2,"b":1}'),
        ([UNDEFINED, 1.5e-7, math.nan, math.inf], "[null,1.5e-7,null,null]"),
        ("é/\u2028\x7f😀", '"é/\u2028\x7f😀"'),
        ('"\\\b\f\n\r\t\x01\x1f', '"\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f"'),
        ("\ud800", '"\\ud800"'),
        (2**65, "36893488147419103000"),
        ({}, "{}"),
        ([], "[]"),
        (None, "null"),
        (False, "false"),
    ],
)
def test_js_json_stringify_matches_json_stringify(value, expected):
    assert js_json_stringify(value) == expected


def test_js_json_stringify_of_undefined_is_undefined():
    assert js_json_stringify(UNDEFINED) is UNDEFINED


def test_js_json_parse_reads_standard_json():
    assert js_json_parse(' {"a": [1, 2.5, "x", null, true]}\n') == {"a": [1, 2.5, "x", None, True]}


def test_js_json_parse_keeps_small_ints_exact_and_rounds_big_ones_to_doubles():
    assert type(js_json_parse("9007199254740992")) is int
    big = js_json_parse("9007199254740993")
    assert type(big) is float
    assert big == 9007199254740992.0


@pytest.mark.parametrize(
    "text",
    ["NaN", "Infinity", "-Infinity", "\ufeff1", "{'a': 1}", "'x'", "\xa01", "1\x0b", "", "[1,]"],
)
def test_js_json_parse_rejects_what_json_parse_rejects(text):
    with pytest.raises(ValueError):
        js_json_parse(text)


def test_js_json_parse_turns_excessive_nesting_into_value_error():
    with pytest.raises(ValueError):
        js_json_parse("[" * 100_000 + "]" * 100_000)
