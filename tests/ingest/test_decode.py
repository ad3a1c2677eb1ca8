"""JSON text and structure: spec §4.3 (text), §4.4 (nesting, numbers).

Bad-input rows of §8 decided here: 1, 3–10, 16, 17, 50 (rows 13, 14, 18, 19 and 20 are in
``test_decompress.py``). Every JSON case runs through both parser paths: orjson
(``parse_json_fast``, which may decline with ``None``) and the stdlib path (``parse_json_slow``),
because they accept different inputs and must still agree.
"""

from __future__ import annotations

import json

import pytest

from mappings.ingest import decode
from mappings.ingest.decode import (
    Note,
    check_nesting,
    decode_body,
    json_skeleton,
    parse_json,
    parse_json_fast,
    parse_json_slow,
)
from mappings.ingest.errors import IngestError
from mappings.jsoncodec import dumps_compact

BATCH_CAP = 524_288


def parse_both(data: bytes):
    """The public result, after checking that both paths agree with it."""
    result = parse_json(data)
    slow = parse_json_slow(data)
    assert slow.value == result.value and type(slow.value) is type(result.value)
    assert slow.notes == result.notes
    fast = parse_json_fast(data)
    if fast is not None:
        assert fast.value == result.value and fast.notes == ()
    return result


def refused_by_both(data: bytes) -> IngestError:
    assert parse_json_fast(data) is None
    with pytest.raises(IngestError) as slow:
        parse_json_slow(data)
    with pytest.raises(IngestError) as public:
        parse_json(data)
    assert slow.value.code == public.value.code
    return public.value


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a":' * depth + inner + b"}" * depth


# --- row 1, 3, 4, 7, 9 and other invalid JSON -----------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"batch": [{"type": "track"', id="row1-truncated"),
        pytest.param(b'{"a": 1} x', id="row1-trailing-garbage"),
        pytest.param(b'{"a": 1}{"b": 2}', id="row1-two-documents"),
        pytest.param(b"", id="row1-empty-body"),
        pytest.param(b"   \n", id="row1-blank-body"),
        pytest.param(b'{"a": 1 /* comment */}', id="row1-block-comment"),
        pytest.param(b'// comment\n{"a": 1}', id="row1-line-comment"),
        pytest.param(b'{"a": 1,}', id="row1-trailing-comma-object"),
        pytest.param(b"[1, 2,]", id="row1-trailing-comma-array"),
        pytest.param(b'{"a": "\xff"}', id="row3-invalid-byte"),
        pytest.param(b'{"a": "\xc0\xaf"}', id="row3-overlong"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', id="row3-encoded-surrogate"),
        pytest.param(b'{"a": "\xe2\x82"}', id="row3-truncated-sequence"),
        pytest.param(b'{"a": "\xf4\x90\x80\x80"}', id="row3-above-u10ffff"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', id="row4-bom"),
        pytest.param(b'{"a": "x\x00y"}', id="row7-raw-nul"),
        pytest.param(b'{"a": "x\ny"}', id="row7-raw-newline"),
        pytest.param(b'{"a": "x\ty"}', id="row7-raw-tab"),
        pytest.param(b'{"a": ' + b"7" * 5000 + b"}", id="row9-5000-digit-integer"),
        pytest.param(b'{"a": -' + b"7" * 4301 + b"}", id="row9-4301-digit-negative"),
        pytest.param(b'{"a": nan}', id="lowercase-nan"),
        pytest.param(b'{"a": undefined}', id="undefined"),
        pytest.param(b'{"a": infinity}', id="lowercase-infinity"),
        pytest.param(b'{"a": -NaN}', id="negative-nan"),
        pytest.param(b'{"a": +Infinity}', id="plus-infinity"),
        pytest.param(b'{"a": 01}', id="leading-zero"),
        pytest.param(b'{"a": .5}', id="leading-dot"),
        pytest.param(b'{"a": 1.}', id="trailing-dot"),
        pytest.param(b'{"a": +1}', id="plus-sign"),
        pytest.param(b'{"a": 0x10}', id="hex"),
        pytest.param(b"{'a': 1}", id="single-quotes"),
        pytest.param(b"{a: 1}", id="bare-key"),
        pytest.param(b'{"a": "\\x41"}', id="bad-escape"),
        pytest.param(b'{"a": "\\u12"}', id="short-unicode-escape"),
        pytest.param(b'\x0c{"a": 1}', id="form-feed-whitespace"),
        pytest.param(b'"' + b'\\"' * 50_000, id="unterminated-string-of-escaped-quotes"),
        pytest.param(b"[" * 30 + b"]" * 29, id="unbalanced-shallow"),
    ],
)
def test_it_refuses_invalid_json_on_both_paths(data):
    assert refused_by_both(data).code == "invalid_json"


def test_it_accepts_the_longest_allowed_integer_exactly():
    literal = "7" * 4300
    assert parse_both(f'{{"a": {literal}}}'.encode()).value == {"a": int(literal)}


