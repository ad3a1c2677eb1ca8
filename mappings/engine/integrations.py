"""Segment's ``integrations`` object: does it let an event through to a destination?

One rule for both stages (ingest routing and the destination's event eligibility), so they always
agree. Keys are case-sensitive, as in Segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MIXPANEL_KEYS: tuple[str, ...] = ("Mixpanel", "Actions Mixpanel", "Mixpanel (Actions)")


def integrations_decision(integrations: Any, keys: Sequence[str]) -> tuple[bool, str | None]:
    """``(enabled, deciding_key)`` for a destination known under ``keys``.

    1. any of ``keys`` set to ``false`` → filtered, decided by that key;
    2. else ``"All": false`` and none of ``keys`` set to ``true`` → filtered, decided by ``All``;
    3. else enabled (opt-out default). Values other than booleans neither disable nor enable.

    >>> integrations_decision({"All": False, "Mixpanel": True}, MIXPANEL_KEYS)
    (True, 'Mixpanel')
    >>> integrations_decision({"All": False, "Mixpanel": {}}, MIXPANEL_KEYS)
    (False, 'All')
    """
    if not isinstance(integrations, dict):
        return True, None
    for key in keys:
        if integrations.get(key) is False:
            return False, key
    if integrations.get("All") is False:
        for key in keys:
            if integrations.get(key) is True:
                return True, key
        return False, "All"
    return True, None
