"""trackPurchase records (spec §8): the order, then one "Product Purchased" per product."""

from __future__ import annotations

import copy
import uuid

import pytest

from mappings.destinations.mixpanel.actions import default_mapping
from mappings.destinations.mixpanel.identity import INSERT_ID_NAMESPACE
from mappings.destinations.mixpanel.perform import perform
from mappings.destinations.mixpanel.records import ORDER_ONLY_KEYS
from mappings.destinations.mixpanel.types import MixpanelSettings, PayloadValidationError
from mappings.engine import mapping_kit

RECEIVED_AT = 1_748_779_200_000
US = MixpanelSettings(project_token="tok")

# §8.3
EXAMPLE_EVENT = {
    "type": "track",
    "event": "Order Completed",
    "userId": "buyer-17",
    "messageId": "ord-msg-501",
    "timestamp": "2025-06-01T09:30:00Z",
    "properties": {
        "order_id": "SO-5001",
        "revenue": 42.5,
        "currency": "EUR",
        "coupon": "JUNE5",
        "shipping": 4,
        "store": "berlin",
        "products": [
            {
                "product_id": "p-1",
                "name": "Mug",
                "price": "12.50",
                "quantity": "2",
                "color": "teal",
            },
            {"sku": "TS-9", "name": "Tee", "price": 17.5, "quantity": 1, "coupon": "TEE10"},
        ],
    },
}
_COMMON = {
    "id": "buyer-17",
    "distinct_id": "buyer-17",
    "$identified_id": "buyer-17",
}
EXAMPLE_BODIES = [
    {
        "event": "Order Completed",
        "properties": {
            "time": 1748770200000,
            **_COMMON,
            "$insert_id": "ord-msg-501",
            "$source": "segment",
            "$user_id": "buyer-17",
            "event_original_name": "Order Completed",
            "order_id": "SO-5001",
            "revenue": 42.5,
            "currency": "EUR",
            "coupon": "JUNE5",
            "shipping": 4,
            "store": "berlin",
            "products": [
                {
                    "product_id": "p-1",
                    "name": "Mug",
                    "price": "12.50",
                    "quantity": "2",
                    "color": "teal",
                },
                {"sku": "TS-9", "name": "Tee", "price": 17.5, "quantity": 1, "coupon": "TEE10"},
            ],
        },
    },
    {
        "event": "Product Purchased",
        "properties": {
            "time": 1748770199999,
            **_COMMON,
            "$insert_id": "0ord-msg-501",
            "$source": "segment",
            "$user_id": "buyer-17",
            "event_original_name": "Order Completed",
            "order_id": "SO-5001",
            "store": "berlin",
            "product_id": "p-1",
            "name": "Mug",
            "price": 12.5,
            "quantity": 2,
        },
    },
    {
        "event": "Product Purchased",
        "properties": {
            "time": 1748770199998,
            **_COMMON,
            "$insert_id": "1ord-msg-501",
            "$source": "segment",
            "$user_id": "buyer-17",
            "event_original_name": "Order Completed",
            "order_id": "SO-5001",
            "store": "berlin",
            "sku": "TS-9",
            "name": "Tee",
            "price": 17.5,
            "quantity": 1,
            "coupon": "TEE10",
        },
    },
]


def resolve(event):
    return mapping_kit.transform(default_mapping("trackPurchase"), event)


def purchase(resolved, *, batching=None, stored_event_id="evt-1"):
    return perform(
        "trackPurchase",
        resolved,
        US,
        event={},
        stored_event_id=stored_event_id,
        received_at_ms=RECEIVED_AT,
        batching=batching,
    )


def with_products(products, **properties):
    event = copy.deepcopy(EXAMPLE_EVENT)
    event["properties"]["products"] = products
    event["properties"].update(properties)
    return event


@pytest.mark.parametrize("batching", [False, True])
def test_the_spec_example(batching):
    result = purchase(resolve(EXAMPLE_EVENT), batching=batching)
    assert [r.body for r in result.records] == EXAMPLE_BODIES
    assert [(r.endpoint, r.kind, r.insert_id) for r in result.records] == [
        ("import", "order", "ord-msg-501"),
        ("import", "product[0]", "0ord-msg-501"),
        ("import", "product[1]", "1ord-msg-501"),
    ]
    assert all(r.idempotent and not r.isolate and not r.gates_following for r in result.records)


def test_the_spec_example_from_a_hand_written_resolved_payload():
    resolved = {
        "generatePurchaseEventPerProduct": True,
        "distinct_id": "buyer-17",
        "user_id": "buyer-17",
        "insert_id": "ord-msg-501",
        "time": "2025-06-01T09:30:00Z",
        "name": "Order Completed",
        "event_properties": copy.deepcopy(EXAMPLE_EVENT["properties"]),
        "utm_properties": {},
        "enable_batching": True,
        "batch_size": 1000,
        "userAgentData": {},
        "products": [
            {"product_id": "p-1", "name": "Mug", "price": "12.50", "quantity": "2"},
            {"sku": "TS-9", "name": "Tee", "price": 17.5, "quantity": 1, "coupon": "TEE10"},
        ],
        "event": "Order Completed",
    }
    assert resolve(EXAMPLE_EVENT) == resolved
    assert [r.body for r in purchase(resolved).records] == EXAMPLE_BODIES


def test_the_order_keeps_the_raw_products_and_products_drop_unmapped_keys():
    order, first, _ = purchase(resolve(EXAMPLE_EVENT)).records
    assert order.body["properties"]["products"][0]["color"] == "teal"
    assert order.body["properties"]["products"][0]["price"] == "12.50"
    assert "color" not in first.body["properties"]


