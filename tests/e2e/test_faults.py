"""Faults, each ending with exact counts: nothing lost, nothing duplicated in Mixpanel's deduped
view; raw duplicates only where the fault makes a re-send unavoidable, and then identical.

Issue 4's fault list: a worker SIGKILLed mid-batch; the web process SIGKILLed right after a 200;
Redis restarted empty while messages are pending; Mixpanel answering 429 (with and without
Retry-After), 500, a timeout, a strict-mode partial 400, 401; the database down during ingest.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest
import requests

from .pipeline import (
    GOOD_SETTINGS,
    assert_each_once,
    canonical,
    configure,
    event_count,
    flush_client,
    insert_ids,
    mixpanel_requests,
    post_batch,
    statuses,
    track_batch,
    unique,
    wait_settled,
)
from .stack import MIXPANEL_TIMEOUT, Stack, wait_until

pytestmark = pytest.mark.slow


def wait_relays(stack: Stack, count: int = 2) -> None:
    """Wait until the relay has run ``count`` more times: anything still due would have been
    picked up by then (the bounded way to observe that nothing more happens)."""
    worker = stack.procs["worker"]

    def runs() -> int:
        return len(re.findall(r"mappings\.tasks\.relay\[\S+\] succeeded", worker.output()))

    target = runs() + count
    wait_until(lambda: runs() >= target, 30, f"{count} relay runs", interval=0.1)


def import_requests(stack: Stack) -> list[dict]:
    return stack.mp.requests("/import")


# The worker ----------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_request_loses_and_duplicates_nothing(e2e):
    setup = configure(e2e, unique("e2e-kill-worker"))
    # Mixpanel is slow to answer the first request; it still ingests it, after the worker died.
    e2e.mp.script("/import", delay=1.5)
    batch = track_batch("kw", 50)
    assert post_batch(e2e, setup.write_key, batch).status_code == 200

    wait_until(
        lambda: any("status" not in r for r in import_requests(e2e)),
        20,
        "a request to Mixpanel in flight",
        interval=0.01,
        diagnostics=e2e.diagnostics,
    )
    e2e.kill_worker()
    wait_until(lambda: len(e2e.mp.records("/import")) == 50, 10, "the slow request to be ingested")
    assert statuses(e2e, setup.destination_id) == Counter(pending=50)  # nothing was recorded
    leased = e2e.sql(
        "SELECT count(*) AS n FROM mappings_delivery WHERE destination_id = %s "
        "AND lease_until > now()",
        [setup.destination_id],
    )[0]["n"]
    assert leased == 50  # still claimed by the dead worker until the lease runs out

    e2e.start_worker()  # the killed claim's lease expires; the relay hands the rows out again
    assert wait_settled(e2e, setup.destination_id, 50) == Counter(delivered=50)
    assert_each_once(e2e, 50, raw_duplicates_allowed=True)
    # The re-send was unavoidable (the answer died with the worker) and identical.
    assert set(insert_ids(e2e).values()) == {2}
    assert insert_ids(e2e).keys() == {m["messageId"] for m in batch}


# The web process -----------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_web_process_killed_right_after_a_200_loses_nothing(e2e):
    setup = configure(e2e, unique("e2e-kill-web"))
    batches = [track_batch(f"web{i}", 10) for i in range(16)]
    answers: dict[int, int | str] = {}

    def send(index: int) -> tuple[int, int | str]:
        try:
            return index, post_batch(e2e, setup.write_key, batches[index]).status_code
        except requests.RequestException as exc:
            return index, type(exc).__name__

    with ThreadPoolExecutor(4) as pool:
        for future in as_completed([pool.submit(send, i) for i in range(len(batches))]):
            index, answer = future.result()
            answers[index] = answer
            if answer == 200 and e2e.procs.get("web"):
                e2e.kill_web()  # master and workers, SIGKILL, the moment a 200 is in hand
    assert "web" not in e2e.procs
    accepted = [i for i, answer in answers.items() if answer == 200]
    assert 0 < len(accepted) < len(batches)  # the kill cut traffic off

    e2e.start_web()
    # Clients re-send what got no 200; one client whose 200 was lost re-sends an accepted batch.
    for index in [i for i in answers if answers[i] != 200] + accepted[:1]:
        assert post_batch(e2e, setup.write_key, batches[index]).status_code == 200

    total = sum(len(b) for b in batches)
    assert wait_settled(e2e, setup.destination_id, total) == Counter(delivered=total)
    assert event_count(e2e, setup.source_id) == total
    assert_each_once(e2e, total, raw_duplicates_allowed=False)
    duplicates = e2e.sql(
        "SELECT sum(duplicate_count) AS n FROM mappings_event WHERE source_id = %s",
        [setup.source_id],
    )[0]["n"]
    assert duplicates >= len(batches[accepted[0]])  # the re-sent accepted batch was deduplicated


# Redis -----------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_redis_restart_with_an_empty_queue_only_delays_delivery(e2e, segment):
    analytics, errors = segment
    setup = configure(e2e, unique("e2e-redis"))
    analytics.write_key, analytics.host = setup.write_key, e2e.host
    e2e.stop_worker()

    for n in range(30):
        analytics.track(f"redis-user-{n % 3}", "Queued Through Redis", {"n": n})
    flush_client(analytics.default_client)
    assert errors == []
    assert statuses(e2e, setup.destination_id) == Counter(pending=30), e2e.diagnostics()
    queued = [m.decode() for m in e2e.redis().lrange("celery", 0, -1)]
    # the ingest's hint
    assert any("mappings.tasks.flush_destination" in m for m in queued), e2e.diagnostics()

    e2e.restart_redis()  # kill -9, no persistence: the hint is gone
    queued = [m.decode() for m in e2e.redis().lrange("celery", 0, -1)]
    assert not any("mappings.tasks.flush_destination" in m for m in queued), queued

    e2e.start_worker()
    assert wait_settled(e2e, setup.destination_id, 30) == Counter(delivered=30)
    assert_each_once(e2e, 30, raw_duplicates_allowed=False)
    assert e2e.procs["beat"].alive() and e2e.procs["web"].alive()


# Mixpanel --------------------------------------------------------------------------------------

TRANSIENT = {
    # name: (script, least seconds between the failed attempt's start and the retry's)
    "429_with_retry_after": ({"status": 429, "headers": {"Retry-After": "8"}}, 8.0),
    "429_without_retry_after": ({"status": 429}, 3.0),  # backoff: 2 s + at least 1 s jitter
    "500": ({"status": 500}, 3.0),
    "timeout": ({"delay": MIXPANEL_TIMEOUT + 1.5}, 3.0),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("fault", list(TRANSIENT))
def test_transient_mixpanel_failures_are_retried_until_delivered_once(e2e, fault):
    script, least_gap = TRANSIENT[fault]
    setup = configure(e2e, unique(f"e2e-{fault}"))
    e2e.mp.script("/import", **script)
    batch = track_batch(fault, 20)
    assert post_batch(e2e, setup.write_key, batch).status_code == 200

    assert wait_settled(e2e, setup.destination_id, 20) == Counter(delivered=20)
    first, *retries = import_requests(e2e)
    assert retries and all(r["status"] == 200 for r in retries)
    assert min(r["time"] for r in retries) - first["time"] >= least_gap
    recorded = mixpanel_requests(e2e, setup.destination_id)
    assert (recorded[0]["attempt"], recorded[0]["verdict"]) == (1, "retry")
    assert {(r["attempt"], r["verdict"]) for r in recorded[1:]} == {(2, "delivered")}
    # The retries resent the failed request's records identically (same $insert_id, same time);
    # each delivery's own backoff jitter may spread them over several requests.
    resent = [record for retry in retries for record in retry["body"]]
    assert canonical(resent) == canonical(recorded[0]["body"])
    assert len(recorded[0]["body"]) == 20
    if fault == "timeout":
        # Mixpanel ingested the request whose answer never came: the re-send was unavoidable.
        assert recorded[0]["response_status"] is None  # segmix gave up waiting
        assert_each_once(e2e, 20, raw_duplicates_allowed=True)
        assert set(insert_ids(e2e).values()) == {2}
    else:
        assert first["status"] == script["status"]
        assert_each_once(e2e, 20, raw_duplicates_allowed=False)


@pytest.mark.timeout(60)
def test_a_strict_mode_partial_400_delivers_the_rest_once_and_fails_the_bad_record(e2e):
    setup = configure(e2e, unique("e2e-partial"))
    batch = track_batch("partial", 10)
    # Mixpanel refuses list properties of 255 items or more (strict mode names the field).
    bad = track_batch("partial-bad", 1, tags=list(range(300)))[0]
    assert post_batch(e2e, setup.write_key, batch[:5] + [bad] + batch[5:]).status_code == 200

    assert wait_settled(e2e, setup.destination_id, 11) == Counter(delivered=10, failed=1)
    wait_relays(e2e)  # nothing is retried: no request after the partial answer
    [request] = import_requests(e2e)
    assert request["status"] == 400 and len(request["body"]) == 11
    [refusal] = request["response"]["failed_records"]
    assert refusal["field"] == "properties.tags"
    assert_each_once(e2e, 10, raw_duplicates_allowed=False)
    assert bad["messageId"] not in insert_ids(e2e)
    # The bad event failed for good with Mixpanel's field and message; its neighbours delivered.
    [failed] = e2e.sql(
        "SELECT d.status, d.reason FROM mappings_delivery d JOIN mappings_event e "
        "ON e.id = d.event_id WHERE e.message_id = %s",
        [bad["messageId"]],
    )
    assert failed == {"status": "failed", "reason": f"properties.tags: {refusal['message']}"}
    [recorded] = mixpanel_requests(e2e, setup.destination_id)
    assert recorded["verdict"] == "partial"
    outcomes = {entry[2]: entry[3:5] for entry in recorded["manifest"]}
    assert outcomes.pop(bad["messageId"]) == ["failed", "properties.tags"]
    assert set(map(tuple, outcomes.values())) == {("delivered", None)}


@pytest.mark.timeout(90)
def test_a_401_pauses_the_destination_until_its_credentials_are_saved(e2e):
    setup = configure(e2e, unique("e2e-401"), settings={"apiSecret": "not-the-secret"})
    batch = track_batch("paused", 10)
    assert post_batch(e2e, setup.write_key, batch).status_code == 200

    def paused() -> bool:
        row = e2e.sql(
            "SELECT paused_at FROM mappings_destination WHERE id = %s", [setup.destination_id]
        )[0]
        return row["paused_at"] is not None

    wait_until(paused, 30, "the destination to pause", diagnostics=e2e.diagnostics)
    wait_relays(e2e)  # paused: nothing more is dequeued, nothing is dropped
    assert [r["status"] for r in import_requests(e2e)] == [401]
    rows = e2e.sql(
        "SELECT status, attempts FROM mappings_delivery WHERE destination_id = %s",
        [setup.destination_id],
    )
    assert Counter((r["status"], r["attempts"]) for r in rows) == Counter({("pending", 0): 10})

    e2e.ops("save_settings", destination=setup.destination_id, settings=GOOD_SETTINGS)
    assert wait_settled(e2e, setup.destination_id, 10) == Counter(delivered=10)
    assert [r["status"] for r in import_requests(e2e)] == [401, 200]
    assert_each_once(e2e, 10, raw_duplicates_allowed=False)


# The database ----------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_the_database_down_during_ingest_answers_503_and_the_retries_are_stored_once(e2e, segment):
    analytics, errors = segment
    setup = configure(e2e, unique("e2e-db-down"))
    analytics.write_key, analytics.host = setup.write_key, e2e.host
    import segment.analytics.request as segment_request

    answers: list[int] = []

    def seen(response: requests.Response, *args, **kwargs) -> None:
        if response.request.url.startswith(e2e.host):
            answers.append(response.status_code)

    segment_request._session.hooks["response"].append(seen)
    direct = track_batch("db-direct", 5)
    try:
        e2e.database_down()
        try:
            refused = post_batch(e2e, setup.write_key, direct)
            assert refused.status_code == 503
            assert refused.json()["code"] == "storage_unavailable"
            assert refused.headers["Retry-After"] == "5"
            # The official client meets the same outage; it keeps the batch and waits.
            for n in range(20):
                analytics.track(f"db-user-{n % 4}", "Sent During Outage", {"n": n})
            wait_until(lambda: 503 in answers, 20, "analytics-python to meet the 503")
        finally:
            e2e.database_up()
        # A non-2xx stored nothing (I2).
        assert event_count(e2e, setup.source_id) == 0

        flush_client(analytics.default_client, timeout=60)  # its retry, after Retry-After
        assert post_batch(e2e, setup.write_key, direct).status_code == 200  # a manual re-send
    finally:
        segment_request._session.hooks["response"].remove(seen)
    assert errors == []
    assert answers[-1] == 200 and 503 in answers

    assert wait_settled(e2e, setup.destination_id, 25) == Counter(delivered=25)
    assert event_count(e2e, setup.source_id) == 25
    assert_each_once(e2e, 25, raw_duplicates_allowed=False)
