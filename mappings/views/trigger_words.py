"""FQL triggers in words, for the Mappings tab. Pure: nodes in, text out.

>>> from mappings.engine import fql
>>> describe_trigger(fql.parse('type = "track" and event != "Order Completed"'))
'Event type is "track" and event name is not "Order Completed"'
>>> describe_trigger(fql.parse('type = "track" and properties.platform = "android"'))
'Event type is "track" and event property platform is "android"'
>>> describe_trigger(fql.parse('type = "identify" or (traits.seats > 3 and context.ip != null)'))
'Event type is "identify" or (trait seats is greater than 3 and context field ip exists)'
"""

from __future__ import annotations

import json

from ..engine.fql import Condition, Group, Node, Not, format_number

# Condition type → what it is called in a sentence (path types add their path after it).
SUBJECTS = {
    "event-type": "event type",
    "event": "event name",
    "name": "page or screen name",
    "userId": "user ID",
    "event-property": "event property",
    "event-trait": "trait",
    "event-context": "context field",
    "field": "field",
}

# Operator → verb phrase; ``{}`` is the value.
VERBS = {
    "=": "is {}",
    "!=": "is not {}",
    "contains": "contains {}",
    "not_contains": "does not contain {}",
    "starts_with": "starts with {}",
    "not_starts_with": "does not start with {}",
    "ends_with": "ends with {}",
    "not_ends_with": "does not end with {}",
    "glob": "matches the pattern {}",
    "not_glob": "does not match the pattern {}",
    "number_equals": "equals {}",
    "number_not_equals": "does not equal {}",
    "<": "is less than {}",
    "<=": "is at most {}",
    ">": "is greater than {}",
    ">=": "is at least {}",
    "exists": "exists",
    "not_exists": "does not exist",
    "is_true": "is true",
    "is_false": "is false",
}


def describe_trigger(node: Node) -> str:
    """A sentence for a parsed trigger, first letter capitalised, values quoted like FQL."""
    text = _describe(node, top=True)
    return text[:1].upper() + text[1:]


def _describe(node: Node, *, top: bool = False) -> str:
    if isinstance(node, Condition):
        return _condition(node)
    if isinstance(node, Not):
        return f"not ({_describe(node.child, top=True)})"
    assert isinstance(node, Group)
    text = f" {node.operator} ".join(_describe(child) for child in node.children)
    # Nested groups always mix "and" with "or" (parse flattens same-operator chains): brackets
    # keep the sentence as unambiguous as the FQL.
    return text if top else f"({text})"


def _condition(condition: Condition) -> str:
    subject = SUBJECTS[condition.type]
    if condition.name is not None:
        subject = f"{subject} {condition.name}"
    return f"{subject} {VERBS[condition.operator].format(_value(condition.value))}"


def _value(value: str | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return format_number(value)
