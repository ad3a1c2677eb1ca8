"""User and group profile updates (`/engage`, `/groups`): validation and application. Pure.

Strict reading of `mixpanel-api.md` §5/§6: exactly one operation per record (several is
UNCONFIRMED, so refused), only the documented keys, `$add` values numbers, no `$add` or
`$append` on groups, no `$distinct_id` on group records.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .events import has_invalid_utf8, is_number, is_placeholder, serialized_size

OPERATIONS = ("$set", "$set_once", "$add", "$union", "$append", "$remove", "$unset", "$delete")
GROUP_OPERATIONS = ("$set", "$set_once", "$union", "$remove", "$unset", "$delete")
_USER_KEYS = {"$token", "$distinct_id", "$ip", "$time", "$ignore_time", "$ignore_alias"}
_USER_KEYS |= {"$latitude", "$longitude"}  # geo goes outside `$set` on profiles (§10)
_GROUP_KEYS = {"$token", "$group_key", "$group_id", "$time", "$ignore_time"}
MAX_UPDATE_BYTES = 1_000_000


def check_update(update: Any, tokens: Collection[str], *, group: bool) -> str | None:
    """Why Mixpanel would refuse one profile update, or None when it is accepted."""
    if not isinstance(update, dict):
        return "each update must be a JSON object"
    token = update.get("$token")
    if not isinstance(token, str) or not token:
        return "missing $token"
    if token not in tokens:
        return f"$token {token!r} does not belong to any project"
    if group:
        error = _check_group_identity(update)
    else:
        error = _check_user_identity(update)
    if error:
        return error
    allowed_ops = GROUP_OPERATIONS if group else OPERATIONS
    ops = [key for key in update if key in OPERATIONS]
    if len(ops) != 1:
        return f"exactly one operation is required, got {len(ops)}: {', '.join(ops) or 'none'}"
    op = ops[0]
    if op not in allowed_ops:
        return f"{op} is not supported on group profiles"
    known = (_GROUP_KEYS if group else _USER_KEYS) | {op}
    unknown = sorted(set(update) - known)
    if unknown:
        return f"unexpected keys: {', '.join(unknown)}"
    if error := _check_operation_value(op, update[op]):
        return error
    if has_invalid_utf8(update):
        return "strings should be valid utf8"
    if serialized_size(update) > MAX_UPDATE_BYTES:
        return "update exceeds 1 MB"
    return None


def _check_user_identity(update: dict[str, Any]) -> str | None:
    distinct_id = update.get("$distinct_id")
    if distinct_id is None:
        return "missing or null $distinct_id"
    if not isinstance(distinct_id, str) or not distinct_id.strip():
        return "$distinct_id must be a non-empty string"
    if is_placeholder(distinct_id):
        return f"$distinct_id {distinct_id!r} is a reserved value"
    return None


def _check_group_identity(update: dict[str, Any]) -> str | None:
    if "$distinct_id" in update:
        return "$distinct_id is not allowed on group profile updates"
    for key in ("$group_key", "$group_id"):
        value = update.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"missing or empty {key}"
    return None


def _check_operation_value(op: str, value: Any) -> str | None:
    if op == "$delete":
        return None
    if op == "$unset":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "$unset takes a list of property names"
        return None
    if not isinstance(value, dict):
        return f"{op} takes an object"
    if op == "$add" and not all(is_number(v) for v in value.values()):
        return "$add values must be numbers"
    if op == "$union" and not all(isinstance(v, list) and v for v in value.values()):
        return "$union values must be non-empty lists"
    return None


def apply_update(profiles: dict[str, dict[str, Any]], key: str, update: dict[str, Any]) -> None:
    """Apply one accepted update to `profiles[key]`, creating the profile when needed.

    `$last_seen` is not maintained: tests assert exactly what segmix set.
    """
    op = next(k for k in update if k in OPERATIONS)
    value = update[op]
    if op == "$delete":
        profiles.pop(key, None)
        return
    profile = profiles.setdefault(key, {})
    if op == "$set":
        profile.update(value)
    elif op == "$set_once":
        for name, item in value.items():
            profile.setdefault(name, item)
    elif op == "$add":
        for name, amount in value.items():
            current = profile.get(name, 0)
            profile[name] = (current if is_number(current) else 0) + amount
    elif op == "$union":
        for name, items in value.items():
            merged = _as_list(profile.get(name))
            merged.extend(item for item in items if item not in merged)
            profile[name] = merged
    elif op == "$append":
        for name, item in value.items():
            profile[name] = [*_as_list(profile.get(name)), item]
    elif op == "$remove":
        for name, item in value.items():
            profile[name] = [v for v in _as_list(profile.get(name)) if v != item]
    elif op == "$unset":
        for name in value:
            profile.pop(name, None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
