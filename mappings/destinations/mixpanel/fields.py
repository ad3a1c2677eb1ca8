"""Action input fields as data: the field type, sub-objects, and the profile actions' fields.

Spec §9.1, §10.1, §11, §12 (the trackEvent/trackPurchase fields are in ``track_fields``).

Keys, labels, types and default mappings (mapping-kit JSON) are Segment's (3.497.0), so that
mappings are portable and validation messages read the same; labels are kept exactly, lower-case
ones included ("position", "url"): messages capitalize their first letter, as Segment's do.
Descriptions are ours: the mapping editor shows them under each field.

Field order matters: validation messages are reported in it.

>>> [f.key for f in IDENTIFY_USER_FIELDS]
['ip', 'user_id', 'anonymous_id', 'traits']
>>> IDENTIFY_USER_FIELDS[1].default
{'@path': '$.userId'}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "ALIAS_FIELDS",
    "GROUP_IDENTIFY_USER_FIELDS",
    "IDENTIFY_USER_FIELDS",
    "INCREMENT_PROPERTIES_FIELDS",
    "PRODUCT_ITEM_FIELDS",
    "USER_AGENT_DATA_FIELDS",
    "UTM_FIELDS",
    "FieldType",
    "InputField",
]

FieldType = Literal["string", "number", "integer", "boolean", "object", "datetime"]


@dataclass(frozen=True)
class InputField:
    """One action field.

    ``properties`` declares the keys of a sub-object (``utm_properties``, ``userAgentData``) or,
    with ``multiple``, of each list item (``products``). ``additional_properties`` keeps undeclared
    keys (product items only). ``hidden`` fields are mapped but not shown in the editor.
    The default mapping is held as JSON text so that every read returns a fresh copy.
    """

    key: str
    label: str
    type: FieldType
    description: str
    required: bool = False
    allow_null: bool = False
    multiple: bool = False
    properties: tuple[InputField, ...] = ()
    additional_properties: bool = False
    minimum: int | None = None
    maximum: int | None = None
    hidden: bool = False
    default_json: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default_json is not None

    @property
    def default(self) -> Any:
        """The default mapping (a fresh copy), or ``None`` when the field has none."""
        return None if self.default_json is None else json.loads(self.default_json)

    def property_named(self, key: str) -> InputField | None:
        for sub in self.properties:
            if sub.key == key:
                return sub
        return None


_NO_DEFAULT: Final = object()


def make_field(
    key: str,
    label: str,
    type: FieldType,
    description: str,
    default: Any = _NO_DEFAULT,
    **extra: Any,
) -> InputField:
    """An :class:`InputField`; ``default`` is the mapping-kit JSON (omit it for "no default")."""
    default_json = None if default is _NO_DEFAULT else json.dumps(default, ensure_ascii=False)
    return InputField(key, label, type, description, default_json=default_json, **extra)


def path(json_path: str) -> dict[str, str]:
    """``{"@path": json_path}``."""
    return {"@path": json_path}


def if_exists(first: str, fallback: str) -> dict[str, Any]:
    """The value at ``first`` when it exists (anything but missing or null), else ``fallback``."""
    return {"@if": {"exists": path(first), "then": path(first), "else": path(fallback)}}


UTM_FIELDS: Final = (
    make_field("utm_source", "UTM Source", "string", "Where the visit came from (utm_source)."),
    make_field("utm_medium", "UTM Medium", "string", "The marketing medium (utm_medium)."),
    make_field("utm_campaign", "UTM Campaign", "string", "The campaign name (utm_campaign)."),
    make_field("utm_term", "UTM Term", "string", "The paid-search keyword (utm_term)."),
    make_field("utm_content", "UTM Content", "string", "The ad or link variant (utm_content)."),
)

USER_AGENT_DATA_FIELDS: Final = (
    make_field("mobile", "Mobile", "boolean", "Whether the browser reports a mobile device."),
    make_field("platform", "Platform", "string", "The operating system, e.g. macOS or Android."),
    make_field(
        "architecture", "Architecture", "string", "CPU architecture (not sent to Mixpanel)."
    ),
    make_field("bitness", "Bitness", "string", "CPU bitness, e.g. 64."),
    make_field("model", "Model", "string", "Device model (not sent to Mixpanel)."),
    make_field("platformVersion", "PlatformVersion", "string", "Operating system version."),
    make_field("uaFullVersion", "UaFullVersion", "string", "Full browser version."),
    make_field("wow64", "wow64", "boolean", "Whether a 32-bit browser runs on 64-bit Windows."),
)

PRODUCT_ITEM_FIELDS: Final = (
    make_field("product_id", "Product Id", "string", "The product's database id."),
    make_field("sku", "SKU", "string", "The product's stock-keeping unit."),
    make_field("category", "Category", "string", "The product's category."),
    make_field("name", "Name", "string", "The product's name."),
    make_field("brand", "Brand", "string", "The product's brand."),
    make_field("variant", "Variant", "string", "The product variant, e.g. size or colour."),
    make_field("price", "Price", "number", "Unit price."),
    make_field("quantity", "Quantity", "integer", "How many were bought (a whole number)."),
    make_field("coupon", "Coupon", "string", "Coupon code applied to this product."),
    make_field("position", "position", "number", "Position of the product in a list."),
    make_field("url", "url", "string", "URL of the product page."),
    make_field("image_url", "Image url", "string", "URL of the product image."),
)

CONTEXT: Final = "$.context."

_NULLABLE_IDS: Final = (
    make_field(
        "user_id",
        "User ID",
        "string",
        "The user's id; the profile's $distinct_id.",
        path("$.userId"),
        allow_null=True,
    ),
    make_field(
        "anonymous_id",
        "Anonymous ID",
        "string",
        "The device's anonymous id; used when there is no user id.",
        path("$.anonymousId"),
        allow_null=True,
    ),
)

_IP_FIELD: Final = make_field(
    "ip",
    "IP Address",
    "string",
    "Sent as $ip for the profile's location. Without it Mixpanel uses segmix's server address.",
    path(CONTEXT + "ip"),
)

IDENTIFY_USER_FIELDS: Final[tuple[InputField, ...]] = (
    _IP_FIELD,
    *_NULLABLE_IDS,
    make_field(
        "traits",
        "User Properties",
        "object",
        "Profile properties ($set). email, firstName, lastName, name, username, phone and "
        "created/createdAt/created_at become Mixpanel's $-properties.",
        path("$.traits"),
    ),
)

GROUP_IDENTIFY_USER_FIELDS: Final[tuple[InputField, ...]] = (
    make_field(
        "group_key",
        "Group Key",
        "string",
        "The group key defined in Mixpanel (Project Settings → Group Keys), e.g. workspace_id. "
        "When empty, $group_id is used, so the Mixpanel group key must then be named $group_id.",
    ),
    make_field(
        "group_id", "Group ID", "string", "The group's id.", path("$.groupId"), required=True
    ),
    make_field(
        "traits",
        "Group Properties",
        "object",
        "Group profile properties ($set); name and created* become $name and $created.",
        path("$.traits"),
    ),
)

ALIAS_FIELDS: Final[tuple[InputField, ...]] = (
    make_field(
        "alias",
        "Alias",
        "string",
        "The new id for the user.",
        if_exists("$.userId", "$.anonymousId"),
        allow_null=True,
    ),
    make_field(
        "distinct_id", "Distinct ID", "string", "The user's existing id.", path("$.previousId")
    ),
)

INCREMENT_PROPERTIES_FIELDS: Final[tuple[InputField, ...]] = (
    _IP_FIELD,
    *_NULLABLE_IDS,
    make_field(
        "increment",
        "Increment Numerical Properties",
        "object",
        'Profile properties to add to (up to 20), e.g. {"logins": 1}. Not idempotent: a retry '
        "after a timeout may count twice.",
        path("$.properties.increment"),
        required=True,
    ),
)
