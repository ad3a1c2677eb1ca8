"""The JSON codec every stored column and request body goes through."""

from __future__ import annotations

import doctest
import json

import pytest

from mappings import jsoncodec
from mappings.jsoncodec import dumps_compact, escape_surrogates, loads_exact


def test_docstring_examples_hold():
    result = doctest.testmod(jsoncodec)
    assert (result.attempted, result.failed) == (3, 0)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1.5, None, True, "é"]},
        {"big": 2**70, "negative": -(2**64)},
        ["\ud83d", {"k\udc4d": "x"}],  # lone surrogates: the stdlib path, escaped
        {"1": "integer-like key", "0": "kept in order"},
    ],
)
def test_what_dumps_compact_writes_loads_exact_reads_back(value):
    data = dumps_compact(value)
    data.decode("utf-8")  # always valid UTF-8
    assert json.dumps(loads_exact(data)) == json.dumps(value)  # key order included


def test_lone_surrogates_are_escaped_or_replaced():
    assert dumps_compact({"a": "x\ud83dy"}) == b'{"a":"x\\ud83dy"}'
    assert dumps_compact({"a": "x\ud83dy"}, replace_surrogates=True) == '{"a":"x\ufffdy"}'.encode()
    assert escape_surrogates(json.dumps(["\udc4d é"], ensure_ascii=False)) == '["\\udc4d é"]'
