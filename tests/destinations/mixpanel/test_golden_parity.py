"""Parity with Segment's real Mixpanel (Actions) code, from tests/golden/mixpanel.json.

The golden file was produced by running ``@segment/action-destinations`` 3.497.0 on
``@segment/actions-core`` 3.170.0 (tools/golden/README.md). Each case is run here through the
real chain: our mapping-kit ``transform`` of the case's mapping, then ``perform``/``perform_batch``.
Our record bodies must equal the bodies Segment sent, compared as parsed JSON, after applying only
the deliberate divergences (spec §1), each in one place below:

* **D1** ``mp_lib``: Segment's ``"Segment Actions: <lib>"`` is rewritten to our ``"Segment: <lib>"``.
* **D2** ``$insert_id``: Segment sends the mapped id as is (``"<i>" + id`` on product records) or
  a random one when none is mapped. We check that Segment's value is exactly that, then replace it
  by our rule's output (the id if valid, else its UUIDv5; the stored-event fallback for random
  ones).
* **D2** ``time``: when the event has no usable time Segment uses the (frozen) send time, we use
  the stored ``receivedAt``. We check Segment's value is the frozen "now" (minus i+1 on product
  records) and ours the receivedAt (same offsets) before comparing the rest.
* **D4** identity mode: Segment has none; its behaviour is our ``idMergeMode = "original"``, so
  identifyUser and alias cases run in original mode. Simplified mode is checked separately: the
  ``/engage`` record must be the same, only the ``$identify`` differs (§9.4).
* **D5** envelope: Segment posts ``/track``, ``/engage`` and ``/groups`` one form ``data=<object>``
  per record, ``/import`` one plain JSON array per batch. We compare the decoded records, in order,
  and the endpoint path and host (the envelope itself is the request builder's job).
* **M3** blank ``sourceName``: not exercised by the golden settings.

Settings errors (§3.3): Segment's harness does not validate settings; the golden file records what
its platform would say (``settings_error``). We assert ``validate_settings`` says the same and
sends nothing.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mappings.destinations.mixpanel.identity import (
    insert_id_for,
    is_valid_insert_id,
    product_insert_id,
)
from mappings.destinations.mixpanel.perform import perform, perform_batch
from mappings.destinations.mixpanel.settings_schema import region_host, validate_settings
from mappings.destinations.mixpanel.types import (
    ActionResult,
    PayloadValidationError,
    Record,
    SettingsError,
)
from mappings.engine import mapping_kit

GOLDEN_PATH = Path(__file__).resolve().parents[2] / "golden" / "mixpanel.json"
GOLDEN = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
EVENTS: dict[str, dict[str, Any]] = GOLDEN["events"]
FROZEN_NOW_MS: int = GOLDEN["frozen_now_ms"]
SINGLE = [c for c in GOLDEN["cases"] if c["kind"] == "single"]
BATCH = [c for c in GOLDEN["cases"] if c["kind"] == "batch"]
FALLBACK_RECEIVED_AT_MS = 1_700_000_000_000  # for events without receivedAt


def received_at_ms(event: dict[str, Any]) -> int:
    text = event.get("receivedAt")
    if not text:
        return FALLBACK_RECEIVED_AT_MS
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def segment_settings(case: dict[str, Any]) -> dict[str, Any]:
    # D4: Segment's behaviour is our original mode.
    return {**case["settings"], "idMergeMode": "original"}


def segment_records(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(endpoint, record) in sending order, from Segment's requests (D5: envelope removed)."""
    records = []
    for request in case["requests"]:
        endpoint = urlsplit(request["url"]).path.strip("/")
        body = request["body"]
        decoded = body["json"] if "json" in body else body["data"]
        for record in decoded if isinstance(decoded, list) else [decoded]:
            records.append((endpoint, copy.deepcopy(record)))
    return records


def apply_d1(record: dict[str, Any]) -> None:
    properties = record.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get("mp_lib"), str):
        library = properties["mp_lib"].removeprefix("Segment Actions: ")
        if library != properties["mp_lib"]:
            properties["mp_lib"] = f"Segment: {library}"


def apply_d2(
    theirs: list[dict[str, Any]],
    ours: list[Record],
    *,
    mapped_insert_id: Any,
    stored_event_id: str,
    received_at: int,
) -> None:
    """Check Segment's $insert_id/time follow Segment's rule, then put our rule's values in."""
    for index, (record, our_record) in enumerate(zip(theirs, ours, strict=True)):
        properties = record.get("properties")
        if our_record.endpoint != "import" or not isinstance(properties, dict):
            continue
        our_properties = our_record.body["properties"]
        product = index - 1  # records after the first are products (trackPurchase)
        mapped = isinstance(mapped_insert_id, str) and mapped_insert_id != ""
        if mapped:
            expected_raw = mapped_insert_id if index == 0 else f"{product}{mapped_insert_id}"
            assert properties["$insert_id"] == expected_raw
            ours_expected = (
                insert_id_for(mapped_insert_id, stored_event_id=stored_event_id)
                if index == 0
                else product_insert_id(product, mapped_insert_id, stored_event_id=stored_event_id)
            )
        else:
            ours_expected = (
                insert_id_for(None, stored_event_id=stored_event_id)
                if index == 0
                else product_insert_id(product, None, stored_event_id=stored_event_id)
            )
        assert our_properties["$insert_id"] == ours_expected
        assert is_valid_insert_id(ours_expected)
        properties["$insert_id"] = ours_expected
        if properties["time"] != our_properties["time"]:
            offset = 0 if index == 0 else product + 1
            assert properties["time"] == FROZEN_NOW_MS - offset
            assert our_properties["time"] == received_at - offset
            properties["time"] = our_properties["time"]


