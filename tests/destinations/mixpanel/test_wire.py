"""Request building (spec §3.2, §3.4, §4, §14.2, §14.3)."""

from __future__ import annotations

import base64
import doctest
import gzip
import json
from urllib.parse import parse_qs

import pytest

from mappings.destinations.mixpanel import wire
from mappings.destinations.mixpanel.types import MixpanelSettings, Record, SettingsError

UA = "segmix/0.1.0"
TOKEN = "tok-9f2e"
SECRET = "sec-7a1b"
SA_USER = "segmix-bot.2f41c7.mp-service-account"
SA_SECRET = "sa-pass-55"


def token_only(**kw) -> MixpanelSettings:
    return MixpanelSettings(project_token=TOKEN, **kw)


def with_secret(**kw) -> MixpanelSettings:
    return MixpanelSettings(project_token=TOKEN, api_secret=SECRET, **kw)


def with_service_account(**kw) -> MixpanelSettings:
    return MixpanelSettings(
        project_token=TOKEN,
        api_secret=SECRET,
        service_account_username=SA_USER,
        service_account_secret=SA_SECRET,
        project_id="2218841",
        **kw,
    )


def event(n: int = 0, *, kind: str = "event", name: str = "Signed Up", pad: int = 0) -> Record:
    props = {"time": 1_700_000_000_000 + n, "distinct_id": "u1", "$insert_id": f"id-{n}"}
    if pad:
        props["pad"] = "x" * pad
    return Record("import", {"event": name, "properties": props}, kind, insert_id=f"id-{n}")


def profile(n: int = 0, **kw) -> Record:
    body = {"$token": TOKEN, "$distinct_id": f"u{n}", "$set": {"plan": "team"}}
    return Record("engage", body, "profile", **kw)


def build(records, settings=None, **kw):
    kw.setdefault("api_url_override", None)
    kw.setdefault("user_agent", UA)
    return wire.build_requests(records, settings or token_only(), **kw)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- URLs and auth -----------------------------------------------------------------------------

HOSTS = {"US": "https://api.mixpanel.com", "EU": "https://api-eu.mixpanel.com",
         "IN": "https://api-in.mixpanel.com"}  # fmt: skip


@pytest.mark.parametrize("region", ["US", "EU", "IN"])
@pytest.mark.parametrize(
    ("make", "query", "authorization"),
    [
        (with_service_account, "strict=1&project_id=2218841", basic(SA_USER, SA_SECRET)),
        (with_secret, "strict=1", basic(SECRET, "")),
        (token_only, "strict=1", basic(TOKEN, "")),
    ],
)
def test_import_url_and_auth_follow_region_and_credential_precedence(
    region, make, query, authorization
):
    [request] = build([event()], make(api_region=region))
    assert request.method == "POST"
    assert request.url == f"{HOSTS[region]}/import?{query}"
    assert request.headers == {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Accept": "application/json",
        "Authorization": authorization,
        "User-Agent": UA,
    }


@pytest.mark.parametrize("region", ["US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳"])
def test_it_accepts_the_emoji_region_values(region):
    [request] = build([event()], token_only(api_region=region))
    assert request.url == f"{HOSTS[region[:2]]}/import?strict=1"


def test_an_unknown_region_is_a_settings_error():
    with pytest.raises(SettingsError):
        build([event()], token_only(api_region="APAC"))


def test_strict_mode_zero_goes_in_the_query():
    [request] = build([event()], with_service_account(strict_mode="0"))
    assert request.url == "https://api.mixpanel.com/import?strict=0&project_id=2218841"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("https://proxy.internal/mixpanel/", "https://proxy.internal/mixpanel"),
    ],
)
def test_the_deployment_override_replaces_host_and_prefix_for_every_endpoint(override, expected):
    records = [event(), profile(), Record("groups", {"$group_key": "k"}, "group"),
               Record("track", {"event": "$identify", "properties": {}}, "$identify")]  # fmt: skip
    urls = [r.url for r in build(records, with_service_account(api_region="EU"),
                                 api_url_override=override)]  # fmt: skip
    assert urls == [
        f"{expected}/import?strict=1&project_id=2218841",
        f"{expected}/engage?verbose=1",
        f"{expected}/groups?verbose=1",
        f"{expected}/track?verbose=1",
    ]


