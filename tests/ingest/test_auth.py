"""Write-key extraction (spec §3, §2.3). Rows 23, 24, 26, 27 of §8, as far as no key lookup is
needed: unknown, revoked and disabled keys (rows 24, 25) are the DB layer's."""

from __future__ import annotations

import base64

import pytest

from mappings.ingest.auth import body_write_key, resolve_write_key, write_key_from_basic
from mappings.ingest.decode import parse_json
from mappings.ingest.errors import IngestError


def basic(text: str, *, padding: bool = True) -> str:
    encoded = base64.b64encode(text.encode()).decode()
    return "Basic " + (encoded if padding else encoded.rstrip("="))


@pytest.mark.parametrize(
    ("header", "key"),
    [
        pytest.param("Basic d2tfZGVtb19rZXk6", "wk_demo_key", id="spec-example"),
        pytest.param(basic("wk_1:"), "wk_1", id="empty-password"),
        pytest.param(basic("wk_1:secret:with:colons"), "wk_1", id="password-ignored"),
        pytest.param(basic("wk_1"), "wk_1", id="row27-no-colon"),
        pytest.param(basic("wk_12:", padding=False), "wk_12", id="missing-padding"),
        pytest.param(basic("wk_1234", padding=False), "wk_1234", id="missing-padding-no-colon"),
        pytest.param(basic("cl\u00e9:"), "cl\u00e9", id="utf-8"),
        pytest.param("basic " + basic("wk_1:")[6:], "wk_1", id="scheme-any-case"),
        pytest.param("  Basic   " + basic("wk_1:")[6:] + " ", "wk_1", id="extra-spaces"),
        pytest.param(basic(":secret"), None, id="no-username"),
        pytest.param("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", None, id="row27-bearer"),
        pytest.param("Token abc", None, id="other-scheme"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_it_reads_the_key_from_a_basic_header(header, key):
    assert write_key_from_basic(header) == key


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic", id="row24-no-credentials"),
        pytest.param("Basic !!!not-base64!!!", id="row24-not-base64"),
        pytest.param("Basic abcde", id="row24-impossible-length"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe:").decode(), id="row24-not-utf8"),
    ],
)
def test_row24_an_undecodable_basic_header_is_invalid_write_key(header):
    with pytest.raises(IngestError) as error:
        write_key_from_basic(header)
    assert (error.value.status, error.value.code) == (401, "invalid_write_key")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"batch": [], "writeKey": "wk_body"}, "wk_body"),
        ({"type": "track", "writeKey": "wk_body"}, "wk_body"),
        ({"batch": [{"writeKey": "inside"}]}, None),
        ([{"writeKey": "inside"}], None),
        ({"writeKey": None}, None),
        ({"writeKey": ""}, None),
        ("text", None),
    ],
)
def test_only_the_top_level_body_key_counts(body, key):
    assert body_write_key(body) == key


def test_it_reads_the_body_key_from_a_parsed_body():
    assert body_write_key(parse_json(b'{"batch": [], "writeKey": "wk"}')) == "wk"


def test_a_non_string_body_key_is_invalid():
    with pytest.raises(IngestError) as error:
        body_write_key({"writeKey": 123})
    assert error.value.code == "invalid_write_key"


def test_row23_no_key_anywhere_is_missing_write_key():
    with pytest.raises(IngestError) as error:
        resolve_write_key(None, None)
    assert (error.value.status, error.value.code) == (401, "missing_write_key")


def test_row26_header_and_body_keys_must_agree():
    with pytest.raises(IngestError) as error:
        resolve_write_key("wk_a", "wk_b")
    assert (error.value.status, error.value.code) == (401, "write_key_mismatch")


@pytest.mark.parametrize(
    ("header_key", "body_key", "key"),
    [
        pytest.param("wk_a", "wk_a", "wk_a", id="both-equal"),
        pytest.param("wk_a", None, "wk_a", id="header-only"),
        pytest.param(None, "wk_b", "wk_b", id="row27-bearer-then-body-key"),
    ],
)
def test_row27_the_key_comes_from_the_header_or_the_body(header_key, body_key, key):
    assert resolve_write_key(header_key, body_key) == key


def test_forward_uses_only_the_header_and_ignores_segments_body_keys():
    assert resolve_write_key("wk_a", "segments-own", is_forward=True) == "wk_a"
    with pytest.raises(IngestError) as error:
        resolve_write_key(None, "segments-own", is_forward=True)
    assert error.value.code == "missing_write_key"