def evaluate(case: dict[str, Any], event: dict[str, Any], settings: Any, stored_id: str):
    """Segment's ``executeAction``: single-event semantics, whatever ``enable_batching`` says."""
    resolved = mapping_kit.transform(case["mapping"], event)
    return perform(
        case["action"],
        resolved,
        settings,
        event=event,
        stored_event_id=stored_id,
        received_at_ms=received_at_ms(event),
        batching=False,
    )


def compare(case: dict[str, Any], result: ActionResult, event: dict[str, Any], stored_id: str):
    theirs = segment_records(case)
    assert [endpoint for endpoint, _ in theirs] == [r.endpoint for r in result.records]
    bodies = [record for _, record in theirs]
    for body in bodies:
        apply_d1(body)
    apply_d2(
        bodies,
        result.records,
        mapped_insert_id=result.fields.get("insert_id"),
        stored_event_id=stored_id,
        received_at=received_at_ms(event),
    )
    assert [r.body for r in result.records] == bodies
    settings = validate_settings(case["settings"])
    for request in case["requests"]:
        url = urlsplit(request["url"])
        assert f"{url.scheme}://{url.netloc}" == region_host(settings.api_region)


@pytest.mark.parametrize("case", SINGLE, ids=[c["name"] for c in SINGLE])
def test_single_event_matches_segment(case):
    event = EVENTS[case["event"]]
    stored_id = f"golden-{case['event']}"
    if "settings_error" in case:
        with pytest.raises(SettingsError) as caught:
            validate_settings(case["settings"])
        assert caught.value.messages == [case["settings_error"]["message"]]
        return
    settings = validate_settings(segment_settings(case))
    if "error" in case:
        with pytest.raises(PayloadValidationError) as caught:
            evaluate(case, event, settings, stored_id)
        assert caught.value.message == case["error"]["message"]
        assert caught.value.status == case["error"].get("status", 400)
        return
    result = evaluate(case, event, settings, stored_id)
    if not case["requests"]:
        assert result.records == [] and result.skipped
        return
    compare(case, result, event, stored_id)


@pytest.mark.parametrize("case", BATCH, ids=[c["name"] for c in BATCH])
def test_batch_matches_segment(case):
    events = [EVENTS[name] for name in case["events"]]
    stored_ids = [f"golden-{name}" for name in case["events"]]
    settings = validate_settings(segment_settings(case))
    resolved = [mapping_kit.transform(case["mapping"], event) for event in events]
    results = perform_batch(
        case["action"],
        resolved,
        settings,
        events=events,
        stored_event_ids=stored_ids,
        received_at_ms=[received_at_ms(e) for e in events],
    )
    theirs = segment_records(case)
    position = 0
    for result, outcome, event, stored_id in zip(
        results, case["batch_result"], events, stored_ids, strict=True
    ):
        if "errormessage" in outcome:
            assert isinstance(result, PayloadValidationError)
            assert (result.message, result.status) == (outcome["errormessage"], outcome["status"])
            continue
        assert isinstance(result, ActionResult)
        count = len(result.records)
        one_event = {**case, "requests": []}
        bodies = [record for _, record in theirs[position : position + count]]
        position += count
        one_event["requests"] = [{"url": case["requests"][0]["url"], "body": {"json": bodies}}]
        compare(one_event, result, event, stored_id)
    assert position == len(theirs)


IDENTIFY_CASES = [
    c
    for c in SINGLE
    if c["action"] == "identifyUser" and "error" not in c and "settings_error" not in c
]


@pytest.mark.parametrize("case", IDENTIFY_CASES, ids=[c["name"] for c in IDENTIFY_CASES])
def test_simplified_identify_keeps_segments_profile_update(case):
    """D4: only the identity event changes between modes; the /engage record is Segment's."""
    event = EVENTS[case["event"]]
    simplified = validate_settings({**case["settings"], "idMergeMode": "simplified"})
    result = evaluate(case, event, simplified, "golden-identify")
    theirs = [record for endpoint, record in segment_records(case) if endpoint == "engage"]
    assert [r.body for r in result.records if r.endpoint == "engage"] == theirs
    identify = [r for r in result.records if r.kind == "$identify"]
    both_ids = bool(event.get("userId")) and bool(event.get("anonymousId"))
    assert [r.endpoint for r in identify] == (["import"] if both_ids else [])


def test_presets_are_segments_presets():
    from mappings.destinations.mixpanel.presets import PRESETS

    ours = [
        {"name": p.name, "subscribe": p.trigger, "partnerAction": p.action_id, "mapping": p.mapping}
        for p in PRESETS
    ]
    theirs = [{k: v for k, v in p.items() if k != "type"} for p in GOLDEN["presets"]]
    assert ours == theirs
    assert {p["type"] for p in GOLDEN["presets"]} == {"automatic"}


def test_default_mappings_are_segments_field_defaults():
    from mappings.destinations.mixpanel.actions import default_mapping

    for action_id, mapping in GOLDEN["default_mappings"].items():
        assert default_mapping(action_id) == mapping, action_id
        assert list(default_mapping(action_id)) == list(mapping), action_id
