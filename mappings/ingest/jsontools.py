"""Small operations on parsed JSON values that ingest needs in several places (the JSON codec
itself is :mod:`mappings.jsoncodec`).

Values come from ``decode.parse_json``: dicts, lists, str, int (any size up to 4,300 digits),
float (finite), bool, None, nested at most 64 deep, so recursion here is bounded.
"""

from __future__ import annotations

from typing import Any


def without_write_keys(value: Any) -> Any:
    """``value`` with every ``writeKey`` member removed, at any depth (§3 "Stripping").

    Returns ``value`` itself when there is nothing to remove, so the common case copies nothing.

    >>> without_write_keys({"writeKey": "k", "context": {"writeKey": "k", "ip": "1.2.3.4"}})
    {'context': {'ip': '1.2.3.4'}}
    """
    if type(value) is dict:
        changed = "writeKey" in value
        out = {}
        for key, item in value.items():
            if key == "writeKey":
                continue
            cleaned = without_write_keys(item)
            changed = changed or cleaned is not item
            out[key] = cleaned
        return out if changed else value
    if type(value) is list:
        cleaned_items = [without_write_keys(item) for item in value]
        if any(c is not i for c, i in zip(cleaned_items, value, strict=True)):
            return cleaned_items
        return value
    return value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``override`` laid over it, ``override`` winning at every level.

    Keys keep ``base``'s order, then ``override``'s new keys follow. Inputs are not modified.

    >>> deep_merge({"locale": "en-GB", "app": {"v": 1, "b": 2}}, {"app": {"v": 3}, "ip": "x"})
    {'locale': 'en-GB', 'app': {'v': 3, 'b': 2}, 'ip': 'x'}
    """
    merged = dict(base)
    for key, item in override.items():
        below = merged.get(key)
        if type(item) is dict and type(below) is dict:
            merged[key] = deep_merge(below, item)
        else:
            merged[key] = item
    return merged
