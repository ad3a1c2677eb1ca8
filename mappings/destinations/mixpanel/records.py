"""Event records for ``/import``: ``trackEvent`` (§7.2) and ``trackPurchase`` (§8.2).

Input is the validated payload of §5 (see ``coerce``); output is the records exactly as they go on
the wire, plus notes for the preview. Property order follows §7.2 (it only matters for reading:
Mixpanel and the parity tests compare parsed JSON).

>>> from .types import MixpanelSettings
>>> records, _ = track_event_records({"event": "Signed Up", "distinct_id": "u1"},
...     MixpanelSettings(project_token="t"), time_ms=1700000000000, insert_id="m-1")
>>> records[0].body
{'event': 'Signed Up', 'properties': {'time': 1700000000000, 'id': 'u1', 'distinct_id': 'u1', \
'$insert_id': 'm-1', '$source': 'segment'}}
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from mappings.engine.jsjson import js_json_stringify
from mappings.engine.jsvalues import js_truthy

from .browser import browser, browser_name, browser_version
from .identity import product_insert_id
from .types import MixpanelSettings, Note, Record

__all__ = [
    "COMPUTED_OVERRIDE_NOTE",
    "ORDER_ONLY_KEYS",
    "RESERVED_EVENT_PROPERTY_KEYS",
    "track_event_records",
    "track_properties",
    "track_purchase_records",
]

# Removed from event_properties before they are spread over the computed properties (§7.2).
RESERVED_EVENT_PROPERTY_KEYS: Final = (
    "time",
    "id",
    "$anon_id",
    "distinct_id",
    "$group_id",
    "$insert_id",
    "$user_id",
)
_RESERVED: Final = frozenset(RESERVED_EVENT_PROPERTY_KEYS)
# Order-level keys that product records do not inherit (§8.2).
ORDER_ONLY_KEYS: Final = frozenset(
    {
        "affiliation",
        "subtotal",
        "total",
        "revenue",
        "shipping",
        "tax",
        "discount",
        "coupon",
        "currency",
        "order_number",
        "products",
    }
)
COMPUTED_OVERRIDE_NOTE: Final = "computed-key-overridden"

# (Mixpanel property, payload field), in §7.2's order, for plain copies.
_APP_AND_DEVICE: Final = (
    ("$app_build_number", "app_build"),
    ("$app_version_string", "app_version"),
    ("$app_namespace", "app_namespace"),
    ("$app_name", "app_name"),
)
_NETWORK: Final = (
    ("$bluetooth_enabled", "bluetooth"),
    ("$cellular_enabled", "cellular"),
    ("$carrier", "carrier"),
    ("$current_url", "url"),
    ("$device", "device_name"),
    ("$device_id", "anonymous_id"),
    ("$device_type", "device_type"),
    ("$device_name", "device_name"),
    ("$group_id", "group_id"),
    ("$identified_id", "user_id"),
)
_AFTER_INSERT_ID: Final = (
    ("$ios_ifa", "idfa"),
    ("$lib_version", "library_version"),
    ("$locale", "language"),
    ("$manufacturer", "device_manufacturer"),
    ("$model", "device_model"),
    ("$os", "os_name"),
    ("$os_version", "os_version"),
    ("$referrer", "referrer"),
    ("$screen_height", "screen_height"),
    ("$screen_width", "screen_width"),
    ("$screen_density", "screen_density"),
)
_UTM_KEYS: Final = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")
_TRAILING: Final = (
    ("advertising_id", "advertising_id"),
    ("ad_tracking_enabled", "ad_tracking_enabled"),
    ("timezone", "timezone"),
    ("app_platform", "app_platform"),
    ("event_original_name", "name"),
)
# userAgentData key → property; architecture and model are not sent.
_USER_AGENT_DATA: Final = (
    ("$mobile", "mobile"),
    ("$platform", "platform"),
    ("$bitness", "bitness"),
    ("$platformVersion", "platformVersion"),
    ("$uaFullVersion", "uaFullVersion"),
    ("$wow64", "wow64"),
)


def _mp_lib_note(library_name: Any, record_index: int) -> Note:
    if type(library_name) is str:
        return _cached_mp_lib_note(library_name, record_index)
    return _cached_mp_lib_note.__wrapped__(library_name, record_index)


@lru_cache(maxsize=256)
def _cached_mp_lib_note(library_name: Any, record_index: int) -> Note:
    # Notes are immutable and a few libraries send nearly every event: share them.
    return Note(
        "mp-lib",
        f'mp_lib = "Segment: {library_name}" (Segment sends "Segment Actions: '
        f'{library_name}"; Mixpanel\'s page documents "Segment: …")',
        record_index,
        "mp_lib",
    )


def _short(value: Any) -> str:
    text = js_json_stringify(value)
    text = text if isinstance(text, str) else "undefined"
    return text if len(text) <= 60 else text[:57] + "…"


def track_properties(
    payload: dict[str, Any],
    settings: MixpanelSettings,
    *,
    time_ms: int,
    insert_id: str,
    notes: list[Note] | None = None,
    record_index: int = 0,
) -> dict[str, Any]:
    """The properties of a trackEvent (or order) record, §7.2. Absent fields are omitted.

    ``event_properties`` are spread last without their reserved keys; notes record the dropped
    ``properties.id``, ignored reserved keys, overridden computed keys and the ``mp_lib`` value.
    """
    # Straight-line on purpose: this runs for every event, and helper calls cost more than the
    # copies themselves.
    notes = notes if notes is not None else []
    props: dict[str, Any] = {"time": time_ms}
    if "ip" in payload:
        props["ip"] = payload["ip"]
    if "distinct_id" in payload:
        props["id"] = payload["distinct_id"]
    if "anonymous_id" in payload:
        props["$anon_id"] = payload["anonymous_id"]
    props["distinct_id"] = payload.get("distinct_id", "")
    for prop, key in _APP_AND_DEVICE:
        if key in payload:
            props[prop] = payload[key]
    user_agent = payload.get("userAgent")
    if type(user_agent) is str:
        # Validated, so a string when present: the cached lookup spares the regexes.
        if user_agent:
            name, version = browser(user_agent)
            props["$browser"] = name
            if version is not None:
                props["$browser_version"] = version
    elif js_truthy(user_agent):
        props["$browser"] = browser_name(user_agent)
        version = browser_version(user_agent)
        if version is not None:
            props["$browser_version"] = version
    for prop, key in _NETWORK:
        if key in payload:
            props[prop] = payload[key]
    props["$insert_id"] = insert_id
    for prop, key in _AFTER_INSERT_ID:
        if key in payload:
            props[prop] = payload[key]
    context = payload.get("context")
    integration = context.get("integration") if isinstance(context, dict) else None
    if isinstance(integration, dict) and integration.get("name") == "Iterable":
        props["$source"] = "Iterable"
    else:
        props["$source"] = "segment"
    if "user_id" in payload:
        props["$user_id"] = payload["user_id"]
    if "wifi" in payload:
        props["$wifi_enabled"] = payload["wifi"]
    if "country" in payload:
        props["mp_country_code"] = payload["country"]
    if "library_name" in payload:
        library_name = payload["library_name"]
        if not js_truthy(library_name):
            # JavaScript's ``library_name && …`` yields the falsy value itself: a kept ""
            # (batch semantics) is sent as mp_lib "", as Segment does.
            props["mp_lib"] = library_name
        else:
            # D1: the seed's "Segment: <library>", not Segment's "Segment Actions: <library>".
            props["mp_lib"] = f"Segment: {library_name}"
            notes.append(_mp_lib_note(library_name, record_index))
    if settings.source_name:
        props["segment_source_name"] = settings.source_name
    utm = payload.get("utm_properties")
    if isinstance(utm, dict):
        for key in _UTM_KEYS:
            if key in utm:
                props[key] = utm[key]
    for prop, key in _TRAILING:
        if key in payload:
            props[prop] = payload[key]
    agent_data = payload.get("userAgentData")
    if isinstance(agent_data, dict):
        for prop, key in _USER_AGENT_DATA:
            if key in agent_data:
                props[prop] = agent_data[key]
    event_properties = payload.get("event_properties")
    if isinstance(event_properties, dict):
        _spread_event_properties(props, event_properties, notes, record_index)
    return props


def _spread_event_properties(
    props: dict[str, Any], event_properties: dict[str, Any], notes: list[Note], record_index: int
) -> None:
    if _RESERVED.isdisjoint(event_properties) and props.keys().isdisjoint(event_properties):
        # The usual case, nothing to note: a plain (C-speed) update is the same spread.
        props.update(event_properties)
        return
    for key in RESERVED_EVENT_PROPERTY_KEYS:
        if key not in event_properties:
            continue
        if key == "id":
            notes.append(
                Note(
                    "properties-id-dropped",
                    f"properties.id ({_short(event_properties['id'])}) dropped: Mixpanel's id is "
                    "always the distinct_id. Rename the property to keep it.",
                    record_index,
                    "id",
                )
            )
        else:
            notes.append(
                Note(
                    "reserved-key-ignored",
                    f"properties.{key} ignored: {key} is computed by the destination.",
                    record_index,
                    key,
                )
            )
    for key, value in event_properties.items():
        if key in _RESERVED:
            continue
        if key in props:
            notes.append(
                Note(
                    COMPUTED_OVERRIDE_NOTE,
                    f"properties.{key} overrides the computed {key} "
                    f"({_short(props[key])} → {_short(value)}).",
                    record_index,
                    key,
                )
            )
        # Assigning keeps an existing key in place, as JavaScript's object spread does.
        props[key] = value


def track_event_records(
    payload: dict[str, Any], settings: MixpanelSettings, *, time_ms: int, insert_id: str
) -> tuple[list[Record], list[Note]]:
    """trackEvent: one ``/import`` record (§7.2)."""
    notes: list[Note] = []
    props = track_properties(payload, settings, time_ms=time_ms, insert_id=insert_id, notes=notes)
    body = {"event": payload.get("event"), "properties": props}
    return [Record("import", body, "event", insert_id=insert_id)], notes


def track_purchase_records(
    payload: dict[str, Any],
    settings: MixpanelSettings,
    *,
    time_ms: int,
    insert_id: str,
    stored_event_id: str,
) -> tuple[list[Record], list[Note]]:
    """trackPurchase: the order record, then one "Product Purchased" record per product (§8.2).

    The order keeps the raw ``properties.products``. Product *i* gets the order's properties minus
    ``ORDER_ONLY_KEYS``, ``$insert_id`` = §13's product id, ``time`` = order time − (i+1), then
    the mapped product's fields spread last (except ``$insert_id`` and ``time``, D2).
    """
    notes: list[Note] = []
    order_props = track_properties(
        payload, settings, time_ms=time_ms, insert_id=insert_id, notes=notes
    )
    records = [
        Record(
            "import",
            {"event": payload.get("event"), "properties": order_props},
            "order",
            insert_id=insert_id,
        )
    ]
    products = payload.get("products")
    if not (js_truthy(products) and js_truthy(payload.get("generatePurchaseEventPerProduct"))):
        return records, notes
    inherited = {k: v for k, v in order_props.items() if k not in ORDER_ONLY_KEYS}
    for index, product in enumerate(products):
        product_id = product_insert_id(
            index, payload.get("insert_id"), stored_event_id=stored_event_id
        )
        props = dict(inherited)
        props["$insert_id"] = product_id
        props["time"] = time_ms - (index + 1)
        if isinstance(product, dict):
            for key, value in product.items():
                # D2: a product cannot replace the dedup key or time (Segment lets it).
                if key in ("$insert_id", "time"):
                    notes.append(
                        Note(
                            "reserved-key-ignored",
                            f"products[{index}].{key} ignored: {key} is computed by the destination.",
                            len(records),
                            key,
                        )
                    )
                    continue
                props[key] = value
        body = {"event": "Product Purchased", "properties": props}
        records.append(Record("import", body, f"product[{index}]", insert_id=product_id))
    return records, notes
