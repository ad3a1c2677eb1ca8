"""The six Mixpanel presets (spec §6): Segment's names, FQL triggers, actions and mappings.

All six are "automatic": each is created, enabled, with every new destination. ``mapping`` returns a
fresh copy on every read, so callers may edit what they get.

>>> [p.name for p in PRESETS]
['Track Calls', 'Order Completed Calls', 'Page Calls', 'Screen Calls', 'Identify Calls', 'Group Calls']
>>> PRESETS[2].mapping["event"]
{'@template': 'Viewed {{name}}'}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from .actions import default_mapping

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """A preset mapping. ``trigger`` is FQL, copied exactly from Segment."""

    name: str
    trigger: str
    action_id: str
    mapping_json: str

    @property
    def mapping(self) -> dict[str, Any]:
        """The mapping-kit mapping (a fresh copy on every read)."""
        return json.loads(self.mapping_json)


def _preset(name: str, trigger: str, action_id: str, **overrides: Any) -> Preset:
    mapping = default_mapping(action_id)
    mapping.update(overrides)
    return Preset(name, trigger, action_id, json.dumps(mapping, ensure_ascii=False))


# A page or screen named "Team Settings" becomes "Viewed Team Settings"; one without a name
# becomes "Viewed " (trailing space, kept for parity; pre-flight shows an info note).
_VIEWED_NAME: Final = {"@template": "Viewed {{name}}"}

PRESETS: Final[tuple[Preset, ...]] = (
    _preset("Track Calls", 'type = "track" and event != "Order Completed"', "trackEvent"),
    _preset(
        "Order Completed Calls", 'type = "track" and event = "Order Completed"', "trackPurchase"
    ),
    _preset("Page Calls", 'type = "page"', "trackEvent", event=_VIEWED_NAME),
    _preset("Screen Calls", 'type = "screen"', "trackEvent", event=_VIEWED_NAME),
    _preset("Identify Calls", 'type = "identify"', "identifyUser"),
    # No group_key: the group key sent is "$group_id" (§10.3).
    _preset("Group Calls", 'type = "group"', "groupIdentifyUser"),
)


def get_preset(name: str) -> Preset:
    """The preset with this exact name; ``KeyError`` otherwise."""
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)
