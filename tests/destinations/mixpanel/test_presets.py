"""The six presets (spec §6) and the six actions declared as data (§2, §7.1–§12)."""

from __future__ import annotations

import pytest

from mappings.destinations.mixpanel.actions import (
    ACTIONS,
    BATCH_ACTION_IDS,
    DESTINATION_NAME,
    DESTINATION_SLUG,
    default_mapping,
    get_action,
)
from mappings.destinations.mixpanel.presets import PRESETS, get_preset

# §7.1, verbatim
TRACK_EVENT_DEFAULTS = {
    "event": {"@path": "$.event"},
    "distinct_id": {
        "@if": {
            "exists": {"@path": "$.userId"},
            "then": {"@path": "$.userId"},
            "else": {"@path": "$.anonymousId"},
        }
    },
    "anonymous_id": {"@path": "$.anonymousId"},
    "user_id": {"@path": "$.userId"},
    "group_id": {"@path": "$.context.groupId"},
    "insert_id": {"@path": "$.messageId"},
    "time": {"@path": "$.timestamp"},
    "app_name": {"@path": "$.context.app.name"},
    "app_namespace": {"@path": "$.context.app.namespace"},
    "app_build": {"@path": "$.context.app.build"},
    "app_version": {"@path": "$.context.app.version"},
    "os_name": {"@path": "$.context.os.name"},
    "os_version": {"@path": "$.context.os.version"},
    "device_id": {"@path": "$.context.device.id"},
    "device_type": {"@path": "$.context.device.type"},
    "device_name": {"@path": "$.context.device.name"},
    "device_manufacturer": {"@path": "$.context.device.manufacturer"},
    "device_model": {"@path": "$.context.device.model"},
    "bluetooth": {"@path": "$.context.network.bluetooth"},
    "carrier": {"@path": "$.context.network.carrier"},
    "cellular": {"@path": "$.context.network.cellular"},
    "wifi": {"@path": "$.context.network.wifi"},
    "country": {"@path": "$.context.location.country"},
    "region": {"@path": "$.context.location.region"},
    "language": {"@path": "$.context.locale"},
    "library_name": {"@path": "$.context.library.name"},
    "library_version": {"@path": "$.context.library.version"},
    "ip": {"@path": "$.context.ip"},
    "idfa": {
        "@if": {
            "exists": {"@path": "$.context.device.advertisingId"},
            "then": {"@path": "$.context.device.advertisingId"},
            "else": {"@path": "$.context.device.idfa"},
        }
    },
    "url": {"@path": "$.context.page.url"},
    "screen_width": {"@path": "$.context.screen.width"},
    "screen_height": {"@path": "$.context.screen.height"},
    "screen_density": {"@path": "$.context.screen.density"},
    "referrer": {"@path": "$.context.page.referrer"},
    "userAgent": {"@path": "$.context.userAgent"},
    "advertising_id": {"@path": "$.context.device.advertisingId"},
    "ad_tracking_enabled": {"@path": "$.context.device.adTrackingEnabled"},
    "timezone": {"@path": "$.context.timezone"},
    "app_platform": {"@path": "$.context.app.platform"},
    "name": {
        "@if": {
            "exists": {"@path": "$.event"},
            "then": {"@path": "$.event"},
            "else": {"@path": "$.name"},
        }
    },
    "event_properties": {"@path": "$.properties"},
    "context": {"@path": "$.context"},
    "utm_properties": {
        "utm_source": {"@path": "$.context.campaign.source"},
        "utm_medium": {"@path": "$.context.campaign.medium"},
        "utm_campaign": {"@path": "$.context.campaign.name"},
        "utm_term": {"@path": "$.context.campaign.term"},
        "utm_content": {"@path": "$.context.campaign.content"},
    },
    "enable_batching": True,
    "batch_size": 1000,
    "userAgentData": {
        "mobile": {"@path": "$.context.userAgentData.mobile"},
        "platform": {"@path": "$.context.userAgentData.platform"},
        "architecture": {"@path": "$.context.userAgentData.architecture"},
        "bitness": {"@path": "$.context.userAgentData.bitness"},
        "model": {"@path": "$.context.userAgentData.model"},
        "platformVersion": {"@path": "$.context.userAgentData.platformVersion"},
        "uaFullVersion": {"@path": "$.context.userAgentData.uaFullVersion"},
        "wow64": {"@path": "$.context.userAgentData.wow64"},
    },
}
# §8.1
PRODUCTS_DEFAULT = {
    "@arrayPath": [
        "$.properties.products",
        {
            "product_id": {"@path": "product_id"},
            "sku": {"@path": "sku"},
            "category": {"@path": "category"},
            "name": {"@path": "name"},
            "brand": {"@path": "brand"},
            "variant": {"@path": "variant"},
            "price": {"@path": "price"},
            "quantity": {"@path": "quantity"},
            "coupon": {"@path": "coupon"},
            "position": {"@path": "position"},
            "url": {"@path": "url"},
            "image_url": {"@path": "image_url"},
        },
    ]
}
VIEWED = {"@template": "Viewed {{name}}"}


