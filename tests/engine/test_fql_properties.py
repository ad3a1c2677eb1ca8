"""Property tests: canonical text round-trips, and evaluation never raises."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.engine.fql import (
    Condition,
    FqlError,
    Group,
    Node,
    Not,
    matches,
    parse,
    to_ast,
    to_fql,
    tokenize,
)
from mappings.engine.fql_eval import split_name
from mappings.engine.fql_nodes import ROOT_FIELDS
from mappings.engine.fql_parser import match_condition
from mappings.engine.jsvalues import js_number_to_string

# A few seconds by default; FQL_EXAMPLES=5000 for a deeper run before touching the grammar.
SETTINGS = settings(max_examples=int(os.environ.get("FQL_EXAMPLES", "200")), deadline=None)

# Characters that exercise every escaping rule, plus anything else Unicode offers.
_TRICKY = list('abZ_09-. []"\\*\n\t\r\u00e9\u2615') + ["and", "or", "null", "true", "not", "AND"]
texts = st.lists(st.sampled_from(_TRICKY) | st.characters(), max_size=6).map("".join)
numbers = st.floats(allow_nan=False) | st.integers(-(10**30), 10**30).map(float)

names = texts.filter(lambda n: bool(split_name(n)))
field_names = names.filter(lambda n: n not in ROOT_FIELDS)

STRING_TYPES = ["event-type", "event", "name", "userId"]
PATH_TYPES = ["event-property", "event-trait", "event-context"]


@st.composite
def conditions(draw) -> Condition:
    """Any condition that ``parse`` can return (spec §2.4)."""
    kind = draw(st.sampled_from(STRING_TYPES + PATH_TYPES + ["field"]))
    name = None
    if kind in PATH_TYPES:
        name = draw(names)
    elif kind == "field":
        name = draw(field_names)
    text_field = kind in STRING_TYPES
    forms = ["eq", "order", "contains", "match"]
    if kind not in ("event-type", "event"):
        forms.append("exists")
    if kind not in STRING_TYPES[:3]:
        forms.append("bool")
    if not text_field:
        forms.append("number")
    form = draw(st.sampled_from(forms))
    negated = draw(st.booleans())

    def make(operator, value=None):
        return Condition(type=kind, name=name, operator=operator, value=value)

    if form == "eq":
        return make("!=" if negated else "=", draw(texts))
    if form == "number":
        return make("number_not_equals" if negated else "number_equals", draw(numbers))
    if form == "order":
        number = draw(numbers)
        return make(
            draw(st.sampled_from(["<", "<=", ">", ">="])),
            js_number_to_string(number) if text_field else number,
        )
    if form == "contains":
        return make("not_contains" if negated else "contains", draw(texts))
    if form == "exists":
        return make("exists" if negated else "not_exists")
    if form == "bool":
        return make("is_true" if negated else "is_false")
    return match_condition(kind, name, draw(texts), negated)


def _group(operator: str, children: list[Node]) -> Node:
    """A normalised group: same-operator children are flattened into it."""
    flat: list[Node] = []
    for child in children:
        if isinstance(child, Group) and child.operator == operator:
            flat.extend(child.children)
        else:
            flat.append(child)
    return Group(operator, tuple(flat))


trees = st.recursive(
    conditions(),
    lambda children: st.one_of(
        children.map(Not),
        st.builds(
            _group, st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=4)
        ),
    ),
    max_leaves=6,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
keys = (
    st.sampled_from(
        ["type", "event", "name", "userId", "properties", "traits", "context", "a", "0", "1"]
    )
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
    max_leaves=8,
)
events = st.dictionaries(keys, json_values, max_size=5)


@SETTINGS
@given(trees)
def test_canonical_text_parses_back_to_the_same_tree(node):
    text = to_fql(node)
    assert parse(text) == node
    assert to_fql(parse(text)) == text
    assert to_ast(parse(text)) == to_ast(node)


@SETTINGS
@given(trees, events | json_values)
def test_matches_never_raises_and_agrees_with_the_text_and_negation(node, event):
    result = matches(node, event)
    assert result in (True, False)
    assert matches(to_fql(node), event) is result
    assert matches(Not(node), event) is (isinstance(event, dict) and not result)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(list('ab.=!<>()," \\*1-e') + ["and ", "or ", "type", '"x"'])
        | st.characters(),
        max_size=20,
    ).map("".join)
)
def test_arbitrary_text_either_parses_or_raises_fql_error(text):
    tokenize(text, lenient=True)
    try:
        node = parse(text)
    except FqlError as err:
        assert 0 <= err.position <= len(text)
    else:
        assert parse(to_fql(node)) == node
    assert matches(text, {"type": "track"}) in (True, False)
