"""The fake Mixpanel server validates, answers and records like Mixpanel (mixpanel-api.md)."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fake_mixpanel import (
    DEFAULT_API_SECRET,
    DEFAULT_SA_SECRET,
    DEFAULT_SA_USERNAME,
    DEFAULT_TOKEN,
    FakeMixpanel,
)
from tests.fake_mixpanel.endpoints import SECRET_AUTH_ERROR

NOW = 1_750_000_000  # 2025-06-15, the fake's frozen clock in these tests
TOKEN_AUTH = (DEFAULT_TOKEN, "")
SA_AUTH = (DEFAULT_SA_USERNAME, DEFAULT_SA_SECRET)
BAD_SA = "Invalid service account credentials"
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
_ids = itertools.count()


@pytest.fixture
def mp() -> Iterator[FakeMixpanel]:
    with FakeMixpanel(clock=lambda: NOW) as fake:
        yield fake


def record(event: Any = "Signed Up", drop: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    """A valid /import record; `props` use `_` for `$` (`_insert_id=` → `$insert_id`)."""
    properties = {"time": NOW, "distinct_id": "user-1", "$insert_id": f"id-{next(_ids)}"}
    properties.update({k.replace("_insert_id", "$insert_id"): v for k, v in props.items()})
    return {"event": event, "properties": {k: v for k, v in properties.items() if k not in drop}}


def post_import(
    mp: FakeMixpanel | str, body: Any, *, auth: Any = TOKEN_AUTH, query: str = "strict=1", **kw: Any
) -> requests.Response:
    """POST to /import of a fake (or of a base URL) as segmix does: JSON, Basic auth."""
    url = mp if isinstance(mp, str) else mp.url
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return requests.post(f"{url}/import?{query}", data=body, auth=auth, headers=headers, **kw)


def control(mp: FakeMixpanel | str, method: str, name: str, **kw: Any) -> Any:
    """Call the `/_fake/` API the way a test in another process would."""
    url = mp if isinstance(mp, str) else mp.url
    response = requests.request(method, f"{url}/_fake/{name}", timeout=5, **kw)
    return response.json() if response.ok else response.status_code


def post_profiles(mp: FakeMixpanel, path: str, updates: Any, verbose: bool = True, **kw: Any):
    return requests.post(f"{mp.url}{path}{'?verbose=1' if verbose else ''}", json=updates, **kw)


def post_track(mp: FakeMixpanel, data: str, query: str = "verbose=1") -> requests.Response:
    return requests.post(f"{mp.url}/track?{query}", data={"data": data})


# -- /import validation ------------------------------------------------------------------------

INVALID = {
    "event missing": ({"properties": record()["properties"]}, "event"),
    "event blank": (record("  "), "event"),
    "event not a string": (record(42), "event"),
    "time missing": (record(drop=("time",)), "properties.time"),
    "time as string": (record(time=str(NOW)), "properties.time"),
    "time as bool": (record(time=True), "properties.time"),
    "time with a fraction": (record(time=NOW + 0.5), "properties.time"),
    "time before 1971": (record(time=31_535_999), "properties.time"),
    "1971 in ms is read as seconds": (record(time=31_536_000_000), "properties.time"),
    "time over 1 h ahead": (record(time=NOW + 3601), "properties.time"),
    "time over 1 h ahead in ms": (record(time=(NOW + 3601) * 1000), "properties.time"),
    "distinct_id missing": (record(drop=("distinct_id",)), "properties.distinct_id"),
    "distinct_id a number": (record(distinct_id=42), "properties.distinct_id"),
    "distinct_id null text": (record(distinct_id="null"), "properties.distinct_id"),
    "distinct_id upper-case": (record(distinct_id=" Anonymous "), "properties.distinct_id"),
    "distinct_id zero uuid": (record(distinct_id=ZERO_UUID), "properties.distinct_id"),
    "insert_id missing": (record(drop=("$insert_id",)), "$insert_id"),
    "insert_id with colon": (record(_insert_id="ajs:1"), "$insert_id"),
    "insert_id 37 bytes": (record(_insert_id="a" * 37), "$insert_id"),
    "insert_id placeholder": (record(_insert_id="UNDEFINED"), "$insert_id"),
    "insert_id a number": (record(_insert_id=7), "$insert_id"),
    "lone surrogate": (record(utm_source="\ud800"), "properties.utm_source"),
    "255 properties": (record(**{f"p{i}": i for i in range(252)}), "properties"),
    "nested 4 levels": (record(deep={"a": {"b": {"c": {}}}}), "properties.deep"),
    "list of 255 items": (record(tags=list(range(255))), "properties.tags"),
    "object over 8 KB": (record(blob={"k": "x" * 8000}), "properties.blob"),
    "extra top-level key": (record() | {"token": "t"}, "token"),
    "not an object": ("Signed Up", "record"),
}
VALID = {
    "time in ms": record(time=NOW * 1000),
    "integral float time": record(time=float(NOW)),
    "time exactly 1971": record(time=31_536_000),
    "time within the hour ahead": record(time=NOW + 3600),
    "empty distinct_id": record(distinct_id=""),
    "insert_id of 36 bytes": record(_insert_id="a" * 36),
    "254 properties": record(**{f"p{i}": i for i in range(251)}),
    "no properties beyond the required": record(),
}


@pytest.mark.parametrize(("bad", "field"), INVALID.values(), ids=INVALID.keys())
def test_it_rejects_each_invalid_record_with_the_field_at_fault(mp, bad, field):
    response = post_import(mp, [bad])
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    [failure] = response.json()["failed_records"]
    assert (failure["index"], failure["field"]) == (0, field)
    assert mp.records() == []


def test_record_of_1_mb_is_rejected_although_long_strings_alone_are_not(mp):
    [failure] = post_import(mp, [record(blob="x" * 999_900)]).json()["failed_records"]
    assert failure["field"] == "record"
    assert post_import(mp, [record(blob="x" * 990_000)]).status_code == 200


@pytest.mark.parametrize("good", VALID.values(), ids=VALID.keys())
def test_it_accepts_each_valid_edge_case(mp, good):
    response = post_import(mp, [good])
    assert response.json() == {"code": 200, "num_records_imported": 1, "status": "OK"}
    assert [r["properties"] for r in mp.records()] == [good["properties"]]


def test_known_messages_are_mixpanels_own_texts(mp):
    body = post_import(mp, [record(""), record(_insert_id="a:b"), record(x="\udc80")]).json()
    messages = [f["message"] for f in body["failed_records"]]
    assert messages == [
        "'event' must not be missing or blank",
        "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters",
        "properties.x is invalid: string should be valid utf8",
    ]


def test_invalid_utf8_bytes_fail_only_their_record(mp):
    body = b'[{"event":"A","properties":{"time":%d,"distinct_id":"u","$insert_id":"i1",' % NOW
    body += b'"utm_source":"\xff\xfe"}}]'
    [failure] = post_import(mp, body).json()["failed_records"]
    assert failure["field"] == "properties.utm_source"


def test_partial_400_lists_failures_by_index_and_ingests_the_rest(mp):
    records = [record("A"), record("B", time="now", _insert_id="bad-1"), record("C"), record("")]
    body = post_import(mp, records).json()
    assert body["code"] == 400 and body["status"] == "Bad Request"
    assert body["error"] == "some data points in the request failed validation"
    assert body["num_records_imported"] == 2
    assert [(f["index"], f["insert_id"]) for f in body["failed_records"]] == [
        (1, "bad-1"),
        (3, records[3]["properties"]["$insert_id"]),
    ]
    assert [(r["event"], r["index"]) for r in mp.records("/import")] == [("A", 0), ("C", 2)]
    assert mp.stats()["failed_records"] == 2


def test_failed_records_can_use_the_older_dollar_insert_id_key():
    with FakeMixpanel(clock=lambda: NOW, failed_id_key="$insert_id") as mp:
        [failure] = post_import(mp, [record(_insert_id="x:y")]).json()["failed_records"]
    assert failure["$insert_id"] == "x:y" and "insert_id" not in failure


def test_strict_0_drops_invalid_records_silently_and_missing_strict_means_1(mp):
    no_id = record("B", drop=("$insert_id",))  # gets a generated id: never deduplicated
    response = post_import(mp, [record("A"), record(""), no_id, no_id], query="strict=0")
    assert response.json() == {"code": 200, "num_records_imported": 3, "status": "OK"}
    assert [r["event"] for r in mp.deduped()] == ["A", "B", "B"]
    assert mp.stats()["dropped_records"] == 1
    assert post_import(mp, [record("")], query="").status_code == 400


# -- dedup -------------------------------------------------------------------------------------


def test_dedup_view_keeps_one_per_key_while_raw_list_keeps_every_arrival(mp):
    first = record("Order", _insert_id="ord-1", city="Paris")
    same_key = record("Order", _insert_id="ord-1", city="Lyon")  # other properties ignored
    same_instant_in_ms = record("Order", _insert_id="ord-1", time=NOW * 1000)
    other_time = record("Order", _insert_id="ord-1", time=NOW - 1)
    post_import(mp, [first, same_key])
    post_import(mp, [same_instant_in_ms, other_time])
    assert len(mp.records()) == 4
    deduped = mp.deduped()
    assert [(d["copies"], d["properties"]["time"]) for d in deduped] == [
        (3, NOW * 1000),
        (1, NOW - 1),
    ]
    stats = mp.stats()
    assert (stats["events"], stats["distinct_dedup_keys"], stats["duplicates"]) == (4, 2, 2)


# -- /import auth, body and limits -------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "query", "mode"),
    [
        (SA_AUTH, "strict=1&project_id=123", "service_account"),
        (TOKEN_AUTH, "strict=1", "project_token"),
        ((DEFAULT_API_SECRET, ""), "strict=1", "api_secret"),
    ],
)
def test_each_auth_mode_reaches_the_project(mp, auth, query, mode):
    assert post_import(mp, [record()], auth=auth, query=query).status_code == 200
    assert mp.requests("/import")[0]["auth"] == mode


def test_plain_text_basic_credentials_are_accepted(mp):
    headers = {"Authorization": f"Basic {DEFAULT_TOKEN}:"}
    assert post_import(mp, [record()], auth=None, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("auth", "query", "error"),
    [
        (SA_AUTH, "strict=1", SECRET_AUTH_ERROR),
        (("wrong-secret", ""), "strict=1", SECRET_AUTH_ERROR),
        ((DEFAULT_SA_USERNAME, "nope"), "strict=1&project_id=123", BAD_SA),
        (SA_AUTH, "strict=1&project_id=999", BAD_SA),
        (None, "strict=1", "Invalid credentials"),
    ],
)
def test_bad_credentials_get_401_with_mixpanels_body(mp, auth, query, error):
    response = post_import(mp, [record()], auth=auth, query=query)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "error": error, "status": "Unauthorized"}
    assert mp.records() == []


def test_gzip_and_ndjson_bodies_are_read(mp):
    gz = gzip.compress(json.dumps([record("Gz")]).encode())
    assert post_import(mp, gz, headers={"Content-Encoding": "gzip"}).status_code == 200
    ndjson = "\n".join(json.dumps(record(f"Nd{i}")) for i in range(2)).encode()
    response = post_import(mp, ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert response.json()["num_records_imported"] == 2
    assert [r["event"] for r in mp.records()] == ["Gz", "Nd0", "Nd1"]
    assert mp.requests()[0]["body"][0]["event"] == "Gz"  # the log holds the decoded body


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"}),
        (b"[1,", {}),
        (b'[{"event": NaN}]', {}),
        (b"[]", {}),
        (json.dumps(record()).encode(), {}),  # an object, not an array
        (json.dumps([record()]).encode(), {"Content-Type": "text/plain"}),
        (json.dumps([record()]).encode(), {"Content-Encoding": "br"}),
    ],
)
def test_unreadable_bodies_get_400_without_failed_records(mp, body, headers):
    response = post_import(mp, body, headers=headers)
    assert response.status_code == 400
    assert "failed_records" not in response.json()


def test_more_than_2000_records_get_413(mp):
    response = post_import(mp, [record() for _ in range(2001)])
    assert response.status_code == 413
    assert response.json()["error"] == "request exceeds max limit of 2000 records"


@pytest.mark.parametrize("compress", [False, True])
def test_body_over_the_uncompressed_limit_gets_413_even_gzipped(compress):
    body = json.dumps([record(pad="x" * 200) for _ in range(10)]).encode()
    headers = {"Content-Encoding": "gzip"} if compress else {}
    with FakeMixpanel(clock=lambda: NOW, max_body_bytes=1000) as mp:
        response = post_import(mp, gzip.compress(body) if compress else body, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"] == "request exceeds max limit of 1000 bytes"


# -- scripted faults ---------------------------------------------------------------------------


def test_scripted_429_fires_once_without_ingesting(mp):
    mp.script("/import", status=429, headers={"Retry-After": "2"})
    first = post_import(mp, [record(_insert_id="r-1")])
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert first.json()["error"].startswith("Project exceeded rate limits")
    assert mp.records() == []
    assert post_import(mp, [record(_insert_id="r-1")]).status_code == 200
    assert len(mp.records()) == 1 and mp.requests()[0]["scripted"]


def test_scripts_match_by_prefix_in_fifo_order_and_count_down(mp):
    mp.script("/engage", status=500)
    mp.script("/import", status=503, times=2)
    mp.script("/import", status=401, body={"error": "custom"})
    codes = [post_import(mp, [record()]).status_code for _ in range(4)]
    assert codes == [503, 503, 401, 200]
    assert mp.requests()[2]["response"] == {"error": "custom"}
    assert mp.stats()["scripts_pending"] == 1


def test_scripted_response_with_ingest_stores_the_body(mp):
    mp.script("/import", status=500, ingest=True)
    assert post_import(mp, [record("Kept")]).status_code == 500
    assert [r["event"] for r in mp.records()] == ["Kept"]


def test_delay_makes_clients_time_out_and_nothing_is_ingested(mp):
    mp.script("/import", status=200, delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        post_import(mp, [record()], timeout=0.2)
    assert post_import(mp, [record()], timeout=5).status_code == 200
    assert len(mp.records()) == 1


def test_delay_without_status_is_a_slow_real_answer(mp):
    mp.script("/import", delay=0.2, headers={"X-Slow": "1"})
    response = post_import(mp, [record("")])
    assert response.status_code == 400 and response.headers["X-Slow"] == "1"


@pytest.mark.parametrize("ingest", [False, True])
def test_close_drops_the_connection_without_a_response(mp, ingest):
    mp.script("/import", close=True, ingest=ingest)
    with pytest.raises(requests.ConnectionError):
        post_import(mp, [record()])
    assert len(mp.records()) == int(ingest)
    assert mp.stats()["responses_by_status"] == {"closed": 1}


# -- /engage and /groups -----------------------------------------------------------------------


def engage(op: str, value: Any, distinct_id: Any = "user-1", **extra: Any) -> dict[str, Any]:
    return {"$token": DEFAULT_TOKEN, "$distinct_id": distinct_id, op: value, **extra}


def test_engage_applies_each_operation_to_the_profile(mp):
    updates = [
        engage("$set", {"plan": "free", "n": 1, "tags": ["a"], "gone": 1}, **{"$ip": "1.2.3.4"}),
        engage("$set_once", {"plan": "pro", "first": "x"}),
        engage("$add", {"n": 2, "spent": 9.5}),
        engage("$union", {"tags": ["a", "b"]}),
        engage("$append", {"log": "e1"}),
        engage("$remove", {"tags": "a"}),
        engage("$unset", ["gone"]),
        engage("$set", {"x": 1}, distinct_id="user-2"),
        engage("$delete", "", distinct_id="user-2"),
    ]
    response = post_profiles(mp, "/engage", updates)
    assert response.json() == {"status": 1, "error": None}
    assert response.headers["Content-Type"] == "application/json"
    assert mp.profiles() == {
        "user-1": {"plan": "free", "n": 3, "tags": ["b"], "first": "x", "spent": 9.5, "log": ["e1"]}
    }
    post_profiles(mp, "/engage", [engage("$add", {"n": -1})])
    assert mp.add_totals() == {"user-1": {"n": 1, "spent": 9.5}}


BAD_UPDATES = {
    "no $token": {"$distinct_id": "u", "$set": {}},
    "unknown token": engage("$set", {}) | {"$token": "other"},
    "null distinct_id": engage("$set", {"a": 1}, distinct_id=None),
    "placeholder distinct_id": engage("$set", {"a": 1}, distinct_id="Undefined"),
    "no operation": {"$token": DEFAULT_TOKEN, "$distinct_id": "u"},
    "two operations": engage("$set", {"a": 1}) | {"$add": {"n": 1}},
    "non-numeric $add": engage("$add", {"n": "1"}),
    "$unset not a list": engage("$unset", "a"),
    "unknown key": engage("$set", {"a": 1}, distinct_id="u", foo=1),
    "distinct_id key spelled without $": {"$token": DEFAULT_TOKEN, "distinct_id": "u", "$set": {}},
}


@pytest.mark.parametrize("bad", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_engage_answers_status_0_for_each_invalid_update(mp, bad):
    response = post_profiles(mp, "/engage", [bad])
    assert response.status_code == 200
    assert response.json()["status"] == 0 and response.json()["error"]
    assert mp.profile_updates() == []


def test_engage_batch_with_one_bad_update_answers_0_but_applies_the_good_ones(mp):
    response = post_profiles(mp, "/engage", [engage("$set", {"a": 1}), BAD_UPDATES["no operation"]])
    assert response.json()["status"] == 0 and "update 1" in response.json()["error"]
    assert mp.profile("user-1") == {"a": 1}


def test_engage_answers_text_without_verbose_refuses_gzip_and_reads_form_data(mp):
    good = post_profiles(mp, "/engage", [engage("$set", {"a": 1})], verbose=False)
    assert (good.text, good.headers["Content-Type"]) == ("1", "text/plain; charset=utf-8")
    assert post_profiles(mp, "/engage", [{}], verbose=False).text == "0"
    gz = gzip.compress(json.dumps([engage("$set", {"a": 1})]).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    refused = requests.post(f"{mp.url}/engage?verbose=1", data=gz, headers=headers)
    assert refused.json()["status"] == 0 and "gzip" in refused.json()["error"]
    form = requests.post(
        f"{mp.url}/engage?verbose=1", data={"data": json.dumps(engage("$set", {"b": 2}))}
    )
    assert form.json() == {"status": 1, "error": None}
    assert mp.profile("user-1") == {"a": 1, "b": 2}


def test_groups_update_group_profiles_and_refuse_user_shapes(mp):
    group = {"$token": DEFAULT_TOKEN, "$group_key": "company_id", "$group_id": "acme"}
    assert post_profiles(mp, "/groups", [group | {"$set": {"name": "Acme"}}]).json()["status"] == 1
    assert mp.group_profile("company_id", "acme") == {"name": "Acme"}
    for bad in (
        group | {"$set": {"a": 1}, "$distinct_id": "u"},
        group | {"$add": {"n": 1}},
        group | {"$append": {"l": 1}},
        {"$token": DEFAULT_TOKEN, "$group_key": "company_id", "$set": {"a": 1}},
    ):
        assert post_profiles(mp, "/groups", [bad]).json()["status"] == 0
    assert len(mp.profile_updates("/groups")) == 1


# -- /track ------------------------------------------------------------------------------------


def track_event(event: str, **props: Any) -> dict[str, Any]:
    return {"event": event, "properties": {"token": DEFAULT_TOKEN, **props}}


def identify(**props: Any) -> dict[str, Any]:
    anon_id = "0b6d9c1e-7f3a-4b2c-9d8e-1a2b3c4d5e6f"
    return track_event("$identify", **{"$identified_id": "user-1", "$anon_id": anon_id, **props})


def test_track_reads_form_data_as_json_or_base64(mp):
    alias = track_event("$create_alias", distinct_id="a", alias="b")
    assert post_track(mp, json.dumps([identify(), alias])).json() == {"status": 1, "error": None}
    encoded = base64.b64encode(json.dumps(identify(time=NOW)).encode()).decode()
    assert post_track(mp, encoded, query="").text == "1"
    assert [(r["endpoint"], r["event"]) for r in mp.records()] == [
        ("/track", "$identify"),
        ("/track", "$create_alias"),
        ("/track", "$identify"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        track_event("$create_alias", distinct_id="a"),
        identify(**{"$identified_id": ""}),
        identify(time=NOW - 6 * 86_400),  # /track only takes the last 5 days
        track_event("$merge", **{"$distinct_ids": ["a", "b"]}),
        identify(**{"$insert_id": "a:b"}),
    ],
)
def test_track_answers_0_for_invalid_events(mp, bad):
    assert post_track(mp, json.dumps([bad])).json()["status"] == 0
    assert mp.records() == []


def test_track_drops_an_unknown_token_silently(mp):
    assert post_track(mp, json.dumps([identify(token="other")])).json()["status"] == 1
    assert mp.records() == [] and mp.stats()["dropped_records"] == 1


# -- credential checks -------------------------------------------------------------------------


def test_validate_project_credentials(mp):
    url = f"{mp.url}/api/app/validate-project-credentials/"
    headers = {"Content-Type": "text/plain;charset=UTF-8"}
    good = json.dumps({"api_secret": DEFAULT_API_SECRET, "project_token": DEFAULT_TOKEN})
    response = requests.post(url, data=good, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    bad = json.dumps({"api_secret": "nope", "project_token": DEFAULT_TOKEN})
    assert requests.post(url, data=bad, headers=headers).status_code == 401


def test_me_lists_the_service_accounts_projects(mp):
    response = requests.get(f"{mp.url}/api/app/me", auth=SA_AUTH)
    assert response.status_code == 200
    assert response.json()["results"]["projects"]["123"]["id"] == 123
    assert requests.get(f"{mp.url}/api/app/me", auth=(DEFAULT_SA_USERNAME, "x")).status_code == 401
    assert requests.get(f"{mp.url}/api/app/me").status_code == 401


# -- control API, concurrency, standalone process ----------------------------------------------


def test_control_api_scripts_inspects_and_resets(mp):
    assert control(mp, "POST", "script", json={"path": "/import", "status": 502}) == {"queued": 1}
    assert post_import(mp, [record()]).status_code == 502
    post_import(mp, [record("Seen")])
    assert [r["event"] for r in control(mp, "GET", "records")["records"]] == ["Seen"]
    assert control(mp, "GET", "stats")["requests_by_path"] == {"/import": 2}
    assert len(control(mp, "GET", "requests", params={"path": "/import"})["requests"]) == 2
    assert control(mp, "POST", "script", json={"path": "/x", "nope": 1}) == 400
    assert control(mp, "POST", "config", json={"latency_ms": 150}) == {"latency_ms": 150}
    assert post_import(mp, [record()]).elapsed.total_seconds() >= 0.15
    control(mp, "POST", "reset")
    assert mp.stats()["requests"] == 0 and mp.records() == []


def test_bodies_are_not_recorded_when_disabled():
    with FakeMixpanel(clock=lambda: NOW, record_bodies=False) as mp:
        post_import(mp, [record()])
        assert mp.requests()[0]["body"] is None and len(mp.records()) == 1


def test_concurrent_requests_are_all_counted(mp):
    def send(thread: int) -> None:
        for i in range(10):
            post_import(mp, [record(_insert_id=f"t{thread}-{i}"), record("")])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = mp.stats()
    assert (stats["requests"], stats["events"], stats["failed_records"]) == (80, 80, 80)
    assert stats["distinct_dedup_keys"] == 80


def test_standalone_process_serves_until_terminated():
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "tests.fake_mixpanel", "--port", "0", "--project-token", "T"]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert post_import(url, [record()], auth=("T", ""), timeout=5).status_code == 200
        assert control(url, "GET", "stats")["events"] == 1
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
