"""mapping-kit public API and the transform pipeline (spec §1.2, §3.2, §3.4, §3.9, §5)."""

from __future__ import annotations

import collections
import copy
import doctest
import pickle
import threading

import pytest

from mappings.engine import jsvalues, mapping_kit
from mappings.engine.mapping_kit import (
    UNDEFINED,
    CompiledMapping,
    MappingError,
    compile_mapping,
    transform,
    validate,
)

ROOT = "__segment_internal_directive"


def runtime_error(mapping, payload=None) -> str:
    with pytest.raises(MappingError) as caught:
        transform(mapping, {} if payload is None else payload)
    assert caught.value.phase == "runtime"
    return str(caught.value)


def test_docstring_examples_hold():
    assert doctest.testmod(mapping_kit).failed == 0


# --------------------------------------------------------------------------- MappingError


def test_mapping_error_joins_its_messages_with_newlines():
    error = MappingError(["/a x.", "/b y."], "validate")
    assert error.messages == ["/a x.", "/b y."]
    assert error.phase == "validate"
    assert str(error) == "/a x.\n/b y."
    assert isinstance(error, ValueError)


def test_mapping_error_accepts_a_single_message():
    error = MappingError("boom")
    assert error.messages == ["boom"]
    assert error.phase == "runtime"


def test_mapping_error_needs_a_message_and_a_known_phase():
    with pytest.raises(ValueError):
        MappingError([])
    with pytest.raises(ValueError):
        MappingError("x", "later")  # type: ignore[arg-type]


def test_mapping_error_survives_pickling():
    error = pickle.loads(pickle.dumps(MappingError(["a", "b"], "validate")))
    assert (error.messages, error.phase, str(error)) == (["a", "b"], "validate", "a\nb")


def test_undefined_is_the_shared_singleton():
    assert UNDEFINED is jsvalues.UNDEFINED
    assert repr(UNDEFINED) == "undefined"
    assert not UNDEFINED


# --------------------------------------------------------------------------- payload


def test_missing_payload_is_an_empty_object():
    assert transform({"a": {"@path": "$.x"}, "b": 1}) == {"b": 1}
    assert transform({"a": {"@path": "$."}}) == {"a": {}}


@pytest.mark.parametrize(
    ("payload", "type_name"),
    [([], "array"), (None, "null"), ("x", "string"), (5, "number"), (True, "boolean")],
)
def test_payload_that_is_not_an_object_is_a_runtime_error(payload, type_name):
    with pytest.raises(MappingError) as caught:
        transform({"a": 1}, payload)
    assert caught.value.phase == "runtime"
    assert caught.value.messages == [f"data must be an object, got {type_name}"]


def test_payload_may_be_a_dict_subclass():
    payload = collections.OrderedDict(a=1)
    assert transform({"a": {"@path": "$.a"}, "t": {"@template": "{{a}}"}}, payload) == {
        "a": 1,
        "t": "1",
    }


def test_payload_is_checked_before_the_mapping():
    with pytest.raises(MappingError) as caught:
        transform({"x": {"@bogus": 1}}, [])
    assert caught.value.messages == ["data must be an object, got array"]


# --------------------------------------------------------------------------- mapping spread


def test_string_mapping_spreads_into_characters():
    assert transform("ab") == {"0": "a", "1": "b"}


def test_list_mapping_spreads_into_index_keys_and_is_resolved():
    assert transform([1, {"@path": "$.x"}], {"x": 2}) == {"0": 1, "1": 2}


@pytest.mark.parametrize("mapping", [5, 1.5, True, False])
def test_number_and_boolean_mappings_spread_into_nothing(mapping):
    assert transform(mapping) == {}


def test_null_mapping_cannot_be_spread():
    assert runtime_error(None) == "Cannot convert undefined or null to object"


# --------------------------------------------------------------------------- validate phase


def test_validation_failure_raises_every_message():
    with pytest.raises(MappingError) as caught:
        transform({"slug": {"@replace": {"value": 7}}, "b": {"@path": 1}}, {})
    assert caught.value.phase == "validate"
    assert caught.value.messages == [
        '/slug/@replace should have field "pattern" but it doesn\'t.',
        "/slug/@replace/value should be a string or a mapping directive but it is a number.",
        "/b/@path should be a string or a mapping directive but it is a number.",
    ]
    assert str(caught.value) == "\n".join(caught.value.messages)


# --------------------------------------------------------------------------- root directive


def test_root_transform_runs_with_the_customer_keys_as_its_mapping():
    mapping = {
        ROOT: {"@transform": {"apply": {"tier": {"@path": "$.traits.plan"}}}},
        "plan_tier": {"@path": "$.tier"},
    }
    assert transform(mapping, {"traits": {"plan": "gold"}}) == {"plan_tier": "gold"}


def test_root_directive_overwrites_an_existing_mapping_option():
    mapping = {
        ROOT: {"@transform": {"apply": {"t": 1}, "mapping": {"old": 1}}},
        "new": {"@path": "$.t"},
    }
    assert transform(mapping) == {"new": 1}