def test_engage_and_groups_are_plain_json_without_auth():
    group = Record("groups", {"$token": TOKEN, "$group_key": "k", "$group_id": "g"}, "group")
    engage, groups = build([profile(), group], with_service_account(api_region="IN"))
    for request, path in ((engage, "engage"), (groups, "groups")):
        assert request.url == f"https://api-in.mixpanel.com/{path}?verbose=1"
        assert request.headers == {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": UA,
        }
        assert not request.gzipped and request.gzip_bytes is None
    assert json.loads(engage.body) == [profile().body]
    assert json.loads(groups.body) == [group.body]


def test_track_is_form_encoded_data_with_the_json_array():
    identify = {"event": "$identify", "properties": {"$identified_id": "mara 5512",
                "$anon_id": "6f1e2d3c", "token": TOKEN, "note": "é&=+"}}  # fmt: skip
    [request] = build([Record("track", identify, "$identify", gates_following=True)], with_secret())
    assert request.url == "https://api.mixpanel.com/track?verbose=1"
    assert request.format == "form"
    assert request.headers == {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": UA,
    }
    assert request.body.startswith(b"data=%5B%7B%22event%22")
    assert b"+" in request.body  # spaces are form-encoded
    assert parse_qs(request.body.decode())["data"] == [
        json.dumps([identify], separators=(",", ":"), ensure_ascii=False)
    ]
    assert request.decoded_body() == [identify]
    assert request.display_body().startswith('data=[\n  {\n    "event": "$identify"')


# --- bodies ------------------------------------------------------------------------------------


def test_import_body_is_a_gzipped_compact_utf8_json_array():
    record = Record("import", {"event": "Bestellung", "properties": {"city": "Zürich", "n": 1}},
                    "event")  # fmt: skip
    [request] = build([record])
    raw = gzip.decompress(request.body)
    assert raw == '[{"event":"Bestellung","properties":{"city":"Zürich","n":1}}]'.encode()
    assert request.decoded_body() == [record.body]
    assert request.sizes() == {
        "records": 1,
        "uncompressed_bytes": len(raw),
        "gzip_bytes": len(request.body),
    }


def test_integers_beyond_64_bits_keep_their_digits():
    big = 2**70 + 1
    [request] = build([Record("import", {"event": "e", "properties": {"big": big}}, "event")])
    assert b'"big":1180591620717411303425' in gzip.decompress(request.body)
    assert request.decoded_body()[0]["properties"]["big"] == big


def test_lone_surrogates_and_nan_still_give_valid_json():
    body = {"event": "e", "properties": {"bad": "a\ud800b", "nan": float("nan"), "ok": "ü"}}
    [request] = build([Record("import", body, "event")])
    raw = gzip.decompress(request.body)
    assert raw == b'[{"event":"e","properties":{"bad":"a\\ud800b","nan":null,"ok":"\xc3\xbc"}}]'
    assert json.loads(raw)[0]["properties"]["bad"] == "a\ud800b"


def test_identical_input_gives_byte_identical_requests():
    records = [event(n) for n in range(5)] + [profile()]
    assert build(records) == build(records)
    assert [r.body for r in build(records)] == [r.body for r in build(records)]


# --- splitting ---------------------------------------------------------------------------------


def test_import_splits_at_batch_size_records():
    requests = build([event(n) for n in range(7)], batch_size=3)
    assert [r.record_count for r in requests] == [3, 3, 1]
    assert [rec.insert_id for r in requests for rec in r.records] == [f"id-{n}" for n in range(7)]
    assert [[b["properties"]["$insert_id"] for b in r.decoded_body()] for r in requests] == [
        ["id-0", "id-1", "id-2"], ["id-3", "id-4", "id-5"], ["id-6"]]  # fmt: skip


def test_batch_size_is_clamped_to_mixpanels_2000():
    requests = build([event(n) for n in range(2001)], batch_size=5000)
    assert [r.record_count for r in requests] == [2000, 1]


def test_import_splits_at_the_uncompressed_byte_cap_exactly():
    records = [event(n) for n in range(4)]
    one = len(wire.serialize_record(records[0].body))
    # Three records fit exactly: "[" + 3 records + 2 commas + "]".
    cap = 3 * one + 2 + 2
    requests = build(records, import_max_bytes=cap)
    assert [r.record_count for r in requests] == [3, 1]
    assert requests[0].uncompressed_bytes == cap
    assert [r.record_count for r in build(records, import_max_bytes=cap - 1)] == [2, 2]


def purchase(tag: str, products: int) -> list[Record]:
    order = Record("import", {"event": "Order Completed", "properties": {"o": tag}}, "order",
                   insert_id=f"{tag}")  # fmt: skip
    return [order] + [
        Record(
            "import",
            {"event": "Product Purchased", "properties": {"o": tag, "i": i}},
            f"product[{i}]",
            insert_id=f"{i}{tag}",
        )  # fmt: skip
        for i in range(products)
    ]


