"""The Tracking API's HTTP surface (spec §2, §3, §6.1, §6.4): routes, methods, headers, CORS,
the settings endpoint, /v1/forward, /v1/m, chunked bodies and rate limits.

The §8 table's rows are in ``test_bad_inputs_http.py``; the transaction itself in
``test_store.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import requests
from django.db import OperationalError, connection
from django.test import RequestFactory

from mappings.ingest import envelope, views
from mappings.models import Event, IngestRequest, RejectedMessage
from tests.ingest.http_support import (
    STANDARD_HEADERS,
    assert_error,
    basic,
    batch,
    counts,
    isolated_ingest,  # noqa: F401 - fixture
    make_source,
    nothing_stored_but_log,
    post,
    track,
)
from tests.processes import free_port

pytestmark = pytest.mark.django_db
SINGLE_ROUTES = {"track": "track", "identify": "identify", "page": "page", "screen": "screen"}
SINGLE_ROUTES |= {"group": "group", "alias": "alias"}
SINGLE_ROUTES |= {"t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group"}
SINGLE_ROUTES |= {"a": "alias"}
COMPLETE = {"userId": "u1", "event": "E", "groupId": "g1", "previousId": "p1", "messageId": "m1"}


@pytest.fixture
def source():
    return make_source()


# --- routes and methods ------------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize(("segment", "kind"), sorted(SINGLE_ROUTES.items()))
def test_single_message_routes_force_their_type(client, source, segment, kind, slash):
    body = {**COMPLETE, "type": "purchase", "writeKey": source.write_key}
    response = post(client, f"/v1/{segment}{slash}?x=1", body, content_type="text/plain")
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    event = Event.objects.get()
    assert (event.type, event.message["type"]) == (kind, kind)
    assert "writeKey" not in event.message and "writeKey" not in event.raw


def test_the_single_routes_are_the_ones_normalize_knows():
    assert set(SINGLE_ROUTES) | {"batch", "b", "import"} == set(envelope.ROUTE_TYPES)


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/b", "/v1/import", "/v1/batch/", "/v1/b/"])
def test_batch_routes_are_handled_identically(client, source, path):
    response = post(
        client, path, batch(track(1), {**track(2), "type": "identify"}), key=source.write_key
    )
    assert response.status_code == 200
    assert sorted(Event.objects.values_list("type", flat=True)) == ["identify", "track"]
    assert IngestRequest.objects.get().route == path.strip("/").split("/")[1]


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head"])
def test_other_methods_get_405_with_allow(client, source, method):
    response = getattr(client, method)("/v1/batch")
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    if method != "head":
        assert_error(response, 405, "method_not_allowed")
    nothing_stored_but_log(405, "method_not_allowed")


@pytest.mark.parametrize(
    "path", ["/v1/nope", "/v1/nope/", "/v1", "/v1/", "/v1/batch/extra", "/v1/v1/batch"]
)
def test_unknown_v1_paths_are_a_json_404_and_never_redirect(client, path):
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        assert_error(response, 404, "not_found")
    assert IngestRequest.objects.filter(status=404, code="not_found").count() == 2


def test_djangos_own_error_pages_are_json_under_v1_only():
    factory = RequestFactory()
    for handler, args in (
        (views.page_not_found, (Exception(),)),
        (views.bad_request, (Exception(),)),
        (views.server_error, ()),
    ):
        ingest = handler(factory.get("/v1/batch"), *args)
        assert ingest["Content-Type"] == "application/json"
        assert orjson.loads(ingest.content)["success"] is False
        assert ingest.has_header("X-Request-Id")
        console = handler(factory.get("/settings/"), *args)
        assert console["Content-Type"].startswith("text/html")
    assert (
        orjson.loads(views.server_error(factory.get("/v1/x")).content)["code"] == "internal_error"
    )


def test_the_site_urlconf_installs_the_json_handlers():
    from segmix_site import urls

    assert urls.handler404 == "mappings.ingest.views.page_not_found"
    assert urls.handler500 == "mappings.ingest.views.server_error"
    assert urls.handler400 == "mappings.ingest.views.bad_request"


def test_an_unexpected_fault_is_a_json_500_and_stores_nothing(client, source, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(views, "normalize_request", crash)
    response = post(client, "/v1/batch", batch(track(1)), key=source.write_key)
    assert_error(response, 500, "internal_error")
    assert "bug" not in response.content.decode()
    nothing_stored_but_log(500, "internal_error")


# --- headers and CORS --------------------------------------------------------------------------


def test_every_answer_carries_the_standard_headers(client, source):
    answers = [
        post(client, "/v1/batch", batch(track(1)), key=source.write_key),
        post(client, "/v1/batch", b"{", key=source.write_key),
        post(client, "/v1/batch", batch(), key="nope"),
        client.get("/v1/batch"),
        client.get("/v1/zzz"),
        client.options("/v1/batch"),
    ]
    ids = set()
    for response in answers:
        for header in STANDARD_HEADERS:
            assert response.has_header(header), (response.status_code, header)
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "no-store"
        assert response["Access-Control-Allow-Origin"] == "*"
        assert not response.has_header("Access-Control-Allow-Credentials")
        ids.add(response["X-Request-Id"])
    assert len(ids) == len(answers)
    assert IngestRequest.objects.get(status=200).request_id == answers[0]["X-Request-Id"]


def test_an_origin_is_echoed_with_credentials_and_vary(client, source):
    response = post(
        client, "/v1/t", {**COMPLETE, "writeKey": source.write_key}, Origin="https://shop.example"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response["Vary"]


def test_a_preflight_needs_no_auth_and_echoes_the_requested_headers(client):
    response = client.options(
        "/v1/t/",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-custom",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "authorization, content-type, x-custom"
    assert response["Access-Control-Max-Age"] == "86400"
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert counts()["requests"] == 0  # preflights are not logged


def test_a_preflight_without_requested_headers_allows_the_sdk_ones(client):
    response = client.options("/v1/batch")
    allowed = response["Access-Control-Allow-Headers"]
    for header in ("Content-Type", "Authorization", "X-Retry-Count", "Content-Encoding"):
        assert header in allowed


# --- the request log ---------------------------------------------------------------------------


def test_an_accepted_request_is_logged_with_its_facts(client, source):
    body = batch(track(1), {"type": "track"})
    response = post(
        client,
        "/v1/batch",
        body,
        key=source.write_key,
        gzipped=True,
        content_type="text/plain",
        **{"User-Agent": "analytics-python/2.4.0", "X-Retry-Count": "2"},
    )
    assert response.status_code == 200
    row = IngestRequest.objects.get()
    assert (row.source_id, row.key_prefix, row.route, row.status, row.code) == (
        source.id,
        source.write_key[:6],
        "batch",
        200,
        "",
    )
    assert row.wire_bytes == len(gzip.compress(body)) and row.decoded_bytes == len(body)
    assert (row.content_encoding, row.content_type, row.user_agent) == (
        "gzip",
        "text/plain",
        "analytics-python/2.4.0",
    )
    assert (row.ip, row.retry_count, row.accepted, row.rejected) == ("127.0.0.1", 2, 1, 1)
    assert row.body_excerpt == "" and row.duration_ms > 0


def test_a_refused_request_keeps_the_first_2_kb_of_its_decoded_body(client, source):
    body = b'{"batch": "' + b"x" * 5000 + b'"}'
    response = post(client, "/v1/batch", body, key=source.write_key, gzipped=True)
    assert_error(response, 400, "invalid_body")
    row = IngestRequest.objects.get()
    assert row.body_excerpt == body[:2048].decode()
    assert (row.source_id, row.decoded_bytes) == (source.id, len(body))


def test_the_client_ip_comes_from_trusted_proxies_only(client, source, settings):
    message = {**COMPLETE, "writeKey": source.write_key, "context": {"direct": True}}
    headers = {"X-Forwarded-For": "203.0.113.9, 10.0.0.7"}
    post(client, "/v1/t", message, REMOTE_ADDR="10.0.0.1", **headers)
    settings.SEGMIX_TRUSTED_PROXIES = ["10.0.0.0/8"]
    post(client, "/v1/t", {**message, "messageId": "m2"}, REMOTE_ADDR="10.0.0.1", **headers)
    ips = list(IngestRequest.objects.order_by("id").values_list("ip", flat=True))
    assert ips == ["10.0.0.1", "203.0.113.9"]
    assert Event.objects.get(message_id="m2").message["context"]["ip"] == "203.0.113.9"


# --- settings endpoint (§2.2) ------------------------------------------------------------------


def test_the_settings_endpoint_points_sdks_at_segmix(client, source, settings):
    settings.SEGMIX_PUBLIC_INGEST_HOST = "https://ingest.example.com/"
    response = client.get(
        f"/v1/projects/{source.write_key}/settings", headers={"Origin": "https://a.b"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "integrations": {
            "Segment.io": {
                "apiKey": source.write_key,
                "apiHost": "ingest.example.com/v1",
                "protocol": "https",
            }
        },
        "plan": {"track": {"__default": {"enabled": True}}},
        "edgeFunction": {},
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "remotePlugins": [],
    }
    assert response["Access-Control-Allow-Origin"] == "https://a.b"
    assert response["Cache-Control"] == "no-store"


def test_the_settings_host_defaults_to_the_request_host(client, source, settings):
    settings.SEGMIX_PUBLIC_INGEST_HOST = ""
    response = client.get(f"/v1/projects/{source.write_key}/settings/", HTTP_HOST="localhost")
    assert response.json()["integrations"]["Segment.io"]["apiHost"] == "localhost/v1"


def test_unknown_or_disabled_keys_have_no_settings(client, source):
    assert_error(client.get("/v1/projects/nope/settings"), 404, "not_found")
    source.enabled = False
    source.save()
    assert_error(client.get(f"/v1/projects/{source.write_key}/settings"), 404, "not_found")
    response = client.post(f"/v1/projects/{source.write_key}/settings")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, OPTIONS"
    assert client.options("/v1/projects/x/settings").status_code == 204


def test_the_settings_endpoint_answers_503_when_the_database_is_down(client, monkeypatch):
    def down(key):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "lookup_source", down)
    response = client.get("/v1/projects/wk_x/settings")
    assert_error(response, 503, "storage_unavailable")
    assert response["Retry-After"] == "5"


# --- /v1/m ---------------------------------------------------------------------------------------


def test_telemetry_is_acknowledged_and_discarded(client):
    response = post(client, "/v1/m", {"series": [{"type": "Counter"}]})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert counts() == {"events": 0, "deliveries": 0, "rejects": 0, "requests": 1}
    too_big = post(client, "/v1/m/", b"x" * (64 * 1024 + 1))
    assert_error(too_big, 413, "request_too_large")


# --- /v1/forward (§2.3) ------------------------------------------------------------------------


def forwarded(n, **fields):
    return {
        **track(n),
        "writeKey": "segments-own-key",
        "sentAt": "2026-03-10T11:58:01.000Z",
        "receivedAt": "2026-03-10T11:58:02.000Z",
        "originalTimestamp": "2026-03-10T11:57:59.000Z",
        **fields,
    }


def test_forward_requires_the_basic_header_before_reading(client, source):
    assert_error(post(client, "/v1/forward", forwarded(1)), 401, "missing_write_key")
    bearer = post(client, "/v1/forward", forwarded(1), Authorization="Bearer x")
    assert_error(bearer, 401, "missing_write_key")
    assert list(IngestRequest.objects.values_list("wire_bytes", flat=True)) == [0, 0]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("shape", ["object", "array", "envelope"])
def test_forward_accepts_one_message_an_array_or_a_batch(client, source, shape):
    messages = [forwarded(1), forwarded(2)]
    body = {"object": messages[0], "array": messages, "envelope": {"batch": messages}}[shape]
    response = post(client, "/v1/forward/", body, key=source.write_key)
    assert response.status_code == 200, response.content
    events = list(Event.objects.order_by("batch_index"))
    assert len(events) == (1 if shape == "object" else 2)
    stored = events[0].message
    assert (stored["sentAt"], stored["receivedAt"], stored["originalTimestamp"]) == (
        "2026-03-10T11:58:01.000Z",
        "2026-03-10T11:58:02.000Z",
        "2026-03-10T11:57:59.000Z",
    )
    assert stored["timestamp"] == "2026-03-10T11:58:00.000Z"
    assert "writeKey" not in stored  # Segment's key: stripped, never compared


def test_forward_takes_bodies_up_to_8_mib(client, source):
    padding = "p" * 2000
    messages = [forwarded(n, properties={"pad": padding}) for n in range(3000)]
    body = orjson.dumps(messages)
    assert 1024 * 1024 < len(body) < 8 * 1024 * 1024
    assert post(client, "/v1/forward", body, key=source.write_key).status_code == 200
    assert Event.objects.count() == 3000
    over = post(
        client, "/v1/forward", b"[]", key=source.write_key, CONTENT_LENGTH=str(8 * 2**20 + 1)
    )
    assert_error(over, 413, "request_too_large")


@pytest.fixture
def signed_source():
    source = make_source("signed")
    source.set_forward_secret("s3cret")
    source.save()
    return source


def sign(data: bytes) -> str:
    return hmac.new(b"s3cret", data, hashlib.sha1).hexdigest()


def test_a_signed_object_body_is_checked_over_its_raw_bytes(client, signed_source):
    body = b'{"type": "track",  "event": "E", "userId": "u", "messageId": "m"}'
    ok = post(
        client, "/v1/forward", body, key=signed_source.write_key, **{"X-Signature": sign(body)}
    )
    assert ok.status_code == 200
    tampered = body.replace(b'"E"', b'"F"')
    response = post(
        client, "/v1/forward", tampered, key=signed_source.write_key, **{"X-Signature": sign(body)}
    )
    assert_error(response, 401, "invalid_signature")
    unsigned = post(client, "/v1/forward", body, key=signed_source.write_key)
    assert_error(unsigned, 401, "invalid_signature")
    assert Event.objects.count() == 1


def test_a_signed_array_is_checked_over_the_exact_bytes_of_element_0(client, signed_source):
    first = (
        b'{ "type":"track", "event":"caf\\u00e9 \xf0\x9f\x9a\x80", "userId":"u", "messageId":"m1" }'
    )
    body = b" [ " + first + b' ,\n{"type":"page","userId":"u","messageId":"m2"}]'
    response = post(
        client, "/v1/forward", body, key=signed_source.write_key, **{"X-Signature": sign(first)}
    )
    assert response.status_code == 200, response.content
    assert Event.objects.count() == 2
    reserialised = orjson.dumps(orjson.loads(first))
    wrong = post(
        client,
        "/v1/forward",
        body.replace(b"m1", b"m3").replace(b"m2", b"m4"),
        key=signed_source.write_key,
        **{"X-Signature": sign(reserialised)},
    )
    assert_error(wrong, 401, "invalid_signature")


def test_sources_without_a_secret_ignore_signatures(client, source):
    response = post(
        client, "/v1/forward", forwarded(1), key=source.write_key, **{"X-Signature": "bad"}
    )
    assert response.status_code == 200


# --- chunked bodies ------------------------------------------------------------------------------


def chunked_post(client, path, body: bytes, **headers):
    """What gunicorn hands Django for ``Transfer-Encoding: chunked``: no Content-Length, the
    de-chunked stream in ``wsgi.input`` and ``wsgi.input_terminated``."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "CONTENT_TYPE": "application/json",
    }
    environ.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    request = client.request(**environ)
    return request


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_chunked_body_is_read_through_wsgi_input(client, source, gzipped):
    body = batch(track(1), track(2))
    headers = {"Authorization": basic(source.write_key)}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    response = chunked_post(client, "/v1/import", body, **headers)
    assert response.status_code == 200, response.content
    assert Event.objects.count() == 2


