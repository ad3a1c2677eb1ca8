"""The fields of ``trackEvent`` and ``trackPurchase`` (spec §7.1, §8.1), declared as data.

Order, keys, labels, types and defaults follow §7.1's default mapping exactly (order matters for
validation messages). ``trackPurchase`` lists ``generatePurchaseEventPerProduct`` first, then every
trackEvent field except ``event``, then ``products``, and ``event`` last.

>>> [f.key for f in TRACK_EVENT_FIELDS[:4]], TRACK_EVENT_FIELDS[-1].key
(['event', 'distinct_id', 'anonymous_id', 'user_id'], 'userAgentData')
>>> [f.key for f in TRACK_PURCHASE_FIELDS[-2:]]
['products', 'event']
"""

from __future__ import annotations

from typing import Any, Final

from .fields import (
    CONTEXT,
    PRODUCT_ITEM_FIELDS,
    USER_AGENT_DATA_FIELDS,
    UTM_FIELDS,
    FieldType,
    InputField,
    if_exists,
    make_field,
    path,
)

__all__ = ["TRACK_EVENT_FIELDS", "TRACK_PURCHASE_FIELDS"]

# What the mapping editor shows under each field: where the value goes in Mixpanel.
_DESCRIPTIONS: Final = {
    "event": 'The event name in Mixpanel. Edit it to consolidate names, e.g. "Page Viewed".',
    "distinct_id": "Who did it: the user id, else the anonymous id. Also sent as id.",
    "anonymous_id": "The device's anonymous id; sent as $anon_id and $device_id.",
    "user_id": "The identified user; sent as $user_id and $identified_id.",
    "group_id": "The group the event belongs to; sent as $group_id.",
    "insert_id": (
        "Mixpanel's deduplication key. An invalid id (over 36 characters, or characters other "
        "than letters, digits and '-') is replaced by a stable id derived from it."
    ),
    "time": (
        "When it happened. Date strings become epoch ms; numbers are sent unchanged. When "
        "missing, the time segmix received the event is used."
    ),
    "app_name": "Your app's name ($app_name).",
    "app_namespace": "Your app's namespace or bundle id ($app_namespace).",
    "app_build": "Your app's build ($app_build_number).",
    "app_version": "Your app's version ($app_version_string).",
    "os_name": "Operating system ($os). The only source of $os: it is not read from the UA.",
    "os_version": "Operating system version ($os_version).",
    "device_id": "Accepted but not sent: $device_id comes from Anonymous ID, as in Segment.",
    "device_type": "Device type ($device_type).",
    "device_name": "Device name; sent as $device and $device_name.",
    "device_manufacturer": "Device manufacturer ($manufacturer).",
    "device_model": "Device model ($model).",
    "bluetooth": "Whether Bluetooth is on ($bluetooth_enabled).",
    "carrier": "Mobile carrier ($carrier).",
    "cellular": "Whether cellular data is on ($cellular_enabled).",
    "wifi": "Whether the device is on Wi-Fi ($wifi_enabled).",
    "country": "Sent as mp_country_code, as is. Mixpanel expects a 2-letter code.",
    "region": "Accepted but not sent, as in Segment.",
    "language": "The user's locale ($locale).",
    "library_name": 'The Segment library; sent as mp_lib "Segment: <name>".',
    "library_version": "The library's version ($lib_version).",
    "ip": "Used by Mixpanel for geolocation only. Without it, Mixpanel locates segmix's server.",
    "idfa": "iOS advertising identifier ($ios_ifa).",
    "url": "The page URL ($current_url).",
    "screen_width": "Screen width in pixels ($screen_width).",
    "screen_height": "Screen height in pixels ($screen_height).",
    "screen_density": "Screen pixel density ($screen_density).",
    "referrer": "The referring URL ($referrer).",
    "userAgent": "The browser's user agent; $browser and $browser_version are derived from it.",
    "advertising_id": "Device advertising id (advertising_id).",
    "ad_tracking_enabled": "Whether ad tracking is allowed (ad_tracking_enabled).",
    "timezone": "The user's time zone, e.g. Europe/Berlin (timezone).",
    "app_platform": "The app's platform (app_platform).",
    "name": "Sent as event_original_name: the event's name, else the page or screen name.",
    "event_properties": (
        "Sent with the event as they are, last, so they win over computed properties; time, id, "
        "distinct_id, $anon_id, $group_id, $insert_id and $user_id are ignored."
    ),
    "context": "The Segment context (hidden); read for the Iterable $source rule.",
    "utm_properties": "Campaign parameters, sent as utm_source, utm_medium, … .",
    "enable_batching": "Send events in batches (gzip, up to Batch Size records per request).",
    "batch_size": "Maximum records per /import request (1 to 2000).",
    "userAgentData": (
        "Browser client hints: mobile, platform, bitness, platformVersion, uaFullVersion and "
        "wow64 are sent as $-properties; architecture and model are not sent."
    ),
    "generatePurchaseEventPerProduct": 'Also send one "Product Purchased" event per product.',
    "products": "The order's products; each becomes a Product Purchased event. Extra keys are kept.",
}


