"""The six Mixpanel actions, declared as data (spec §2): ids, titles, subscriptions, fields.

>>> [a.id for a in ACTIONS]
['trackEvent', 'identifyUser', 'groupIdentifyUser', 'alias', 'trackPurchase', 'incrementProperties']
>>> get_action("alias").default_subscription is None
True
>>> default_mapping("groupIdentifyUser")
{'group_id': {'@path': '$.groupId'}, 'traits': {'@path': '$.traits'}}
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

from .fields import (
    ALIAS_FIELDS,
    GROUP_IDENTIFY_USER_FIELDS,
    IDENTIFY_USER_FIELDS,
    INCREMENT_PROPERTIES_FIELDS,
    InputField,
)
from .track_fields import TRACK_EVENT_FIELDS, TRACK_PURCHASE_FIELDS

__all__ = [
    "ACTIONS",
    "ACTION_IDS",
    "BATCH_ACTION_IDS",
    "DESTINATION_NAME",
    "DESTINATION_SLUG",
    "ActionDefinition",
    "default_mapping",
    "get_action",
]

DESTINATION_NAME: Final = "Mixpanel (Actions)"
DESTINATION_SLUG: Final = "actions-mixpanel"


@dataclass(frozen=True)
class ActionDefinition:
    """One action. ``default_subscription`` pre-fills the trigger of a new mapping (§2); alias has
    none, so the editor shows ``suggested_subscription`` as a hint instead.
    ``supports_batch``: the action can be evaluated with batch semantics (§5.2).
    """

    id: str
    title: str
    description: str
    default_subscription: str | None
    fields: tuple[InputField, ...]
    endpoint_note: str
    supports_batch: bool = False
    suggested_subscription: str | None = None

    @cached_property
    def fields_by_key(self) -> dict[str, InputField]:
        return {field.key: field for field in self.fields}

    def field(self, key: str) -> InputField | None:
        """The field with this key, or ``None`` (an undeclared key)."""
        return self.fields_by_key.get(key)

    def default_mapping(self) -> dict[str, Any]:
        """Field key → default mapping-kit value, for fields that have one (fresh copies)."""
        return {field.key: field.default for field in self.fields if field.has_default}


ACTIONS: Final[tuple[ActionDefinition, ...]] = (
    ActionDefinition(
        id="trackEvent",
        title="Track Event",
        description="Send an event to Mixpanel (/import), with device, page and campaign data.",
        default_subscription='type = "track"',
        fields=TRACK_EVENT_FIELDS,
        endpoint_note="/import (gzip JSON batches)",
        supports_batch=True,
    ),
    ActionDefinition(
        id="identifyUser",
        title="Identify User",
        description=(
            "Set the user's profile properties (/engage) and link their anonymous id: a $identify "
            "event through /import (Simplified ID Merge) or /track (Original ID Merge)."
        ),
        default_subscription='type = "identify"',
        fields=IDENTIFY_USER_FIELDS,
        endpoint_note="/engage, plus /import or /track for $identify",
    ),
    ActionDefinition(
        id="groupIdentifyUser",
        title="Group Identify User",
        description="Set a group's profile properties (/groups). Requires Mixpanel Group Analytics.",
        default_subscription='type = "group"',
        fields=GROUP_IDENTIFY_USER_FIELDS,
        endpoint_note="/groups",
    ),
    ActionDefinition(
        id="alias",
        title="Alias",
        description=(
            "Link a new id to an existing user with $create_alias (/track). Only for projects on "
            "Original ID Merge; skipped under Simplified ID Merge."
        ),
        default_subscription=None,
        fields=ALIAS_FIELDS,
        endpoint_note="/track",
        suggested_subscription='type = "alias"',
    ),
    ActionDefinition(
        id="trackPurchase",
        title="Track Purchase",
        description=(
            "Send an order event to Mixpanel (/import) and, optionally, one Product Purchased "
            "event per product."
        ),
        default_subscription='type = "track"',
        fields=TRACK_PURCHASE_FIELDS,
        endpoint_note="/import (gzip JSON batches)",
        supports_batch=True,
    ),
    ActionDefinition(
        id="incrementProperties",
        title="Increment Properties",
        description=(
            "Add to numeric profile properties ($add on /engage). Not idempotent: a retry after a "
            "timeout or server error may count twice, as in Segment."
        ),
        default_subscription='type = "track"',
        fields=INCREMENT_PROPERTIES_FIELDS,
        endpoint_note="/engage",
    ),
)

ACTION_IDS: Final = tuple(action.id for action in ACTIONS)
BATCH_ACTION_IDS: Final = frozenset(action.id for action in ACTIONS if action.supports_batch)
_BY_ID: Final = {action.id: action for action in ACTIONS}


def get_action(action_id: str) -> ActionDefinition:
    """The action with this id; ``KeyError`` naming the known ids otherwise."""
    try:
        return _BY_ID[action_id]
    except KeyError:
        raise KeyError(
            f"unknown Mixpanel action {action_id!r}; expected one of {ACTION_IDS}"
        ) from None


def default_mapping(action_id: str) -> dict[str, Any]:
    """The action's default mapping (§7.1, §8.1, §9.1, §10.1, §11, §12), as a fresh dict."""
    return get_action(action_id).default_mapping()
