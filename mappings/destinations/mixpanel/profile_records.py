"""Profile, group and identity records: identifyUser (§9), groupIdentifyUser (§10), alias (§11)
and incrementProperties (§12). Bodies are byte-for-byte Segment's, except the simplified-mode
``$identify`` (D4).

Input is the validated payload of §5; a key missing from it is JavaScript's ``undefined`` (omitted
from the body), while ``None`` is ``null`` (sent).

>>> from .types import MixpanelSettings
>>> record = group_record({"group_id": "ws-12", "traits": {"name": "Ops", "seats": 4}},
...                       MixpanelSettings(project_token="tok"))
>>> record.body
{'$token': 'tok', '$group_key': '$group_id', '$group_id': 'ws-12', '$set': {'seats': 4, '$name': 'Ops'}}
"""

from __future__ import annotations

import math
from typing import Any, Final

from mappings.engine.jsvalues import js_to_number, js_to_string, js_truthy, js_type

from .identity import is_placeholder
from .types import MixpanelSettings, PayloadValidationError, Record

__all__ = [
    "ALIAS_SKIPPED_REASON",
    "MAX_INCREMENT_KEYS",
    "alias_record",
    "group_record",
    "identify_track_record",
    "increment_record",
    "profile_record",
    "profile_set",
    "simplified_identify_record",
]

ALIAS_SKIPPED_REASON: Final = (
    "alias ignored: Mixpanel ignores $create_alias on projects using Simplified ID Merge "
    '(set ID Merge Mode to "original" if your project uses Original ID Merge)'
)
MAX_INCREMENT_KEYS: Final = 20

_PROFILE_RENAMED: Final = (
    "created",
    "createdAt",
    "created_at",
    "email",
    "firstName",
    "lastName",
    "name",
    "username",
    "phone",
)
_GROUP_RENAMED: Final = ("created", "createdAt", "created_at", "name")
_ABSENT: Final = object()


def _nullish_chain(traits: dict[str, Any], *keys: str) -> Any:
    """JavaScript ``a ?? b ?? c``: the first neither missing nor null, else the last (as it is)."""
    for key in keys[:-1]:
        if traits.get(key) is not None:
            return traits[key]
    return traits.get(keys[-1], _ABSENT)


def _assign(target: dict[str, Any], key: str, value: Any) -> None:
    """A JS object-literal member: ``undefined`` removes (JSON omits it), otherwise it is set."""
    if value is _ABSENT:
        target.pop(key, None)
    else:
        target[key] = value


def _distinct_id(payload: dict[str, Any]) -> Any:
    """``user_id ?? anonymous_id``: ``_ABSENT`` when the result is JavaScript ``undefined``."""
    if payload.get("user_id") is not None:
        return payload["user_id"]
    return payload.get("anonymous_id", _ABSENT)


def _certain_reject(distinct_id: Any) -> bool:
    """Pre-flight P26: Mixpanel rejects a profile update without a usable ``$distinct_id``."""
    if distinct_id is _ABSENT or distinct_id is None:
        return True
    return is_placeholder(distinct_id)


def _profile_envelope(payload: dict[str, Any], settings: MixpanelSettings) -> tuple[dict, bool]:
    body: dict[str, Any] = {"$token": settings.project_token}
    distinct_id = _distinct_id(payload)
    _assign(body, "$distinct_id", distinct_id)
    if "ip" in payload:
        body["$ip"] = payload["ip"]
    return body, _certain_reject(distinct_id)


def profile_set(traits: dict[str, Any]) -> dict[str, Any]:
    """identifyUser's ``$set`` (§9.2): the renamed traits last, in Segment's order.

    >>> profile_set({"firstName": "Mara", "lastName": "Quist", "createdAt": "2023-11-02", "x": 1})
    {'x': 1, '$created': '2023-11-02', '$first_name': 'Mara', '$last_name': 'Quist', '$name': 'Mara Quist'}
    """
    result = {k: v for k, v in traits.items() if k not in _PROFILE_RENAMED}
    _assign(result, "$created", _nullish_chain(traits, "created", "createdAt", "created_at"))
    _assign(result, "$email", traits.get("email", _ABSENT))
    _assign(result, "$first_name", traits.get("firstName", _ABSENT))
    _assign(result, "$last_name", traits.get("lastName", _ABSENT))
    first, last = traits.get("firstName"), traits.get("lastName")
    if traits.get("name") is not None:
        name: Any = traits["name"]
    elif js_truthy(first) and js_truthy(last):
        name = f"{js_to_string(first)} {js_to_string(last)}"
    else:
        name = _ABSENT
    _assign(result, "$name", name)
    _assign(result, "$username", traits.get("username", _ABSENT))
    _assign(result, "$phone", traits.get("phone", _ABSENT))
    return result