def test_batch_size_counts_records_after_purchase_expansion():
    records = purchase("a", 2) + purchase("b", 2)  # 2 events, 6 records
    requests = build(records, batch_size=4)
    assert [[r.insert_id for r in req.records] for req in requests] == [
        ["a", "0a", "1a"], ["b", "0b", "1b"]]  # fmt: skip


def test_a_purchase_that_fits_is_never_split_across_requests():
    records = [event(0), event(1)] + purchase("p", 3) + [event(2)]
    requests = build(records, batch_size=4)
    assert [[r.insert_id for r in req.records] for req in requests] == [
        ["id-0", "id-1"], ["p", "0p", "1p", "2p"], ["id-2"]]  # fmt: skip


def test_a_purchase_larger_than_a_request_continues_in_order():
    records = [event(0)] + purchase("p", 5)
    requests = build(records, batch_size=4)
    assert [[r.insert_id for r in req.records] for req in requests] == [
        ["id-0"], ["p", "0p", "1p", "2p"], ["3p", "4p"]]  # fmt: skip


def test_the_byte_cap_also_keeps_purchases_contiguous():
    records = purchase("a", 1) + purchase("b", 1)
    sizes = [len(wire.serialize_record(r.body)) for r in records]
    cap = 2 + sizes[0] + sizes[1] + sizes[2] + 2  # room for order b but not its product
    requests = build(records, import_max_bytes=cap)
    assert [[r.insert_id for r in req.records] for req in requests] == [["a", "0a"], ["b", "0b"]]


def test_a_record_over_the_byte_cap_travels_alone():
    records = [event(0), event(1, pad=500), event(2)]
    requests = build(records, import_max_bytes=400)
    assert [[r.insert_id for r in req.records] for req in requests] == [
        ["id-0"], ["id-1"], ["id-2"]]  # fmt: skip


def test_a_record_over_one_megabyte_travels_alone():
    records = [event(0), event(1, pad=1_000_001), event(2)]
    requests = build(records)
    assert [[r.insert_id for r in req.records] for req in requests] == [
        ["id-0"], ["id-1"], ["id-2"]]  # fmt: skip


def test_isolated_records_get_a_request_of_their_own():
    doomed = Record("engage", {"$token": TOKEN, "$distinct_id": None, "$set": {}}, "profile",
                    isolate=True)  # fmt: skip
    requests = build([profile(1), profile(2), doomed, profile(3)])
    assert [len(r.records) for r in requests] == [2, 1, 1]
    assert requests[1].records == (doomed,)


def test_profiles_split_at_profile_batch_size():
    requests = build([profile(n) for n in range(5)], profile_batch_size=2)
    assert [r.record_count for r in requests] == [2, 2, 1]


def test_endpoints_never_share_a_request_and_gates_go_first():
    identify = Record("track", {"event": "$identify", "properties": {}}, "$identify",
                      gates_following=True)  # fmt: skip
    records = [profile(1), event(0), identify, profile(2)]
    requests = build(records)
    assert [r.endpoint for r in requests] == ["track", "engage", "import"]
    assert [len(r.records) for r in requests] == [1, 2, 1]


def test_with_records_and_split_in_half_keep_url_and_auth():
    [request] = build([event(n) for n in range(5)], with_secret())
    first, second = wire.split_in_half(request)
    assert [r.record_count for r in (first, second)] == [3, 2]
    assert first.url == second.url == request.url
    assert first.headers == request.headers
    assert second.decoded_body() == [event(n).body for n in (3, 4)]
    alone = wire.with_records(request, [request.records[4]])
    assert alone.decoded_body() == [event(4).body]


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "label"),
    [
        (with_service_account, f'service account "{SA_USER}"'),
        (with_secret, "API secret"),
        (token_only, "project token"),
    ],
)
def test_masked_headers_label_the_mode_and_never_show_the_base64(make, label):
    [request] = build([event()], make())
    masked = request.masked_headers()
    assert masked["Authorization"] == f"Basic •••••• ({label})"
    encoded = request.headers["Authorization"].split(" ", 1)[1]
    assert encoded not in repr(masked) and encoded not in repr(request)
    assert SECRET not in repr(masked) and SA_SECRET not in repr(masked)
    assert request.headers["Authorization"] != masked["Authorization"]


def test_masked_headers_of_unauthenticated_endpoints_are_unchanged():
    [request] = build([profile()])
    assert request.masked_headers() == request.headers


def test_the_module_docstring_example_holds():
    assert doctest.testmod(wire).failed == 0
