"""The §5.5 timestamp grammar and the §5.4 stored format."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from mappings.ingest.timestamps import (
    _TIMESTAMP,
    _from_groups,
    format_timestamp,
    parse_timestamp,
    parse_timestamp_ms,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-10T11:58:00.000Z", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T11:58:00.000+00:00", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10 11:58:00Z", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T11:58Z", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T11:58:00", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10", datetime(2026, 3, 10, tzinfo=UTC)),
        ("2026-03-10T13:58:00+02:00", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T13:58:00+0200", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T13:58:00+02", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T06:28:00-05:30", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10T11:58:00.5Z", datetime(2026, 3, 10, 11, 58, 0, 500000, tzinfo=UTC)),
        ("2026-03-10T11:58:00.123456789Z", datetime(2026, 3, 10, 11, 58, 0, 123456, tzinfo=UTC)),
        ("2026-03-10t11:58:00z", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_it_reads_rfc3339_and_iso8601_forms(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2015-2-02T00:30:08",
        "yesterday",
        "",
        "2026-03-10T11:58:00.Z",
        "2026-03-10T11:58:00.1234567890Z",
        "2026-03-10T24:00:00Z",
        "2026-03-10T23:59:60Z",
        "2023-02-29",
        "2026-13-01",
        "2026-03-10T11:58:00+24:00",
        "2026-03-10T11:58:00+05:60",
        "2026-03-10T11",
        "2026-03-10T11:58:00 Z",
        "2026-03-10T11:58:00Z\n",
        " 2026-03-10",
        "20260310T115800Z",
        "2026-W11-2",
        "2026-03-10T11:58:00,5Z",
        "\u0662\u0660\u0662\u0666-03-10",  # Arabic-Indic digits
        "0000-01-01",
        "0001-01-01T00:00:00+01:00",
        1710072000,
        1710072000.0,
        {},
        [],
        True,
        None,
    ],
)
def test_it_refuses_everything_else(value):
    assert parse_timestamp(value) is None


def test_the_fast_and_the_exact_reader_agree():
    dates = ["2026-03-10", "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31", "2026-00-10"]
    times = ["", "T00:00", " 23:59", "T24:00", "T12:30:45", "T12:30:60", "T12:30:45.1", "t1:2"]
    times += ["T12:30:45.123456789", "T12:30:45.1234567"]
    zones = ["", "Z", "z", "+00:00", "-00:00", "+05:30", "-0800", "+23", "-23:59", "+14:00"]
    for date, time, zone in itertools.product(dates, times, zones):
        text = date + time + (zone if time else "")
        match = _TIMESTAMP.fullmatch(text)
        assert parse_timestamp(text) == (_from_groups(match) if match else None), text


def test_the_stored_format_truncates_to_milliseconds():
    moment = datetime(2026, 3, 10, 12, 0, 5, 250999, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-03-10T12:00:05.250Z"
    assert format_timestamp(datetime(2026, 3, 10, 14, 0, tzinfo=UTC).astimezone()) == (
        "2026-03-10T14:00:00.000Z"
    )


def test_epoch_milliseconds_of_a_stored_time():
    assert parse_timestamp_ms("2026-03-10T12:00:05.250Z") == 1_773_144_005_250
    assert parse_timestamp_ms("1969-12-31T23:59:59.9995Z") == -1
    assert parse_timestamp_ms("soon") is None