def test_a_chunked_body_over_the_cap_is_413(client, source):
    response = chunked_post(
        client, "/v1/batch", b" " * (1024 * 1024 + 1), Authorization=basic(source.write_key)
    )
    assert_error(response, 413, "request_too_large")
    assert Event.objects.count() == 0


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_chunked_uploads_through_gunicorn_are_stored():
    source = make_source("chunky")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "DEBUG": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "segmix_site.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, server.stderr
                time.sleep(0.2)
        plain = batch(track(1), track(2))
        packed = gzip.compress(batch(track(3)))

        def pieces(data: bytes):  # a generator body makes requests send Transfer-Encoding: chunked
            for start in range(0, len(data), 7):
                yield data[start : start + 7]

        url = f"http://127.0.0.1:{port}/v1/import"
        auth = {"Authorization": basic(source.write_key)}
        first = requests.post(url, data=pieces(plain), headers=auth, timeout=10)
        second = requests.post(
            url, data=pieces(packed), headers={**auth, "Content-Encoding": "gzip"}, timeout=10
        )
        assert (first.status_code, second.status_code) == (200, 200), first.text + second.text
        assert first.request.headers.get("Transfer-Encoding") == "chunked"
        assert sorted(Event.objects.values_list("message_id", flat=True)) == [
            "msg-1",
            "msg-2",
            "msg-3",
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- rate limits (§6.4, §3) ----------------------------------------------------------------------


def test_a_source_over_its_request_rate_gets_429_and_others_do_not(client):
    limited = make_source("limited", rate_limit_requests=2)
    other = make_source("other", rate_limit_requests=2)
    answers = [post(client, "/v1/batch", batch(track(n)), key=limited.write_key) for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = assert_error(answers[2], 429, "rate_limited")
    assert refused["code"] == "rate_limited"
    # Two tokens a second, both taken just now: the next one is at most 0.5 s away, rounded up.
    assert answers[2]["Retry-After"] == "1"
    assert answers[2]["X-RateLimit-Reset"] == answers[2]["Retry-After"]
    assert post(client, "/v1/batch", batch(track(9)), key=other.write_key).status_code == 200
    assert Event.objects.filter(source=limited).count() == 2
    assert IngestRequest.objects.filter(status=429, source=limited).count() == 1


def test_a_source_over_its_message_rate_gets_429(client):
    source = make_source("busy", rate_limit_messages=10)
    first = post(client, "/v1/batch", batch(*[track(n) for n in range(8)]), key=source.write_key)
    second = post(client, "/v1/b", batch(*[track(n) for n in range(8, 16)]), key=source.write_key)
    assert (first.status_code, second.status_code) == (200, 429)
    assert Event.objects.count() == 8


def test_body_key_requests_are_limited_after_parsing(client):
    source = make_source("browser", rate_limit_requests=1)
    message = {**COMPLETE, "writeKey": source.write_key}
    assert post(client, "/v1/t", message).status_code == 200
    assert_error(post(client, "/v1/t", {**message, "messageId": "m2"}), 429, "rate_limited")


def test_an_ip_with_more_than_20_401s_a_minute_is_answered_429(client, source):
    for _ in range(21):
        assert post(client, "/v1/batch", batch(track(1)), key="guess").status_code == 401
    blocked = post(client, "/v1/batch", batch(track(1)), key="guess")
    assert_error(blocked, 429, "rate_limited")
    assert blocked["Retry-After"] == "60"  # the block (60 s) started with the 21st 401, just now
    valid = post(client, "/v1/batch", batch(track(1)), key=source.write_key)
    assert valid.status_code == 429  # the whole IP waits: a valid key must not stand out
    other_ip = post(
        client, "/v1/batch", batch(track(1)), key=source.write_key, REMOTE_ADDR="10.9.9.9"
    )
    assert other_ip.status_code == 200
    assert Event.objects.count() == 1 and RejectedMessage.objects.count() == 0