# --- presets ---------------------------------------------------------------------------------


def test_six_presets_with_segments_names_triggers_and_actions():
    assert [(p.name, p.trigger, p.action_id) for p in PRESETS] == [
        ("Track Calls", 'type = "track" and event != "Order Completed"', "trackEvent"),
        ("Order Completed Calls", 'type = "track" and event = "Order Completed"', "trackPurchase"),
        ("Page Calls", 'type = "page"', "trackEvent"),
        ("Screen Calls", 'type = "screen"', "trackEvent"),
        ("Identify Calls", 'type = "identify"', "identifyUser"),
        ("Group Calls", 'type = "group"', "groupIdentifyUser"),
    ]


def test_track_calls_use_the_trackevent_defaults_verbatim():
    assert get_preset("Track Calls").mapping == TRACK_EVENT_DEFAULTS
    assert list(get_preset("Track Calls").mapping) == list(TRACK_EVENT_DEFAULTS)


def test_order_completed_calls_use_the_trackpurchase_defaults():
    mapping = get_preset("Order Completed Calls").mapping
    expected = {
        "generatePurchaseEventPerProduct": True,
        **{k: v for k, v in TRACK_EVENT_DEFAULTS.items() if k != "event"},
        "products": PRODUCTS_DEFAULT,
        "event": {"@path": "$.event"},
    }
    assert mapping == expected
    assert list(mapping) == list(expected)


@pytest.mark.parametrize("name", ["Page Calls", "Screen Calls"])
def test_page_and_screen_calls_template_the_event_name(name):
    assert get_preset(name).mapping == {**TRACK_EVENT_DEFAULTS, "event": VIEWED}


def test_identify_calls():
    assert get_preset("Identify Calls").mapping == {
        "ip": {"@path": "$.context.ip"},
        "user_id": {"@path": "$.userId"},
        "anonymous_id": {"@path": "$.anonymousId"},
        "traits": {"@path": "$.traits"},
    }


def test_group_calls_have_no_group_key():
    assert get_preset("Group Calls").mapping == {
        "group_id": {"@path": "$.groupId"},
        "traits": {"@path": "$.traits"},
    }


def test_alias_and_increment_have_no_preset():
    assert {p.action_id for p in PRESETS} == {
        "trackEvent",
        "trackPurchase",
        "identifyUser",
        "groupIdentifyUser",
    }


def test_callers_cannot_change_a_preset():
    mapping = get_preset("Page Calls").mapping
    mapping["event"]["@template"] = "changed"
    mapping["utm_properties"]["utm_source"] = "changed"
    assert get_preset("Page Calls").mapping == {**TRACK_EVENT_DEFAULTS, "event": VIEWED}


def test_an_unknown_preset():
    with pytest.raises(KeyError):
        get_preset("Alias Calls")


# --- actions as data -------------------------------------------------------------------------


def test_the_destination_and_its_six_actions_in_order():
    assert (DESTINATION_NAME, DESTINATION_SLUG) == ("Mixpanel (Actions)", "actions-mixpanel")
    assert [(a.id, a.title) for a in ACTIONS] == [
        ("trackEvent", "Track Event"),
        ("identifyUser", "Identify User"),
        ("groupIdentifyUser", "Group Identify User"),
        ("alias", "Alias"),
        ("trackPurchase", "Track Purchase"),
        ("incrementProperties", "Increment Properties"),
    ]


def test_default_subscriptions():
    assert {a.id: a.default_subscription for a in ACTIONS} == {
        "trackEvent": 'type = "track"',
        "identifyUser": 'type = "identify"',
        "groupIdentifyUser": 'type = "group"',
        "alias": None,
        "trackPurchase": 'type = "track"',
        "incrementProperties": 'type = "track"',
    }
    assert get_action("alias").suggested_subscription == 'type = "alias"'


def test_only_the_track_actions_batch():
    assert BATCH_ACTION_IDS == {"trackEvent", "trackPurchase"}


