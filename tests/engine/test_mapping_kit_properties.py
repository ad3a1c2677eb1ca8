"""Property-based tests for mapping-kit: random JSON payloads and random directive-shaped mappings."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.engine.jsvalues import UNDEFINED
from mappings.engine.mapping_kit import MappingError, compile_mapping, transform, validate
from mappings.engine.mapping_kit_runtime import CompiledMapping

ROOT = "__segment_internal_directive"
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The cross-checks below need fewer examples than the two core properties.
FEWER = settings(SETTINGS, max_examples=100)

KEYS = st.sampled_from(["a", "b", "l", "s", "x", "0", "1", "10", "", "x y", "_metadata", "mapping"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(KEYS | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=6,
)
PAYLOADS = st.dictionaries(KEYS, JSON, max_size=5)
PATHS = st.sampled_from(
    [
        "$.",
        "",
        ".",
        "$",
        "$.a",
        "$.a.b",
        "a[0]",
        "$.l.length",
        "$.s.0",
        "$['a']",
        "a['x.y']",
        "$.a.$.b",
        "l[1]]",
    ]
) | st.text(max_size=6)
TEMPLATES = st.sampled_from(
    ["{{a}}", "{{{a}}}", "{{ }}", "x{{a.b}}y", "{{{{a}}}}", "{{}}", "{{l}}"]
) | st.text(max_size=8)
SHORT_TEXT = st.text(max_size=12)


def _options(**fields: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional=fields)


def _mappings(inner: st.SearchStrategy) -> st.SearchStrategy:
    raw = inner | JSON
    directives = st.one_of(
        st.builds(lambda v: {"@path": v}, PATHS | inner),
        st.builds(lambda v: {"@template": v}, TEMPLATES | inner),
        st.builds(lambda v: {"@literal": v}, raw),
        st.builds(lambda v: {"@excludeWhenNull": v}, raw),
        st.builds(
            lambda v: {"@if": v},
            _options(exists=raw, blank=raw, then=raw, **{"else": raw}) | raw,
        ),
        st.builds(
            lambda v: {"@case": v},
            _options(
                operator=st.sampled_from(["lower", "upper", "Upper", "", None]) | raw, value=raw
            ),
        ),
        st.builds(
            lambda v: {"@replace": v},
            _options(
                pattern=SHORT_TEXT | raw,
                replacement=SHORT_TEXT | raw,
                value=raw,
                ignorecase=st.booleans() | raw,
                pattern2=SHORT_TEXT,
                replacement2=SHORT_TEXT | st.none(),
                **{"global": st.booleans() | raw},
            )
            | raw,
        ),
        st.builds(lambda v: {"@arrayPath": v}, st.lists(PATHS | inner, max_size=3) | raw),
        st.builds(
            lambda v: {"@json": v},
            _options(
                mode=st.sampled_from(["encode", "decode", "Encode", "yaml", ""]) | raw, value=raw
            ),
        ),
        st.builds(
            lambda v: {"@flatten": v},
            _options(separator=st.sampled_from([".", "", "_"]) | raw, value=raw, omitArrays=raw),
        ),
        st.builds(
            lambda v: {"@merge": v},
            _options(
                direction=st.sampled_from(["left", "right", "Left", ""]) | raw,
                objects=st.lists(raw, max_size=3) | raw,
            ),
        ),
        st.builds(lambda v: {"@transform": v}, _options(apply=raw, mapping=raw) | raw),
        st.builds(lambda v: {"@bogus": v}, raw),
        st.builds(lambda v: {"@liquid": v}, SHORT_TEXT),
        st.builds(lambda v, m: {"@path": v, "_metadata": m}, PATHS, JSON),
        st.builds(lambda v: {"@path": v, "k": 1}, PATHS),
    )
    return directives | st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4)


NODES = st.recursive(SCALARS | st.builds(lambda p: {"@path": p}, PATHS), _mappings, max_leaves=6)
OBJECT_MAPPINGS = st.dictionaries(KEYS, NODES, max_size=5)
ROOT_MAPPINGS = st.builds(
    lambda root, rest: {ROOT: root, **rest}, NODES, st.dictionaries(KEYS, NODES, max_size=3)
)
MAPPINGS = OBJECT_MAPPINGS | ROOT_MAPPINGS | NODES


def _contains_undefined(value) -> bool:
    if value is UNDEFINED:
        return True
    if isinstance(value, dict):
        return any(_contains_undefined(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_undefined(v) for v in value)
    return False


@SETTINGS
@given(mapping=MAPPINGS, payload=PAYLOADS)
def test_transform_raises_nothing_but_mapping_error_and_changes_nothing(mapping, payload):
    mapping_before = copy.deepcopy(mapping)
    payload_before = copy.deepcopy(payload)
    try:
        result = transform(mapping, payload)
    except MappingError as error:
        assert error.messages
        assert error.phase in ("validate", "runtime")
    else:
        assert not _contains_undefined(result)
    assert mapping == mapping_before
    assert payload == payload_before


@SETTINGS
@given(mapping=MAPPINGS, payload=PAYLOADS)
def test_a_mapping_that_validates_never_fails_validation_in_transform(mapping, payload):
    messages = validate(mapping)
    try:
        transform(mapping, payload)
    except MappingError as error:
        if messages == []:
            # Only a nested @transform's own validation, where the outer one does not look
            # (arrays, @literal), can fail validation at transform time.
            assert error.phase == "runtime" or _has_transform(mapping)
        else:
            assert error.phase == "validate" or error.messages == messages


@FEWER
@given(mapping=MAPPINGS, payload=PAYLOADS)
def test_the_cached_and_the_freshly_built_mapping_agree(mapping, payload):
    fresh = CompiledMapping.build(copy.deepcopy(mapping))
    cached = compile_mapping(mapping)
    assert fresh.errors == cached.errors
    outcomes = []
    for compiled in (fresh, cached):
        try:
            outcomes.append(("ok", compiled.transform(payload)))
        except MappingError as error:
            outcomes.append((error.phase, error.messages))
    assert outcomes[0] == outcomes[1]


@FEWER
@given(mapping=OBJECT_MAPPINGS, payload=JSON.filter(lambda v: not isinstance(v, dict)))
def test_a_payload_that_is_not_an_object_is_always_rejected_first(mapping, payload):
    try:
        transform(mapping, payload)
    except MappingError as error:
        assert error.phase == "runtime"
        assert error.messages[0].startswith("data must be an object, got ")
    else:
        raise AssertionError("non-object payload accepted")


def _has_transform(value) -> bool:
    """Whether a ``@transform`` directive stands anywhere in ``value``."""
    if isinstance(value, dict):
        return "@transform" in value or any(_has_transform(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_transform(v) for v in value)
    return False
