"""Shortcuts in body parsing and timestamp reading give exactly what the general paths give.

- ``decode.parse_json_fast`` trusts orjson with 19-digit integers it keeps exact (up to
  2**64 - 1), and leaves longer runs and 19 digits after a minus to the stdlib path (§4.4);
- ``timestamps.parse_timestamp`` reads the SDKs' ``…T…:…:….mmmZ`` / ``+00:00`` forms without
  the grammar regex; near misses still get the grammar's answer (§5.5).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from mappings.ingest.decode import parse_json, parse_json_fast, parse_json_slow
from mappings.ingest.timestamps import _TIMESTAMP, _from_groups, format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    "value", [9_223_372_036_854_775_807, 9_999_999_999_999_999_999, 1_234_567_890_123_456_789]
)
def test_nineteen_digit_integers_stay_on_the_orjson_path_and_exact(value):
    data = b'{"ns": %d, "s": "%d"}' % (value, value)
    fast = parse_json_fast(data)
    assert fast is not None
    assert fast.value == parse_json_slow(data).value == {"ns": value, "s": str(value)}
    assert type(fast.value["ns"]) is int


@pytest.mark.parametrize(
    "data",
    [
        b"[-9223372036854775809]",  # below -2**63: orjson would answer a float
        b"[-1234567890123456789]",
        b"[18446744073709551616]",  # 2**64
        b"[12345678901234567890123]",
        b'["12345678901234567890"]',  # a long digit run in a string costs the slow path only
    ],
)
def test_longer_digit_runs_take_the_exact_path(data):
    assert parse_json_fast(data) is None
    assert parse_json(data).value == parse_json_slow(data).value


def test_sdk_shaped_timestamps_agree_with_the_grammar_reader():
    dates = ["2026-03-10", "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31", "2026-13-01"]
    times = ["T00:00:00.000", "T23:59:59.999", "T24:00:00.000", "T12:30:60.000", "T1a:30:00.000"]
    zones = ["Z", "+00:00", "z", "-00:00", "+0000", "+01:00"]
    for date, time, zone in itertools.product(dates, times, zones):
        text = date + time + zone
        match = _TIMESTAMP.fullmatch(text)
        assert parse_timestamp(text) == (_from_groups(match) if match else None), text
    assert parse_timestamp("2026-03-10T11:58:00.\u0661\u0662\u0663Z") is None  # not ASCII


def test_sdk_shaped_timestamps_are_utc():
    parsed = parse_timestamp("2026-03-10T11:58:00.512+00:00")
    assert parsed == datetime(2026, 3, 10, 11, 58, 0, 512000, tzinfo=UTC)
    assert parsed.utcoffset().total_seconds() == 0


def test_the_stored_format_pads_every_field():
    assert format_timestamp(datetime(999, 1, 2, 3, 4, 5, 6999, tzinfo=UTC)) == (
        "0999-01-02T03:04:05.006Z"
    )