def profile_record(payload: dict[str, Any], settings: MixpanelSettings) -> Record | None:
    """The ``/engage`` ``$set`` update (§9.2), or ``None`` when ``traits`` has no key."""
    traits = payload.get("traits")
    if not isinstance(traits, dict) or not traits:
        return None
    body, reject = _profile_envelope(payload, settings)
    body["$set"] = profile_set(traits)
    return Record("engage", body, "profile", isolate=reject)


def identify_track_record(payload: dict[str, Any], settings: MixpanelSettings) -> Record | None:
    """Original mode (§9.3): ``$identify`` to ``/track`` when ``anonymous_id`` is truthy."""
    if not js_truthy(payload.get("anonymous_id")):
        return None
    properties: dict[str, Any] = {}
    _assign(properties, "$identified_id", payload.get("user_id", _ABSENT))
    properties["$anon_id"] = payload["anonymous_id"]
    properties["token"] = settings.project_token
    if settings.source_name:
        properties["segment_source_name"] = settings.source_name
    body = {"event": "$identify", "properties": properties}
    return Record("track", body, "$identify", gates_following=True)


def simplified_identify_record(
    payload: dict[str, Any], settings: MixpanelSettings, *, time_ms: int, insert_id: str
) -> Record | None:
    """Simplified mode (§9.4, D4): ``$identify`` to ``/import`` when both ids are truthy."""
    user_id, anonymous_id = payload.get("user_id"), payload.get("anonymous_id")
    if not (js_truthy(user_id) and js_truthy(anonymous_id)):
        return None
    properties: dict[str, Any] = {
        "time": time_ms,
        "distinct_id": user_id,
        "$user_id": user_id,
        "$device_id": anonymous_id,
        "$insert_id": insert_id,
    }
    if "ip" in payload:
        properties["ip"] = payload["ip"]
    if settings.source_name:
        properties["segment_source_name"] = settings.source_name
    body = {"event": "$identify", "properties": properties}
    return Record("import", body, "$identify", insert_id=insert_id)


def group_record(payload: dict[str, Any], settings: MixpanelSettings) -> Record:
    """The ``/groups`` update (§10.2). Raises when ``traits`` is missing (Segment's own check)."""
    traits = payload.get("traits")
    if not isinstance(traits, dict):
        raise PayloadValidationError('"traits" is a required field', code="Missing required fields")
    group_key = payload.get("group_key") or "$group_id"
    group_id = (
        traits.get(group_key) if js_truthy(traits.get(group_key)) else payload.get("group_id")
    )
    group_set = {k: v for k, v in traits.items() if k not in _GROUP_RENAMED}
    _assign(group_set, "$name", traits.get("name", _ABSENT))
    _assign(group_set, "$created", _nullish_chain(traits, "created", "createdAt", "created_at"))
    body = {
        "$token": settings.project_token,
        "$group_key": group_key,
        "$group_id": group_id,
        "$set": group_set,
    }
    return Record("groups", body, "group", isolate=not js_truthy(group_id))


def alias_record(payload: dict[str, Any], settings: MixpanelSettings) -> Record:
    """Original mode ``$create_alias`` to ``/track`` (§11); ``alias`` may be ``null``."""
    properties: dict[str, Any] = {}
    _assign(properties, "distinct_id", payload.get("distinct_id", _ABSENT))
    _assign(properties, "alias", payload.get("alias", _ABSENT))
    properties["token"] = settings.project_token
    if settings.source_name:
        properties["segment_source_name"] = settings.source_name
    return Record("track", {"event": "$create_alias", "properties": properties}, "$create_alias")


def _increment_value(value: float) -> int | float | None:
    if math.isinf(value):
        return None  # JSON.stringify(Infinity) is null
    if value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def increment_record(payload: dict[str, Any], settings: MixpanelSettings) -> Record | None:
    """The ``/engage`` ``$add`` update (§12), or ``None`` for an empty ``increment``.

    Raises for more than 20 keys (all keys count) and for a string that ``Number()`` reads as NaN.
    Numbers are used as they are; booleans, ``null``, lists and objects are silently skipped.
    """
    increment = payload.get("increment")
    if not isinstance(increment, dict) or not increment:
        return None
    if len(increment) > MAX_INCREMENT_KEYS:
        raise PayloadValidationError("Exceeded maximum of 20 properties for increment call")
    body, reject = _profile_envelope(payload, settings)
    additions: dict[str, Any] = {}
    for key, value in increment.items():
        kind = js_type(value)
        if kind == "number":
            additions[key] = value
        elif kind == "string":
            number = js_to_number(value)
            if math.isnan(number):
                raise PayloadValidationError(
                    f'The key "{key}" was not numeric', code="Non numeric increment value"
                )
            additions[key] = _increment_value(number)
    body["$add"] = additions
    # $add is not idempotent: resending after an ambiguous failure may double count (§14.5).
    return Record("engage", body, "increment", idempotent=False, isolate=reject)