def test_products_do_not_inherit_order_level_keys():
    event = with_products(
        [{"name": "Mug"}],
        affiliation="a",
        subtotal=1,
        total=2,
        tax=3,
        discount=4,
        order_number="n",
        other="kept",
    )
    order, product = purchase(resolve(event)).records
    assert ORDER_ONLY_KEYS <= set(order.body["properties"]) | {"products"}
    assert not ORDER_ONLY_KEYS & set(product.body["properties"]) - {"coupon"}
    assert product.body["properties"]["other"] == "kept"


def test_a_product_field_wins_over_an_inherited_one():
    event = with_products([{"name": "Mug", "url": "https://shop/mug"}], name="order name")
    _, product = purchase(resolve(event)).records
    assert product.body["properties"]["name"] == "Mug"
    assert product.body["properties"]["url"] == "https://shop/mug"


def test_a_product_coupon_is_its_own():
    _, product = purchase(resolve(with_products([{"name": "Mug"}]))).records
    assert "coupon" not in product.body["properties"]


def test_an_empty_product_list_sends_the_order_only():
    assert [r.kind for r in purchase(resolve(with_products([]))).records] == ["order"]


def test_no_per_product_events_when_the_flag_is_off():
    resolved = resolve(EXAMPLE_EVENT)
    resolved["generatePurchaseEventPerProduct"] = False
    assert [r.kind for r in purchase(resolved).records] == ["order"]
    del resolved["generatePurchaseEventPerProduct"]  # absent is falsy too, as in Segment
    assert [r.kind for r in purchase(resolved).records] == ["order"]


def test_a_products_object_is_a_one_item_list():
    records = purchase(resolve(with_products({"sku": "X", "price": "3"}))).records
    assert [r.kind for r in records] == ["order", "product[0]"]
    assert records[1].body["properties"]["price"] == 3


def test_null_product_fields_are_coerced():
    event = with_products([{"name": None, "price": None, "quantity": None, "position": None}])
    _, product = purchase(resolve(event)).records
    p = product.body["properties"]
    assert (p["name"], p["price"], p["quantity"], p["position"]) == ("", 0, 0, 0)


@pytest.mark.parametrize(
    ("products", "message"),
    [
        ([{"quantity": 1.5}], "Quantity must be an integer but it was a number."),
        ([{"price": "abc"}], "Price must be a number but it was a string."),
        (
            [{"price": "x", "quantity": 2.5}],
            "Price must be a number but it was a string. Quantity must be an integer but it was a number.",
        ),
    ],
)
def test_a_product_failing_coercion_fails_the_whole_event(products, message):
    with pytest.raises(PayloadValidationError) as caught:
        purchase(resolve(with_products(products)))
    assert caught.value.message == message


def test_product_times_step_back_one_unit_per_product_even_for_seconds():
    event = with_products([{"name": "a"}, {"name": "b"}])
    event["timestamp"] = 1748770200  # seconds: the quirk is kept (Mixpanel reads seconds)
    times = [r.body["properties"]["time"] for r in purchase(resolve(event)).records]
    assert times == [1748770200, 1748770199, 1748770198]


def test_product_times_step_back_from_received_at_without_a_timestamp():
    event = with_products([{"name": "a"}])
    del event["timestamp"]
    times = [r.body["properties"]["time"] for r in purchase(resolve(event)).records]
    assert times == [RECEIVED_AT, RECEIVED_AT - 1]


def test_product_insert_ids_are_derived_when_index_plus_id_is_invalid():
    event = with_products([{"name": "a"}, {"name": "b"}])
    event["messageId"] = "3b8f5c2e-9d14-4a7b-8e6f-0c1d2e3f4a5b"
    result = purchase(resolve(event))
    assert [r.insert_id for r in result.records] == [
        "3b8f5c2e-9d14-4a7b-8e6f-0c1d2e3f4a5b",
        "aaeed6c4-1370-59c8-aeeb-b2ef50e6c519",
        str(uuid.uuid5(INSERT_ID_NAMESPACE, "13b8f5c2e-9d14-4a7b-8e6f-0c1d2e3f4a5b")),
    ]
    notes = [(n.code, n.record_index) for n in result.notes]
    assert notes == [("insert-id-derived", 1), ("insert-id-derived", 2)]


def test_product_insert_ids_without_a_message_id_come_from_the_stored_event():
    event = with_products([{"name": "a"}])
    del event["messageId"]
    records = purchase(resolve(event), stored_event_id="55").records
    assert [r.insert_id for r in records] == [
        str(uuid.uuid5(INSERT_ID_NAMESPACE, "segmix-event:55")),
        str(uuid.uuid5(INSERT_ID_NAMESPACE, "0segmix-event:55")),
    ]


def test_a_product_cannot_replace_the_insert_id_or_time():
    resolved = resolve(EXAMPLE_EVENT)
    resolved["products"] = [{"name": "a", "$insert_id": "mine", "time": 1}]
    result = purchase(resolved)
    product = result.records[1].body["properties"]
    assert (product["$insert_id"], product["time"]) == ("0ord-msg-501", 1748770199999)
    assert [n.property for n in result.notes if n.code == "reserved-key-ignored"] == [
        "$insert_id",
        "time",
    ]


def test_extra_product_keys_survive_a_custom_products_mapping():
    mapping = default_mapping("trackPurchase")
    mapping["products"] = {"@path": "$.properties.products"}
    resolved = mapping_kit.transform(mapping, EXAMPLE_EVENT)
    _, first, _ = purchase(resolved).records
    assert first.body["properties"]["color"] == "teal"
    assert first.body["properties"]["price"] == 12.5