def test_every_field_is_described_for_the_console():
    for action in ACTIONS:
        assert action.description
        for field in action.fields:
            assert field.label and field.description, (action.id, field.key)
            for sub in field.properties:
                assert sub.label and sub.description, (action.id, field.key, sub.key)


def test_required_and_nullable_fields():
    required = {a.id: [f.key for f in a.fields if f.required] for a in ACTIONS}
    assert required == {
        "trackEvent": ["event"],
        "identifyUser": [],
        "groupIdentifyUser": ["group_id"],
        "alias": [],
        "trackPurchase": ["event"],
        "incrementProperties": ["increment"],
    }
    nullable = {a.id: [f.key for f in a.fields if f.allow_null] for a in ACTIONS}
    assert nullable == {
        "trackEvent": [],
        "identifyUser": ["user_id", "anonymous_id"],
        "groupIdentifyUser": [],
        "alias": ["alias"],
        "trackPurchase": [],
        "incrementProperties": ["user_id", "anonymous_id"],
    }


def test_trackevent_labels_and_types_used_in_messages():
    fields = {f.key: (f.label, f.type) for f in get_action("trackEvent").fields}
    assert fields["event"] == ("Event Name", "string")
    assert fields["time"] == ("Timestamp", "datetime")
    assert fields["screen_width"] == ("Screen width", "number")
    assert fields["bluetooth"] == ("Bluetooth Enabled", "boolean")
    assert fields["ad_tracking_enabled"] == ("Ad Tracking Enabled", "string")
    assert fields["idfa"] == ("Identifier For Advertiser (IDFA)", "string")
    assert fields["context"] == ("Event context", "object")
    assert get_action("trackEvent").field("context").hidden
    batch_size = get_action("trackEvent").field("batch_size")
    assert (batch_size.minimum, batch_size.maximum) == (1, 2000)


def test_sub_object_keys():
    track = get_action("trackEvent")
    assert [f.key for f in track.field("utm_properties").properties] == [
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
    ]
    assert [(f.key, f.type) for f in track.field("userAgentData").properties] == [
        ("mobile", "boolean"),
        ("platform", "string"),
        ("architecture", "string"),
        ("bitness", "string"),
        ("model", "string"),
        ("platformVersion", "string"),
        ("uaFullVersion", "string"),
        ("wow64", "boolean"),
    ]


def test_the_product_item_schema():
    products = get_action("trackPurchase").field("products")
    assert products.multiple and products.additional_properties
    assert [(f.key, f.type) for f in products.properties] == [
        ("product_id", "string"),
        ("sku", "string"),
        ("category", "string"),
        ("name", "string"),
        ("brand", "string"),
        ("variant", "string"),
        ("price", "number"),
        ("quantity", "integer"),
        ("coupon", "string"),
        ("position", "number"),
        ("url", "string"),
        ("image_url", "string"),
    ]


def test_trackpurchase_lists_the_flag_first_and_the_event_last():
    keys = [f.key for f in get_action("trackPurchase").fields]
    assert keys[0] == "generatePurchaseEventPerProduct" and keys[-2:] == ["products", "event"]


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [
        (
            "identifyUser",
            {
                "ip": {"@path": "$.context.ip"},
                "user_id": {"@path": "$.userId"},
                "anonymous_id": {"@path": "$.anonymousId"},
                "traits": {"@path": "$.traits"},
            },
        ),
        (
            "groupIdentifyUser",
            {"group_id": {"@path": "$.groupId"}, "traits": {"@path": "$.traits"}},
        ),
        (
            "alias",
            {
                "alias": {
                    "@if": {
                        "exists": {"@path": "$.userId"},
                        "then": {"@path": "$.userId"},
                        "else": {"@path": "$.anonymousId"},
                    }
                },
                "distinct_id": {"@path": "$.previousId"},
            },
        ),
        (
            "incrementProperties",
            {
                "ip": {"@path": "$.context.ip"},
                "user_id": {"@path": "$.userId"},
                "anonymous_id": {"@path": "$.anonymousId"},
                "increment": {"@path": "$.properties.increment"},
            },
        ),
        ("trackEvent", TRACK_EVENT_DEFAULTS),
    ],
)
def test_default_mappings(action_id, expected):
    assert default_mapping(action_id) == expected


def test_default_mappings_are_fresh_copies():
    default_mapping("trackEvent")["event"]["@path"] = "changed"
    assert default_mapping("trackEvent")["event"] == {"@path": "$.event"}


def test_an_unknown_action():
    with pytest.raises(KeyError):
        get_action("trackPage")
