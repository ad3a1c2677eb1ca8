"""Driving the running stack and reading what it did: configuration, sending, waiting, and the
records Mixpanel should have received.

Expected records come from :func:`mappings.evaluation.evaluate_event` (the function behind the
preview and the worker) applied to the events as stored, with the destination's mappings as
stored: what the worker should have sent, computed independently of the worker's run.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from mappings.destinations.mixpanel.types import Record
from mappings.evaluation import MappingConfig, evaluate_event, plan_destination
from tests.fake_mixpanel import DEFAULT_API_SECRET, DEFAULT_TOKEN

from .stack import Stack, wait_until

TOKEN = DEFAULT_TOKEN
GOOD_SETTINGS = {"projectToken": DEFAULT_TOKEN, "apiSecret": DEFAULT_API_SECRET}
OPEN = ("pending", "retrying")
# Spec §13's namespace, written out here rather than imported: the test pins the constant.
INSERT_ID_NS = uuid.UUID("484eaf79-74b0-542a-b668-8527e62d4363")


@dataclass(frozen=True)
class Setup:
    """One source feeding one destination (the six presets, enabled) and how to reach them."""

    source_id: int
    write_key: str
    destination_id: int
    settings: dict[str, Any]


def configure(
    stack: Stack,
    name: str,
    settings: dict[str, Any] | None = None,
    mappings: list[dict[str, str]] | None = None,
) -> Setup:
    """Create source ``name`` and destination ``name`` (through segmix's own functions)."""
    settings = {**GOOD_SETTINGS, **(settings or {})}
    made = stack.ops(
        "create",
        source=name,
        destinations=[{"name": name, "settings": settings, "mappings": mappings or []}],
    )
    return Setup(made["source_id"], made["write_key"], made["destinations"][name], settings)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# Sending ----------------------------------------------------------------------------------------


def post_batch(
    stack: Stack, write_key: str, batch: list[dict[str, Any]], *, timeout: float = 10
) -> requests.Response:
    """``POST /v1/batch`` as analytics-python does (Basic auth and body key)."""
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    body = {"batch": batch, "sentAt": iso_now(), "writeKey": write_key}
    return requests.post(
        f"{stack.host}/v1/batch",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
        timeout=timeout,
    )


def iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


def track_batch(prefix: str, count: int, **properties: Any) -> list[dict[str, Any]]:
    """``count`` track messages with fixed, valid messageIds (so re-sends are recognisable)."""
    return [
        {
            "type": "track",
            "event": "Fault Drill",
            "userId": f"{prefix}-user-{n % 5}",
            "messageId": str(uuid.uuid4()),
            "timestamp": iso_now(),
            "properties": {"n": n, **properties},
            "context": {"ip": "192.0.2.10", "library": {"name": "e2e", "version": "1"}},
        }
        for n in range(count)
    ]


def flush_client(client: Any, timeout: float = 60) -> None:
    """``client.flush()`` (blocks until the library's queue is empty), with a deadline."""
    worker = threading.Thread(target=client.flush, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"analytics-python did not flush within {timeout} s"


# Reading the outbox -----------------------------------------------------------------------------


def statuses(stack: Stack, destination_id: int) -> Counter[str]:
    rows = stack.sql(
        "SELECT status, count(*) AS n FROM mappings_delivery WHERE destination_id = %s "
        "GROUP BY status",
        [destination_id],
    )
    return Counter({row["status"]: row["n"] for row in rows})


def wait_settled(
    stack: Stack, destination_id: int, count: int, timeout: float = 60
) -> Counter[str]:
    """Wait until the destination has ``count`` deliveries, none of them open; their statuses."""

    def settled() -> Counter[str] | None:
        found = statuses(stack, destination_id)
        if sum(found.values()) == count and not any(found[s] for s in OPEN):
            return found
        return None

    return wait_until(
        settled,
        timeout,
        f"{count} settled deliveries of destination {destination_id}",
        interval=0.2,
        diagnostics=lambda: (
            f"statuses: {dict(statuses(stack, destination_id))}\n" + stack.diagnostics()
        ),
    )


def event_count(stack: Stack, source_id: int) -> int:
    return stack.sql("SELECT count(*) AS n FROM mappings_event WHERE source_id = %s", [source_id])[
        0
    ]["n"]


def mixpanel_requests(stack: Stack, destination_id: int) -> list[dict[str, Any]]:
    """segmix's own record of every request it made for the destination, oldest first."""
    return stack.sql(
        "SELECT endpoint, attempt, response_status, verdict, message, record_count, manifest, "
        "body, started_at FROM mappings_mixpanelrequest WHERE destination_id = %s ORDER BY id",
        [destination_id],
    )


# What Mixpanel should have received -------------------------------------------------------------


def expected_records(stack: Stack, setup: Setup) -> list[tuple[str, Record]]:
    """``(messageId, record)`` for every stored event of the source, as the worker should send."""
    configs = [
        MappingConfig(**row)
        for row in stack.sql(
            "SELECT id, name, trigger, action, mapping, enabled, version FROM mappings_mapping "
            "WHERE destination_id = %s ORDER BY position, id",
            [setup.destination_id],
        )
    ]
    plan = plan_destination(setup.settings, configs)
    now_ms = int(time.time() * 1000)
    found = []
    for event in stack.sql(
        "SELECT id, message, received_at FROM mappings_event WHERE source_id = %s ORDER BY id",
        [setup.source_id],
    ):
        for evaluation in evaluate_event(
            event["message"],
            plan,
            stored_event_id=str(event["id"]),
            received_at_ms=int(event["received_at"].timestamp() * 1000),
            now_ms=now_ms,
        ):
            found.extend((event["message"]["messageId"], r) for r in evaluation.records)
    return found


def bodies(records: Iterable[Record], endpoint: str) -> list[dict[str, Any]]:
    return [r.body for r in records if r.endpoint == endpoint]


def received_events(stack: Stack, endpoint: str = "/import") -> list[dict[str, Any]]:
    """Every event record the fake accepted on ``endpoint``, duplicates included."""
    return [
        {"event": r["event"], "properties": r["properties"]} for r in stack.mp.records(endpoint)
    ]


def received_updates(stack: Stack, endpoint: str) -> list[dict[str, Any]]:
    """Every ``/engage`` or ``/groups`` update the fake accepted, as sent."""
    drop = {"endpoint", "request_seq", "index"}
    return [
        {k: v for k, v in u.items() if k not in drop} for u in stack.mp.profile_updates(endpoint)
    ]


def canonical(items: Iterable[Any]) -> list[str]:
    """Order-free comparison of JSON values: sorted canonical texts."""
    return sorted(json.dumps(item, sort_keys=True) for item in items)


def insert_ids(stack: Stack, endpoint: str = "/import") -> Counter[str]:
    """How many times the fake received each ``$insert_id`` (raw view)."""
    return Counter(r["properties"].get("$insert_id") for r in stack.mp.records(endpoint))


def assert_each_once(stack: Stack, expected_count: int, *, raw_duplicates_allowed: bool) -> None:
    """The deduped view holds ``expected_count`` records, each exactly once; the raw view holds
    no duplicates unless a fault made a re-send unavoidable, and then only identical re-sends."""
    deduped = stack.mp.deduped("/import")
    raw = stack.mp.records("/import")
    assert len(deduped) == expected_count, (len(deduped), expected_count)
    assert len({r["properties"]["$insert_id"] for r in deduped}) == expected_count
    if not raw_duplicates_allowed:
        assert len(raw) == expected_count, Counter(insert_ids(stack)).most_common(3)
        assert all(r["copies"] == 1 for r in deduped)
        return
    # Every raw copy of a record is byte-for-byte the record (same $insert_id, time, payload).
    by_id: dict[str, set[str]] = {}
    for r in raw:
        by_id.setdefault(r["properties"]["$insert_id"], set()).add(
            json.dumps({"event": r["event"], "properties": r["properties"]}, sort_keys=True)
        )
    assert all(len(versions) == 1 for versions in by_id.values()), "a re-send differed"