def test_root_directive_may_return_any_json_value():
    mapping = {ROOT: {"@if": {"exists": {"@path": "$.x"}, "then": "yes"}}, "ignored": 1}
    assert transform(mapping, {"x": 1}) == "yes"
    assert transform(mapping, {}) is None


def test_root_directive_inside_a_list_is_processed_as_a_list():
    mapping = {ROOT: [{"@literal": 1}], "k": 2}
    assert transform(mapping) == [{"@literal": 1, "mapping": {"k": 2}}]
    assert transform({ROOT: [[1, {"@path": "$.a"}]], "k": 2}, {"a": 5}) == [[1, 5]]


def test_root_directive_with_an_ordinary_key_gets_a_mapping_member():
    mapping = {ROOT: {"out": {"a": 1}}, "k": {"@path": "$.k"}}
    assert transform(mapping, {"k": 2}) == {"out": {"a": 1, "mapping": {"k": 2}}}


def test_root_handling_never_mutates_the_callers_mapping():
    mapping = {ROOT: {"@transform": {"apply": {"t": 1}}}, "new": {"@path": "$.t"}}
    before = copy.deepcopy(mapping)
    transform(mapping)
    validate(mapping)
    assert mapping == before


# --------------------------------------------------------------------------- resolve and clean


def test_top_level_directive_returns_its_value():
    assert transform({"@path": "$.x"}, {"x": 5}) == 5
    assert transform({"@path": "$.x"}, {}) is None


def test_absent_members_are_dropped_and_null_is_kept():
    mapping = {
        "a": {"@path": "$.missing"},
        "b": {"@path": "$.n"},
        "c": {"d": {"@path": "$.missing"}},
    }
    assert transform(mapping, {"n": None}) == {"b": None, "c": {}}


def test_absent_list_elements_become_null_in_the_output():
    mapping = {"l": [{"@path": "$.missing"}, 1, [{"@path": "$.missing"}]]}
    assert transform(mapping) == {"l": [None, 1, [None]]}


def test_dicts_inside_lists_are_cleaned_too():
    assert transform({"l": [{"a": {"@path": "$.missing"}, "b": 1}]}) == {"l": [{"b": 1}]}


def test_a_dict_with_an_at_key_and_other_keys_inside_an_array_is_an_ordinary_object():
    assert transform({"l": [{"@path": "$.x", "k": 1}]}, {"x": 2}) == {
        "l": [{"@path": "$.x", "k": 1}]
    }


def test_a_runtime_directive_may_carry_metadata():
    assert transform({"l": [{"@path": "$.x", "_metadata": {"k": 1}}]}, {"x": 2}) == {"l": [2]}


def test_the_first_runtime_error_in_js_key_order_wins():
    mapping = {"b": [{"@second": 1}], "1": [{"@first": 1}]}
    assert runtime_error(mapping) == "@first is not a valid directive, got undefined"


def test_runtime_errors_are_raised_only_when_reached():
    mapping = {"a": {"@if": {"exists": {"@path": "$.x"}, "then": 1, "else": [{"@bogus": 1}]}}}
    compiled = compile_mapping(mapping)
    assert compiled.errors == ()
    assert compiled.transform({"x": 1}) == {"a": 1}
    with pytest.raises(MappingError) as caught:
        compiled.transform({})
    assert caught.value.messages == ["@bogus is not a valid directive, got undefined"]


def test_output_shares_nothing_with_the_payload():
    payload = {"properties": {"a": {"b": 1}}, "l": [1]}
    result = transform({"p": {"@path": "$.properties"}, "l": {"@path": "$.l"}}, payload)
    result["p"]["a"]["b"] = 2
    result["l"].append(2)
    assert payload == {"properties": {"a": {"b": 1}}, "l": [1]}


def test_output_shares_nothing_with_the_mapping_or_earlier_outputs():
    mapping = {"static": {"a": {"b": 1}}, "l": [1, {"c": 2}]}
    first = transform(mapping)
    first["static"]["a"]["b"] = 99
    first["l"][1]["c"] = 99
    assert transform(mapping) == {"static": {"a": {"b": 1}}, "l": [1, {"c": 2}]}
    assert mapping == {"static": {"a": {"b": 1}}, "l": [1, {"c": 2}]}


def test_output_never_contains_undefined():
    mapping = {
        "a": [{"@path": "$.m"}],
        "b": {"@merge": {"direction": "right", "objects": [{"x": {"@path": "$.m"}}]}},
        "c": {"@flatten": {"separator": ".", "value": {"y": {"@path": "$.m"}}}},
        "d": {"@excludeWhenNull": {"z": None}},
    }
    assert transform(mapping) == {"a": [None], "b": {}, "c": {}, "d": {}}


# --------------------------------------------------------------------------- compile once