# --- row 5, 6, 8: repairs with notes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value", "notes"),
    [
        pytest.param(
            b'{"a": "x\\udc00y"}',
            {"a": "x\ufffdy"},
            (Note(("a",), "replaced_lone_surrogate"),),
            id="row5-lone-low-in-value",
        ),
        pytest.param(
            b'{"a": "cut \\ud83d"}',
            {"a": "cut \ufffd"},
            (Note(("a",), "replaced_lone_surrogate"),),
            id="row5-high-cut-in-half",
        ),
        pytest.param(
            b'{"k\\ud800": 1}',
            {"k\ufffd": 1},
            (Note(("k\ufffd",), "replaced_lone_surrogate"),),
            id="row5-lone-in-key",
        ),
        pytest.param(
            b'{"a": ["\\ud800\\u0041"]}',
            {"a": ["\ufffdA"]},
            (Note(("a", 0), "replaced_lone_surrogate"),),
            id="row5-high-then-non-surrogate",
        ),
        pytest.param(
            b'{"a": "a\\u0000b"}',
            {"a": "a\ufffdb"},
            (Note(("a",), "replaced_nul"),),
            id="row6-nul-in-value",
        ),
        pytest.param(
            b'{"a\\u0000": {"b": 1}}',
            {"a\ufffd": {"b": 1}},
            (Note(("a\ufffd",), "replaced_nul"),),
            id="row6-nul-in-key",
        ),
        pytest.param(
            b'{"p": {"x": NaN, "y": Infinity, "z": -Infinity}}',
            {"p": {"x": None, "y": None, "z": None}},
            (
                Note(("p", "x"), "non_finite_number"),
                Note(("p", "y"), "non_finite_number"),
                Note(("p", "z"), "non_finite_number"),
            ),
            id="row8-python-tokens",
        ),
        pytest.param(
            b'{"a": [1e999, -1e999, 1E400, 1.5]}',
            {"a": [None, None, None, 1.5]},
            (
                Note(("a", 0), "non_finite_number"),
                Note(("a", 1), "non_finite_number"),
                Note(("a", 2), "non_finite_number"),
            ),
            id="row8-overflowing-literals",
        ),
    ],
)
def test_it_repairs_what_can_be_repaired_and_says_where(data, value, notes):
    result = parse_both(data)
    assert result.value == value
    assert result.notes == notes


def test_it_notes_a_key_collision_made_by_replacement():
    result = parse_both(b'{"p": {"a\\u0000": 1, "a\\ufffd": 2}}')
    assert Note(("p", "a\ufffd"), "key_collision") in result.notes


def test_a_repeated_key_with_the_same_escape_is_a_duplicate_not_a_collision():
    result = parse_both(b'{"a\\u0000": 1, "a\\u0000": 2}')
    assert result.value == {"a\ufffd": 2}
    assert [n.code for n in result.notes] == ["replaced_nul", "replaced_nul"]


def test_a_literal_backslash_u0000_is_text_not_nul():
    assert parse_both(b'{"a": "\\\\u0000"}').value == {"a": "\\u0000"}


# --- row 10, 50 and other values kept as sent -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        pytest.param(b"[9007199254740993]", [9007199254740993], id="row10-beyond-double"),
        pytest.param(b"[-0]", [0], id="row10-minus-zero-integer"),
        pytest.param(b"[1.0]", [1.0], id="row10-float-one"),
        pytest.param(b"[1e-7]", [1e-7], id="row10-small-float"),
        pytest.param(b"[18446744073709551615]", [2**64 - 1], id="u64-max"),
        pytest.param(b"[18446744073709551616]", [2**64], id="beyond-u64"),
        pytest.param(b"[-9223372036854775809]", [-(2**63) - 1], id="below-i64"),
        pytest.param(b'["1234567890123456789012"]', ["1234567890123456789012"], id="digits-in-str"),
        pytest.param(b'{"event": "A", "event": "B"}', {"event": "B"}, id="row50-duplicate-keys"),
        pytest.param(
            '{"t": "\u202eevil\u200b\uffff\U0001f680"}'.encode(),
            {"t": "\u202eevil\u200b\uffff\U0001f680"},
            id="kept-verbatim",
        ),
        pytest.param(b'{"t": "\\u2028\\u0001\\u007f"}', {"t": "\u2028\x01\x7f"}, id="escaped-ctrl"),
        pytest.param(b" \t\r\n[true, false, null] \n", [True, False, None], id="json-whitespace"),
        pytest.param(b'"just a string"', "just a string", id="scalar-top-level"),
    ],
)
def test_it_keeps_values_as_sent(data, value):
    result = parse_both(data)
    assert result.value == value
    assert [type(v) for v in _leaves(result.value)] == [type(v) for v in _leaves(value)]
    assert result.notes == ()