def _f(key: str, label: str, type: FieldType, default: Any, **extra: Any) -> InputField:
    """A field whose default is a ``$.context.<suffix>`` path when ``default`` is a string."""
    mapping = path(CONTEXT + default) if isinstance(default, str) else default
    return make_field(key, label, type, _DESCRIPTIONS[key], mapping, **extra)


_UTM_DEFAULT: Final = {
    "utm_source": path(CONTEXT + "campaign.source"),
    "utm_medium": path(CONTEXT + "campaign.medium"),
    "utm_campaign": path(CONTEXT + "campaign.name"),
    "utm_term": path(CONTEXT + "campaign.term"),
    "utm_content": path(CONTEXT + "campaign.content"),
}
_USER_AGENT_DATA_DEFAULT: Final = {
    field.key: path(CONTEXT + "userAgentData." + field.key) for field in USER_AGENT_DATA_FIELDS
}

# fmt: off
TRACK_EVENT_FIELDS: Final[tuple[InputField, ...]] = (
    _f("event", "Event Name", "string", path("$.event"), required=True),
    _f("distinct_id", "Distinct ID", "string", if_exists("$.userId", "$.anonymousId")),
    _f("anonymous_id", "Anonymous ID", "string", path("$.anonymousId")),
    _f("user_id", "User ID", "string", path("$.userId")),
    _f("group_id", "Group ID", "string", "groupId"),
    _f("insert_id", "Insert ID", "string", path("$.messageId")),
    _f("time", "Timestamp", "datetime", path("$.timestamp")),
    _f("app_name", "App Name", "string", "app.name"),
    _f("app_namespace", "App Namespace", "string", "app.namespace"),
    _f("app_build", "App Build", "string", "app.build"),
    _f("app_version", "App Version", "string", "app.version"),
    _f("os_name", "OS Name", "string", "os.name"),
    _f("os_version", "OS Version", "string", "os.version"),
    _f("device_id", "Device ID", "string", "device.id"),
    _f("device_type", "Device Type", "string", "device.type"),
    _f("device_name", "Device Name", "string", "device.name"),
    _f("device_manufacturer", "Device Manufacturer", "string", "device.manufacturer"),
    _f("device_model", "Device Model", "string", "device.model"),
    _f("bluetooth", "Bluetooth Enabled", "boolean", "network.bluetooth"),
    _f("carrier", "Carrier", "string", "network.carrier"),
    _f("cellular", "Cellular Enabled", "boolean", "network.cellular"),
    _f("wifi", "Wifi", "boolean", "network.wifi"),
    _f("country", "Country", "string", "location.country"),
    _f("region", "Region", "string", "location.region"),
    _f("language", "Language", "string", "locale"),
    _f("library_name", "Library Name", "string", "library.name"),
    _f("library_version", "Library Version", "string", "library.version"),
    _f("ip", "IP Address", "string", "ip"),
    _f("idfa", "Identifier For Advertiser (IDFA)", "string",
       if_exists(CONTEXT + "device.advertisingId", CONTEXT + "device.idfa")),
    _f("url", "URL", "string", "page.url"),
    _f("screen_width", "Screen width", "number", "screen.width"),
    _f("screen_height", "Screen height", "number", "screen.height"),
    _f("screen_density", "Screen density", "number", "screen.density"),
    _f("referrer", "Referrer", "string", "page.referrer"),
    _f("userAgent", "User Agent", "string", "userAgent"),
    _f("advertising_id", "Advertising ID", "string", "device.advertisingId"),
    _f("ad_tracking_enabled", "Ad Tracking Enabled", "string", "device.adTrackingEnabled"),
    _f("timezone", "Timezone", "string", "timezone"),
    _f("app_platform", "App Platform", "string", "app.platform"),
    _f("name", "Event Original Name", "string", if_exists("$.event", "$.name")),
    _f("event_properties", "Event Properties", "object", path("$.properties")),
    _f("context", "Event context", "object", path("$.context"), hidden=True),
    _f("utm_properties", "UTM Properties", "object", _UTM_DEFAULT, properties=UTM_FIELDS),
    _f("enable_batching", "Batch Data to Mixpanel", "boolean", True),
    _f("batch_size", "Batch Size", "number", 1000, minimum=1, maximum=2000),
    _f("userAgentData", "User Agent Data", "object", _USER_AGENT_DATA_DEFAULT,
       properties=USER_AGENT_DATA_FIELDS),
)

_PRODUCTS_DEFAULT: Final = {
    "@arrayPath": [
        "$.properties.products",
        {field.key: path(field.key) for field in PRODUCT_ITEM_FIELDS},
    ]
}

TRACK_PURCHASE_FIELDS: Final[tuple[InputField, ...]] = (
    _f("generatePurchaseEventPerProduct", "Generate Purchase Event Per Product", "boolean", True),
    *TRACK_EVENT_FIELDS[1:],
    _f("products", "Products", "object", _PRODUCTS_DEFAULT, multiple=True,
       properties=PRODUCT_ITEM_FIELDS, additional_properties=True),
    TRACK_EVENT_FIELDS[0],
)
# fmt: on
