"""JS value semantics helpers (spec §4)."""

from __future__ import annotations

import copy
import doctest
import math
import pickle

import pytest

from mappings.engine import jsvalues
from mappings.engine.jsvalues import (
    UNDEFINED,
    js_ci_canon,
    js_loose_ne_empty,
    js_lower,
    js_number_to_string,
    js_to_number,
    js_to_string,
    js_trim,
    js_truthy,
    js_type,
    js_upper,
    utf16_len,
    utf16_unit_at,
    utf16_units,
)


def test_docstring_examples_hold():
    result = doctest.testmod(jsvalues)
    assert result.failed == 0
    assert result.attempted == 12  # every example ran


# --------------------------------------------------------------------------- UNDEFINED


def test_undefined_is_falsy_and_prints_as_undefined():
    assert not UNDEFINED
    assert repr(UNDEFINED) == "undefined"


def test_undefined_is_distinct_from_none():
    assert UNDEFINED is not None
    assert UNDEFINED != None  # noqa: E711


def test_undefined_survives_copy_and_pickle_as_the_same_object():
    assert copy.copy(UNDEFINED) is UNDEFINED
    assert copy.deepcopy({"a": [UNDEFINED]})["a"][0] is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert type(UNDEFINED)() is UNDEFINED


# --------------------------------------------------------------------------- js_type / truthy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, "object"),
        ([], "array"),
        ("", "string"),
        (0, "number"),
        (1.5, "number"),
        (math.nan, "number"),
        (True, "boolean"),
        (False, "boolean"),
        (None, "null"),
        (UNDEFINED, "undefined"),
    ],
)
def test_js_type_names_json_values_like_real_type_of(value, expected):
    assert js_type(value) == expected


@pytest.mark.parametrize("value", [UNDEFINED, None, False, 0, 0.0, -0.0, math.nan, ""])
def test_js_truthy_is_false_for_the_js_falsy_values(value):
    assert js_truthy(value) is False


@pytest.mark.parametrize("value", [[], {}, "0", "false", " ", True, 1, -1, 0.5, math.inf])
def test_js_truthy_is_true_for_empty_containers_and_falsy_looking_strings(value):
    assert js_truthy(value) is True


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7.0, "7"),
        (7, "7"),
        (-0.0, "0"),
        (0, "0"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (2e21, "2e+21"),
        (1e21, "1e+21"),
        (999999999999999900000.0, "999999999999999900000"),
        (1.5e-7, "1.5e-7"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (0.000123, "0.000123"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-1.5, "-1.5"),
        (1e16, "10000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-2.5e-10, "-2.5e-10"),
        (2**65, "36893488147419103000"),
        (2**53 + 1, "9007199254740992"),
        (-(2**53), "-9007199254740992"),
        (10**400, "Infinity"),
        (-(10**400), "-Infinity"),
    ],
)
def test_js_number_to_string_matches_number_to_string(value, expected):
    assert js_number_to_string(value) == expected


@pytest.mark.parametrize("value", [True, "1", None])
def test_js_number_to_string_rejects_non_numbers(value):
    with pytest.raises(TypeError):
        js_number_to_string(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0.0),
        ("   ", 0.0),
        ("42", 42.0),
        (" \t42\n", 42.0),
        ("\ufeff42\u3000", 42.0),
        ("-3.5", -3.5),
        ("+3.5", 3.5),
        ("5.", 5.0),
        (".5", 0.5),
        ("007", 7.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("-1e+3", -1000.0),
        ("1e400", math.inf),
        ("Infinity", math.inf),
        ("+Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("0x1f", 31.0),
        ("0X1F", 31.0),
        ("0o17", 15.0),
        ("0b101", 5.0),
        ("9007199254740993", 9007199254740992.0),
    ],
)
def test_js_to_number_parses_what_number_accepts(text, expected):
    assert js_to_number(text) == expected


def test_js_to_number_keeps_negative_zero():
    assert math.copysign(1, js_to_number("-0")) == -1


@pytest.mark.parametrize(
    "text",
    [
        "nan",
        "NaN",
        "inf",
        "infinity",
        "-inf",
        "1_0",
        "-0x10",
        "+0x10",
        "0x",
        "0b2",
        "0o8",
        ".",
        "-",
        "e5",
        "1e",
        "1.2.3",
        "3abc",
        "١٢",
        "1 2",
        "\x1c1",
        "1\x85",
    ],
)
def test_js_to_number_gives_nan_for_everything_else(text):
    assert math.isnan(js_to_number(text))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, 1.0), (False, 0.0), (None, 0.0), (3, 3.0), (2.5, 2.5), ([], 0.0), (["7"], 7.0)],
)
def test_js_to_number_converts_other_values_like_number(value, expected):
    assert js_to_number(value) == expected


@pytest.mark.parametrize("value", [UNDEFINED, {}, [1, 2]])
def test_js_to_number_gives_nan_for_undefined_objects_and_long_arrays(value):
    assert math.isnan(js_to_number(value))


# --------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (UNDEFINED, "undefined"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (3e21, "3e+21"),
        (7.0, "7"),
        ("x", "x"),
        ([1.0, None, "a"], "1,,a"),
        ([UNDEFINED, [1, [2, None]], True], ",1,2,,true"),
        ([], ""),
        ([{}], "[object Object]"),
        ({}, "[object Object]"),
    ],
)
def test_js_to_string_matches_string(value, expected):
    assert js_to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", False),
        ("x", True),
        (" ", True),
        (0, False),
        (0.0, False),
        (1, True),
        (math.nan, True),
        (False, False),
        (True, True),
        ([], False),
        ([None], False),
        ([""], False),
        ([[]], False),
        ([None, None], True),
        ([0], True),
        ({}, True),
        (None, True),
        (UNDEFINED, True),
    ],
)
def test_js_loose_ne_empty_matches_loose_inequality_with_empty_string(value, expected):
    assert js_loose_ne_empty(value) is expected


def test_js_trim_strips_only_js_whitespace():
    assert (
        js_trim("\t\n\x0b\x0c\r \xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeffx ")
        == "x"
    )
    assert js_trim("\x1cx\x1f") == "\x1cx\x1f"
    assert js_trim("\x85x\u200b") == "\x85x\u200b"


def test_js_lower_and_upper_use_full_unicode_mappings():
    assert js_upper("straße") == "STRASSE"
    assert js_lower("ΟΔΟΣ") == "οδος"
    assert js_lower("ΑΣ Β") == "ας β"


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        ("a", "A"),
        ("A", "A"),
        ("é", "É"),
        ("ß", "ß"),
        ("ſ", "ſ"),
        ("\u212a", "\u212a"),
        ("ı", "ı"),
        ("😀", "😀"),
        ("1", "1"),
    ],
)
def test_js_ci_canon_folds_like_a_non_unicode_case_insensitive_regex(char, expected):
    assert js_ci_canon(char) == expected


def test_utf16_len_counts_astral_characters_twice():
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4


def test_utf16_units_split_astral_characters_into_surrogates():
    assert utf16_units("a😀") == ["a", "\ud83d", "\ude00"]
    assert utf16_unit_at("a😀", 2) == "\ude00"
    assert utf16_unit_at("a😀", 3) is None
    assert utf16_unit_at("ab", 1) == "b"
    assert utf16_unit_at("ab", -1) is None
