"""What happens to a resolved mapping before records are built (spec §5.2–§5.4, actions-core parity).

1. **Remove empty values** (§5.2): ``null`` unless the field allows it; ``""`` when the field's type
   has no string in it; and, in single-event semantics only, every root-level ``""``. The rule
   recurses into declared sub-objects (``utm_properties``, ``userAgentData``) without the root-only
   ``""`` rule. List items (``products``) are not cleaned, though ``null`` and ``""`` items are
   dropped; free-form objects are never cleaned.
2. **Drop undeclared keys** (§5.3), at the root and inside declared sub-objects (not product items).
3. **Coerce and validate** (§5.4): ajv's "coerce types, array mode" rules and Segment's message
   texts. Messages are joined by one space. As in ajv, the required-field messages come first (in
   field order), then each field's own messages in field order.

>>> from .actions import get_action
>>> prepare_payload(get_action("trackEvent"), {"event": 7, "screen_width": "1280", "x": 1}, batch=False).fields
{'event': '7', 'screen_width': 1280}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

from mappings.engine.jsvalues import js_number_to_string, js_to_number, js_type

from .actions import ACTIONS, ActionDefinition
from .dates import is_date_like
from .fields import InputField
from .types import PayloadValidationError

__all__ = ["PreparedPayload", "humanize_list", "prepare_payload", "type_error"]

_MAX_SAFE_INT: Final = 2**53
_TIMESTAMP_MESSAGE_SUFFIX: Final = " must be a valid date-like string but it was not."


@dataclass
class PreparedPayload:
    """The validated payload, plus what §5 changed (paths like ``utm_properties.utm_term``)."""

    fields: dict[str, Any]
    removed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    coerced: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- messages


def humanize_list(items: list[str], conjunction: str) -> str:
    """``a``, ``a or b``, ``a, b, or c`` (Segment's ajv-human-errors)."""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return ", ".join(items[:-1]) + f", {conjunction} {items[-1]}"


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _humanize_type_of(value: Any) -> str:
    kind = js_type(value)
    return "null" if kind == "null" else f"{_article(kind)} {kind}"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def type_error(label: str, types: list[str], value: Any) -> str:
    """``Screen width must be a number but it was a string.``

    >>> type_error("User ID", ["string", "null"], {})
    'User ID must be a string or null but it was an object.'
    """
    expected = humanize_list(types, "or")
    return _capitalize(f"{label} must be {_article(expected)} {expected} but it was ") + (
        f"{_humanize_type_of(value)}."
    )


def _required_error(key: str) -> str:
    return f"The root value is missing the required field '{key}'."


# --------------------------------------------------------------------------- field rules


def _type_has_string(spec: InputField) -> bool:
    return spec.type in ("string", "datetime") and not spec.multiple


def _has_sub_object(spec: InputField) -> bool:
    return bool(spec.properties) and not spec.multiple


def _json_types(spec: InputField) -> list[str]:
    if spec.multiple:
        return ["array"]
    types = ["string", "number"] if spec.type == "datetime" else [spec.type]
    return types + ["null"] if spec.allow_null else types


class _Rule:
    """What §5 needs to know about one declared field, worked out once per field.

    ``as_is`` and the number bounds describe the values that §5.4 keeps exactly as they are
    without a message: almost every value of every event. Only the others go through the
    general coercion code (:func:`_check_value`), so both paths give the same answers.
    """

    __slots__ = (
        "allow_null",
        "as_is",
        "dates",
        "floats",
        "has_sub_object",
        "high",
        "index",
        "ints",
        "keeps_empty_string",
        "key",
        "label",
        "low",
        "multiple",
        "spec",
        "subs",
        "types",
    )

    def __init__(self, spec: InputField, index: int) -> None:
        self.spec = spec
        self.key = spec.key
        self.label = spec.label
        self.index = index
        self.allow_null = spec.allow_null
        self.multiple = spec.multiple
        self.keeps_empty_string = _type_has_string(spec)
        self.has_sub_object = _has_sub_object(spec)
        self.subs = {sub.key: _Rule(sub, i) for i, sub in enumerate(spec.properties)}
        self.types = _json_types(spec)
        kind = spec.type
        as_is: set[type] = set()
        if not spec.multiple:
            if kind == "string":
                as_is.add(str)
            elif kind == "boolean":
                as_is.add(bool)
            elif kind == "object" and not self.has_sub_object:
                as_is.add(dict)
            # A null of an object field with declared keys is not as is: it fails in the copy.
            if spec.allow_null and not (kind == "object" and self.has_sub_object):
                as_is.add(type(None))
        self.as_is = frozenset(as_is)
        plain = not spec.multiple
        # Finite numbers within the bounds (only "number" fields have bounds); big integers,
        # which need care with floats, take the general path.
        self.ints = plain and kind in ("number", "integer", "datetime")
        self.floats = plain and kind in ("number", "datetime")
        bounded = kind == "number"
        minimum, maximum = spec.minimum, spec.maximum
        self.low = minimum if bounded and minimum is not None else -math.inf
        self.high = maximum if bounded and maximum is not None else math.inf
        self.dates = plain and kind == "datetime"


def _as_is(rule: _Rule, value: Any) -> bool:
    """Whether §5.4 keeps ``value`` unchanged without a message (see :class:`_Rule`)."""
    t = type(value)
    if t in rule.as_is:
        return True
    if t is int:
        return rule.ints and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT and rule.low <= value <= rule.high
    if t is float:
        # ``value - value`` is 0.0 only for finite values (NaN and ±Infinity give NaN).
        return rule.floats and value - value == 0.0 and rule.low <= value <= rule.high
    if t is str:
        return rule.dates and is_date_like(value)
    return False


class _Table:
    """An action's fields as rules, by key and in field order."""

    __slots__ = ("action", "required", "rules", "special")

    def __init__(self, action: ActionDefinition) -> None:
        self.action = action
        self.rules = {spec.key: _Rule(spec, i) for i, spec in enumerate(action.fields)}
        self.required = tuple(spec.key for spec in action.fields if spec.required)
        # Fields whose value §5.2 may rewrite even when it is neither null nor "".
        self.special = frozenset(
            key for key, rule in self.rules.items() if rule.has_sub_object or rule.multiple
        )


_TABLES: Final = {action.id: _Table(action) for action in ACTIONS}


def _table(action: ActionDefinition) -> _Table:
    table = _TABLES.get(action.id)
    if table is None or table.action is not action:
        return _Table(action)  # not one of ours (tests may build their own)
    return table


# --------------------------------------------------------------------------- §5.2, §5.3


def _clean_sub_object(rule: _Rule, value: dict[str, Any], prepared: PreparedPayload) -> dict:
    cleaned: dict[str, Any] = {}
    subs = rule.subs
    for key, sub_value in value.items():
        sub = subs.get(key)
        if sub is None:
            prepared.dropped.append(f"{rule.key}.{key}")
            continue
        if sub_value is None or (sub_value == "" and not sub.keeps_empty_string):
            prepared.removed.append(f"{rule.key}.{key}")
            continue
        cleaned[key] = sub_value
    return cleaned


def _clean_special(rule: _Rule, value: Any, prepared: PreparedPayload) -> Any:
    """§5.2–§5.3 inside a declared sub-object or list field (a non-empty value)."""
    if rule.has_sub_object and isinstance(value, dict):
        return _clean_sub_object(rule, value, prepared)
    if rule.multiple and isinstance(value, list):
        # Items are not cleaned, but null and "" items are dropped (they cannot be objects).
        kept_items = [item for item in value if item is not None and item != ""]
        if len(kept_items) != len(value):
            prepared.removed.append(f"{rule.key}[]")
        return kept_items
    return value


def _clean(
    table: _Table, resolved: Mapping[str, Any], *, batch: bool
) -> tuple[PreparedPayload, list[_Rule]]:
    """§5.2 and §5.3. Also returns, in field order, the rules of the kept values that §5.4 must
    look at: the others are kept exactly as they are (see :class:`_Rule`)."""
    prepared = PreparedPayload(fields={})
    fields = prepared.fields
    rules = table.rules
    todo: list[_Rule] = []
    for key, value in resolved.items():
        rule = rules.get(key)
        # The usual value first: one test, and nothing else to do. The types in ``as_is`` are
        # exact JSON types, so ``!=`` is a plain comparison.
        if rule is not None and type(value) in rule.as_is and value != "":
            fields[key] = value
            continue
        if rule is None:
            prepared.dropped.append(key)
            continue
        if (
            type(value) is int
            and rule.ints
            and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
            and rule.low <= value <= rule.high
        ):
            fields[key] = value  # a plain number (screen sizes, batch size): as :func:`_as_is`
            continue
        if value is None and not rule.allow_null:
            prepared.removed.append(key)
            continue
        if (
            isinstance(value, str)
            and value == ""
            and (not batch or not rule.keeps_empty_string)
        ):
            prepared.removed.append(key)
            continue
        if key in table.special:
            value = _clean_special(rule, value, prepared)
        fields[key] = value
        if rule.multiple or not _as_is(rule, value):
            todo.append(rule)
    todo.sort(key=_INDEX)
    return prepared, todo


_INDEX: Final = attrgetter("index")


# --------------------------------------------------------------------------- §5.4


def _json_number(number: float) -> int | float:
    """A number made from text: an ``int`` when whole (and exact), else a ``float``."""
    if not math.isinf(number) and number.is_integer() and abs(number) <= _MAX_SAFE_INT:
        return int(number)
    return number


def _is_finite_number(value: Any) -> bool:
    # ajv's strictNumbers: a value that *is* NaN or ±Infinity is not a number (coercion aside).
    return js_type(value) == "number" and not (math.isnan(value) or math.isinf(value))


def _is_whole(value: Any) -> bool:
    return _is_finite_number(value) and float(value).is_integer()


def _matches(value: Any, types: list[str]) -> bool:
    kind = js_type(value)
    for wanted in types:
        if wanted == kind and wanted != "number":
            return True
        if wanted == "number" and _is_finite_number(value):
            return True
        if wanted == "integer" and _is_whole(value):
            return True
    return False


_NO_COERCION: Final = object()


def _coerce_to(value: Any, wanted: str) -> Any:
    """ajv's scalar coercion of ``value`` to ``wanted``, or ``_NO_COERCION``."""
    kind = js_type(value)
    if wanted == "string":
        if kind == "number":
            # M4: integers beyond ±2^53 keep their exact digits (JavaScript would round them).
            if type(value) is int and abs(value) > _MAX_SAFE_INT:
                return str(value)
            return js_number_to_string(value)
        if kind == "boolean":
            return "true" if value else "false"
        if value is None:
            return ""
    elif wanted in ("number", "integer"):
        if kind == "boolean":
            return 1 if value else 0
        if value is None:
            return 0
        if kind == "string" and value != "":
            number = js_to_number(value)
            if math.isnan(number):
                return _NO_COERCION
            # ``"2.5" % 1`` is truthy, ``Infinity % 1`` is NaN (falsy): ajv lets infinities in.
            if wanted == "integer" and not (math.isinf(number) or number.is_integer()):
                return _NO_COERCION
            return _json_number(number)
    elif wanted == "boolean":
        if value == "false" or value is None or (kind == "number" and value == 0):
            return False
        if value == "true" or (kind == "number" and value == 1):
            return True
    elif wanted == "null":
        if value == "" or value is False or (kind == "number" and value == 0):
            return None
    return _NO_COERCION


def _coerce_scalar(value: Any, types: list[str]) -> tuple[bool, Any]:
    """``(ok, value)`` under "coerce types, array mode"; on failure ``value`` is what was tested.

    A one-element array stands for its element. With a single target type an element of that type
    is taken as is; with a union (``string|null``, ``string|number``) ajv's check of the element
    never succeeds, so the element goes through the coercions only: ``["x"]`` fails as a
    ``string|null`` while ``[5]`` becomes ``"5"`` (parity, however odd).
    """
    if _matches(value, types):
        return True, value
    if js_type(value) == "array" and len(value) == 1:
        value = value[0]
        if len(types) == 1 and _matches(value, types):
            return True, value
    for wanted in types:
        coerced = _coerce_to(value, wanted)
        if coerced is not _NO_COERCION:
            return True, coerced
    return False, value


def _check(rule: _Rule, value: Any, label: str, errors: list[str]) -> tuple[bool, Any]:
    """Coerce and validate one declared value (not ``products``); ``(ok, coerced)``."""
    if _as_is(rule, value):
        return True, value
    return _check_value(rule, value, label, errors)


def _check_value(rule: _Rule, value: Any, label: str, errors: list[str]) -> tuple[bool, Any]:
    """:func:`_check` for any value: ajv's coercions and Segment's messages."""
    spec = rule.spec
    types = rule.types
    if spec.type == "object":
        if js_type(value) != "object" and not (spec.allow_null and value is None):
            errors.append(type_error(label, types, value))
            return False, value
        if rule.has_sub_object:
            return _check_sub_object(rule, value, errors)
        return True, value
    ok, value = _coerce_scalar(value, types)
    if not ok:
        errors.append(type_error(label, types, value))
        return False, value
    if spec.type == "datetime" and isinstance(value, str) and not is_date_like(value):
        errors.append(_capitalize(label) + _TIMESTAMP_MESSAGE_SUFFIX)
        return False, value
    if spec.type == "number" and js_type(value) == "number":
        if spec.minimum is not None and value < spec.minimum:
            errors.append(f"{label} must be equal to or greater than {spec.minimum}.")
            return False, value
        if spec.maximum is not None and value > spec.maximum:
            errors.append(f"{label} must be equal to or less than {spec.maximum}.")
            return False, value
        if math.isinf(value):
            # ``"Infinity"`` passes ajv's coercion; JSON.stringify sends it as null.
            return True, None
    if spec.type == "integer" and js_type(value) == "number" and math.isinf(value):
        return True, None
    return True, value


def _check_sub_object(
    rule: _Rule, value: dict[str, Any], errors: list[str]
) -> tuple[bool, dict[str, Any]]:
    result = dict(value)
    all_ok = True
    for key, sub in rule.subs.items():
        if key in result:
            ok, result[key] = _check(sub, result[key], sub.label, errors)
            all_ok = all_ok and ok
    return all_ok, result


def _check_products(rule: _Rule, value: Any, errors: list[str]) -> tuple[bool, Any]:
    # Segment's arrifyFields: anything that is not a list stands for a one-item list.
    items = value if js_type(value) == "array" else [value]
    result: list[Any] = []
    all_ok = True
    for index, item in enumerate(items):
        if js_type(item) != "object":
            errors.append(type_error(f"the value at /{rule.key}/{index}", ["object"], item))
            all_ok = False
            result.append(item)
            continue
        coerced = dict(item)  # extra keys are allowed and kept as they are
        for sub in rule.subs.values():
            if sub.key in coerced:
                ok, coerced[sub.key] = _check(sub, coerced[sub.key], sub.label, errors)
                all_ok = all_ok and ok
        result.append(coerced)
    return all_ok, result


def prepare_payload(
    action: ActionDefinition, resolved: Mapping[str, Any], *, batch: bool
) -> PreparedPayload:
    """§5.2–§5.4 for one resolved mapping. ``batch`` selects batch semantics (keeps root ``""``).

    Raises :class:`PayloadValidationError` (400, ``PAYLOAD_VALIDATION_FAILED``) with every message.
    """
    if not isinstance(resolved, Mapping):
        raise PayloadValidationError(type_error("the root value", ["object"], resolved))
    table = _table(action)
    prepared, todo = _clean(table, resolved, batch=batch)
    payload = prepared.fields
    errors = [_required_error(key) for key in table.required if key not in payload]
    for rule in todo:
        key = rule.key
        before = payload[key]
        if rule.multiple:
            _, after = _check_products(rule, before, errors)
        else:
            _, after = _check_value(rule, before, rule.label, errors)
        payload[key] = after
        if after is not before and not _same_json(after, before):
            prepared.coerced.append(key)
    if errors:
        raise PayloadValidationError(" ".join(errors))
    return prepared


def _same_json(left: Any, right: Any) -> bool:
    if type(left) is type(right):
        return left == right
    return js_type(left) == js_type(right) and left == right