def test_compile_mapping_exposes_the_validation_errors():
    compiled = compile_mapping({"a": {"@path": 1}})
    assert isinstance(compiled, CompiledMapping)
    assert compiled.errors == (
        "/a/@path should be a string or a mapping directive but it is a number.",
    )
    with pytest.raises(MappingError) as caught:
        compiled.transform({})
    assert caught.value.phase == "validate"


def test_compiled_mapping_checks_the_payload_before_reporting_validation_errors():
    with pytest.raises(MappingError) as caught:
        compile_mapping({"a": {"@path": 1}}).transform(5)
    assert caught.value.messages == ["data must be an object, got number"]


def test_compiled_mapping_gives_the_same_results_as_transform():
    mapping = {"a": {"@path": "$.x"}, "t": {"@template": "{{x}}!"}}
    compiled = compile_mapping(mapping)
    for payload in ({"x": 1}, {}, {"x": [1, None]}):
        assert compiled.transform(payload) == transform(mapping, payload)


def test_equal_mappings_share_one_compiled_mapping():
    assert compile_mapping({"a": {"@path": "$.x"}}) is compile_mapping({"a": {"@path": "$.x"}})


def test_key_order_is_part_of_the_cache_key_because_it_orders_messages():
    first = compile_mapping({"a": {"@path": 1}, "b": {"@path": 2}})
    second = compile_mapping({"b": {"@path": 2}, "a": {"@path": 1}})
    assert first.errors == tuple(reversed(second.errors))


def test_compiled_mapping_is_immutable():
    compiled = compile_mapping({"a": 1})
    with pytest.raises(AttributeError):
        compiled.errors = ("x",)  # type: ignore[misc]
    assert compiled.errors == ()


def test_compile_mapping_accepts_a_compiled_mapping():
    compiled = compile_mapping({"a": 1})
    assert compile_mapping(compiled) is compiled
    assert transform(compiled, {}) == {"a": 1}


def test_changing_the_mapping_after_compiling_does_not_change_the_compiled_mapping():
    mapping = {"a": {"@path": "$.x"}, "s": {"k": 1}}
    compiled = compile_mapping(mapping)
    mapping["a"]["@path"] = "$.y"
    mapping["s"]["k"] = 2
    assert compiled.transform({"x": 1, "y": 2}) == {"a": 1, "s": {"k": 1}}


def test_mapping_that_is_not_plain_json_still_compiles():
    assert transform({"a": UNDEFINED, "b": 1, "t": ({"@path": "$.x"},)}, {"x": 2}) == {
        "b": 1,
        "t": [2],
    }


def test_compiling_never_mutates_the_mapping():
    mapping = {
        "r": {"@replace": {"pattern": "a", "value": {"@path": "$.v"}}},
        "m": {"@merge": {"direction": "left", "objects": [{"a": 1}, {"a": 2}]}},
        "t": {"@transform": {"apply": {ROOT: {"@literal": {}}}, "mapping": {"x": 1}}},
    }
    before = copy.deepcopy(mapping)
    for _ in range(2):
        transform(mapping, {"v": "abc"})
    assert mapping == before


def test_transform_never_mutates_the_payload():
    payload = {"o": {"a": None, "l": [3, 1]}, "s": "x"}
    before = copy.deepcopy(payload)
    mapping = {
        "e": {"@excludeWhenNull": {"@path": "$.o"}},
        "m": {"@merge": {"direction": "left", "objects": [{"@path": "$.o"}, {"b": 1}]}},
        "f": {"@flatten": {"separator": ".", "value": {"@path": "$.o"}}},
        "a": {"@arrayPath": ["$.o.l", {"v": {"@path": "$."}}]},
    }
    transform(mapping, payload)
    assert payload == before


def test_compiled_mappings_are_safe_to_share_between_threads():
    compiled = compile_mapping(
        {
            "id": {"@path": "$.n"},
            "label": {"@template": "n={{n}}"},
            "items": {"@arrayPath": ["$.items", {"v": {"@path": "$."}}]},
        }
    )
    failures: list[str] = []

    def work(n: int) -> None:
        for _ in range(200):
            result = compiled.transform({"n": n, "items": [n, n + 1]})
            if result != {"id": n, "label": f"n={n}", "items": [{"v": n}, {"v": n + 1}]}:
                failures.append(f"{n}: {result}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --------------------------------------------------------------------------- recursion


def _nested_dict(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_payload_nested_too_deeply_is_a_runtime_error():
    with pytest.raises(MappingError) as caught:
        transform({"all": {"@path": "$."}}, _nested_dict(20_000))
    assert caught.value.phase == "runtime"
    assert caught.value.messages == ["Maximum call stack size exceeded"]


def test_a_mapping_nested_too_deeply_is_a_runtime_error():
    mapping = _nested_dict(20_000)
    assert validate(mapping) == ["Maximum call stack size exceeded"]
    with pytest.raises(MappingError) as caught:
        transform(mapping, {})
    assert caught.value.phase == "runtime"