def test_integers_stay_integers_and_floats_are_written_shortest():
    value = parse_both(b'{"a": 9007199254740993, "b": 1.0, "c": 1e-7, "d": 0.1, "e": -0}').value
    assert dumps_compact(value) == b'{"a":9007199254740993,"b":1.0,"c":1e-7,"d":0.1,"e":0}'


def test_duplicate_keys_keep_the_first_position_on_both_paths():
    data = b'{"a": 1, "b": 2, "a": 3, "k": "\\ud800"}'
    assert list(parse_both(data).value) == ["a", "b", "k"]


def test_python_ascii_escapes_equal_raw_utf8():
    message = {"event": "caf\u00e9 \U0001f680", "properties": {"\u00fcber": "\u65e5\u672c"}}
    python_style = json.dumps(message, ensure_ascii=True).encode()  # analytics-python
    node_style = json.dumps(message, ensure_ascii=False).encode()  # Node, browsers
    assert b"\\ud83d\\ude80" in python_style
    assert parse_both(python_style).value == parse_both(node_style).value == message


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


# --- row 16, 17: nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [10_000, 250_000])
def test_row16_deep_nesting_is_refused_by_the_prescan_before_any_parser(depth, monkeypatch):
    data = b"[" * depth + b"]" * depth

    def no_parsing(*args, **kwargs):
        raise AssertionError("a parser ran on a too-deep body")

    monkeypatch.setattr(decode.orjson, "loads", no_parsing)
    monkeypatch.setattr(decode.json, "loads", no_parsing)
    with pytest.raises(IngestError) as error:
        check_nesting(json_skeleton(data))
    assert error.value.code == "nesting_too_deep"
    with pytest.raises(IngestError) as error:
        decode_body(data, None, max_decompressed=BATCH_CAP)
    assert (error.value.status, error.value.code) == (400, "nesting_too_deep")


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        pytest.param(nested(64), True, id="row17-objects-64"),
        pytest.param(nested(65), False, id="row17-objects-65"),
        pytest.param(b"[" * 64 + b"]" * 64, True, id="row17-arrays-64"),
        pytest.param(b"[" * 65 + b"]" * 65, False, id="row17-arrays-65"),
        pytest.param(b'{"batch": [' + nested(62) + b"]}", True, id="counted-from-body-root"),
        pytest.param(b'{"batch": [' + nested(63) + b"]}", False, id="batch-item-too-deep"),
        # Deep but never 65 openers in a row: the exact depth pass has to find it.
        pytest.param(b"[" + b"[[]," * 63 + b"1" + b"]" * 64, False, id="interleaved-65"),
        pytest.param(b"[" + b"[[]," * 62 + b"1" + b"]" * 63, True, id="interleaved-64"),
        pytest.param(nested(63, b'["' + b"[[[[{{{{" * 20 + b'"]'), True, id="brackets-in-strings"),
        pytest.param(nested(63, b'["\\"[[[", 1]'), True, id="escaped-quote-in-string"),
        pytest.param(nested(63, b'["\\\\", [1]]'), False, id="escaped-backslash-then-quote"),
        pytest.param(nested(62, b'["\\\\\\"]]]]", [1]]'), True, id="escape-pairs-left-to-right"),
    ],
)
def test_row17_nesting_is_capped_at_64_from_the_root(data, ok):
    if ok:
        check_nesting(json_skeleton(data))
        parse_both(data)
    else:
        with pytest.raises(IngestError) as error:
            check_nesting(json_skeleton(data))
        assert error.value.code == "nesting_too_deep"


def test_unbalanced_deep_openers_are_refused_without_recursion():
    with pytest.raises(IngestError) as error:
        parse_json(b"[" * 250_000)
    assert error.value.code in ("nesting_too_deep", "invalid_json")


def _random_value(rng, depth):
    if depth == 0 or rng.random() < 0.3:
        alphabet = ['"', "\\", "[", "]", "{", "}", "a", "\u00e9", "\U0001f680", "\n", "/"]
        return rng.choice([1, 2.5, None, True, "".join(rng.choices(alphabet, k=rng.randint(0, 8)))])
    if rng.random() < 0.5:
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    keys = ['"', "\\", "[", "k", "]]", "\\u0000"]
    return {
        rng.choice(keys) + str(i): _random_value(rng, depth - 1) for i in range(rng.randint(0, 3))
    }


def _depth(value):
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def test_the_prescan_measures_the_same_depth_as_the_parsed_value():
    import random

    rng = random.Random(20260310)
    for _ in range(400):
        value = _random_value(rng, rng.randint(1, 12))
        depth = _depth(value)
        for data in (json.dumps(value).encode(), json.dumps(value, ensure_ascii=False).encode()):
            skeleton = json_skeleton(data)
            check_nesting(skeleton, limit=depth)
            if depth:
                with pytest.raises(IngestError):
                    check_nesting(skeleton, limit=depth - 1)
