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
from typing import Any, Final

from mappings.engine.jsvalues import js_number_to_string, js_to_number, js_type

from .actions import ActionDefinition
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


# --------------------------------------------------------------------------- §5.2, §5.3


def _type_has_string(spec: InputField) -> bool:
    return spec.type in ("string", "datetime") and not spec.multiple


def _has_sub_object(spec: InputField) -> bool:
    return bool(spec.properties) and not spec.multiple


def _clean_sub_object(spec: InputField, value: dict[str, Any], prepared: PreparedPayload) -> dict:
    cleaned: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub_spec = spec.property_named(key)
        where = f"{spec.key}.{key}"
        if sub_spec is None:
            prepared.dropped.append(where)
            continue
        if sub_value is None or (sub_value == "" and not _type_has_string(sub_spec)):
            prepared.removed.append(where)
            continue
        cleaned[key] = sub_value
    return cleaned


def _clean(
    action: ActionDefinition, resolved: Mapping[str, Any], *, batch: bool
) -> PreparedPayload:
    prepared = PreparedPayload(fields={})
    for key, value in resolved.items():
        spec = action.field(key)
        if spec is None:
            prepared.dropped.append(key)
            continue
        if value is None and not spec.allow_null:
            prepared.removed.append(key)
            continue
        if isinstance(value, str) and value == "" and (not batch or not _type_has_string(spec)):
            prepared.removed.append(key)
            continue
        if _has_sub_object(spec) and isinstance(value, dict):
            value = _clean_sub_object(spec, value, prepared)
        elif spec.multiple and isinstance(value, list):
            # Items are not cleaned, but null and "" items are dropped (they cannot be objects).
            kept = [item for item in value if item is not None and item != ""]
            if len(kept) != len(value):
                prepared.removed.append(f"{key}[]")
            value = kept
        prepared.fields[key] = value
    return prepared


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


def _json_types(spec: InputField) -> list[str]:
    if spec.multiple:
        return ["array"]
    types = ["string", "number"] if spec.type == "datetime" else [spec.type]
    return types + ["null"] if spec.allow_null else types


def _check_value(spec: InputField, value: Any, label: str, errors: list[str]) -> tuple[bool, Any]:
    """Coerce and validate one declared value (not ``products``); ``(ok, coerced)``."""
    types = _json_types(spec)
    if spec.type == "object":
        if js_type(value) != "object" and not (spec.allow_null and value is None):
            errors.append(type_error(label, types, value))
            return False, value
        if _has_sub_object(spec):
            return _check_sub_object(spec, value, errors)
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
    spec: InputField, value: dict[str, Any], errors: list[str]
) -> tuple[bool, dict[str, Any]]:
    result = dict(value)
    all_ok = True
    for sub_spec in spec.properties:
        if sub_spec.key in result:
            ok, result[sub_spec.key] = _check_value(
                sub_spec, result[sub_spec.key], sub_spec.label, errors
            )
            all_ok = all_ok and ok
    return all_ok, result


def _check_products(spec: InputField, value: Any, errors: list[str]) -> tuple[bool, Any]:
    # Segment's arrifyFields: anything that is not a list stands for a one-item list.
    items = value if js_type(value) == "array" else [value]
    result: list[Any] = []
    all_ok = True
    for index, item in enumerate(items):
        if js_type(item) != "object":
            errors.append(type_error(f"the value at /{spec.key}/{index}", ["object"], item))
            all_ok = False
            result.append(item)
            continue
        coerced = dict(item)  # extra keys are allowed and kept as they are
        for sub_spec in spec.properties:
            if sub_spec.key in coerced:
                ok, coerced[sub_spec.key] = _check_value(
                    sub_spec, coerced[sub_spec.key], sub_spec.label, errors
                )
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
    prepared = _clean(action, resolved, batch=batch)
    payload = prepared.fields
    errors = [
        _required_error(spec.key)
        for spec in action.fields
        if spec.required and spec.key not in payload
    ]
    for spec in action.fields:
        if spec.key not in payload:
            continue
        before = payload[spec.key]
        if spec.multiple:
            _, payload[spec.key] = _check_products(spec, before, errors)
        else:
            _, payload[spec.key] = _check_value(spec, before, spec.label, errors)
        if payload[spec.key] is not before and not _same_json(payload[spec.key], before):
            prepared.coerced.append(spec.key)
    if errors:
        raise PayloadValidationError(" ".join(errors))
    return prepared


def _same_json(left: Any, right: Any) -> bool:
    return js_type(left) == js_type(right) and left == right
