"""Client timestamps and clock-skew correction (spec §5.5), and the stored time format (§5.4).

Pure functions over ``datetime``; every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

# RFC 3339 / ISO 8601 as §5.5 allows it: a date, then `T` or a space, then HH:MM with optional
# seconds and 1–9 fraction digits, then `Z`, ±hh:mm, ±hhmm, ±hh or nothing (= UTC). RFC 3339
# permits lower-case `t` and `z`, so we do too. ASCII digits only: `\d` would take any script.
_TIMESTAMP = re.compile(
    r"""
    ([0-9]{4})-([0-9]{2})-([0-9]{2})
    (?:
        [Tt\ ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?
        ([Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?
    )?
    """,
    re.VERBOSE,
)

EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(hours=1)


def parse_timestamp(value: Any) -> datetime | None:
    """The UTC instant ``value`` names, or ``None`` if it is not a §5.5 timestamp string.

    Numbers are refused on purpose (epoch seconds or milliseconds is a guess). Fractions beyond
    microseconds are truncated.

    >>> parse_timestamp("2026-03-10T11:58:00.000+00:00").isoformat()
    '2026-03-10T11:58:00+00:00'
    >>> parse_timestamp("2026-03-10 13:58+0200").isoformat()
    '2026-03-10T11:58:00+00:00'
    >>> parse_timestamp("2015-2-02T00:30:08") is None, parse_timestamp(1710072000) is None
    (True, True)
    """
    if type(value) is not str:
        return None
    if _is_sdk_form(value):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            pass  # not a date (Feb 30, 24:00, a letter): the general path below decides
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    try:
        # The grammar is checked above; fromisoformat (C) reads nearly all of it fast and agrees
        # wherever both accept. What it refuses (lower-case t/z, 24:00, :60, Feb 30) goes below.
        instant = datetime.fromisoformat(value)
    except ValueError:
        return _from_groups(match)
    try:
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    except OverflowError:  # an offset pushing 0001-01-01 or 9999-12-31 out of range
        return None


def _is_sdk_form(value: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` or ``…+00:00``: what every SDK sends, nearly always.

    For these shapes, whatever ``fromisoformat`` accepts the grammar accepts too, with the same
    instant (it takes ASCII digits only). This skips the regex, the costlier half of a parse.
    """
    n = len(value)
    return (
        (n == 24 and value[23] == "Z" or n == 29 and value.endswith("+00:00"))
        and value.isascii()
        and value[4] + value[7] + value[10] + value[13] + value[16] + value[19] == "--T::."
    )


def parse_timestamp_ms(value: Any) -> int | None:
    """``parse_timestamp`` as Unix epoch milliseconds (floored), e.g. for a stored ``receivedAt``.

    >>> parse_timestamp_ms("2026-03-10T12:00:05.250Z")
    1773144005250
    """
    instant = parse_timestamp(value)
    if instant is None:
        return None
    return (instant - _EPOCH) // _ONE_MS


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def _from_groups(match: re.Match[str]) -> datetime | None:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        instant = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
        if zone and zone not in "Zz":
            minutes = int(zone[1:3]) * 60 + (int(zone[-2:]) if len(zone) > 3 else 0)
            offset = timedelta(minutes=minutes)
            instant = instant - offset if zone[0] == "+" else instant + offset
    except (ValueError, OverflowError):  # 2026-02-30, 24:00, :60, or beyond year 1/9999
        return None
    return instant


def format_timestamp(instant: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, milliseconds truncated (the stored format, §5.4).

    >>> format_timestamp(datetime(2026, 3, 10, 12, 0, 5, 250999, tzinfo=UTC))
    '2026-03-10T12:00:05.250Z'
    """
    t = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    # Table lookups rather than format specs (or isoformat): this runs for every stored event.
    return (
        f"{t.year:04d}-{_TWO_DIGITS[t.month]}-{_TWO_DIGITS[t.day]}T{_TWO_DIGITS[t.hour]}:"
        f"{_TWO_DIGITS[t.minute]}:{_TWO_DIGITS[t.second]}.{_THREE_DIGITS[t.microsecond // 1000]}Z"
    )


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
_THREE_DIGITS = tuple(f"{n:03d}" for n in range(1000))


def truncate_to_ms(instant: datetime) -> datetime:
    """``instant`` in UTC without sub-millisecond digits, so it equals its stored form."""
    t = instant.astimezone(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def corrected_timestamp(
    timestamp: Any, sent_at: datetime | None, sent_at_given: bool, received_at: datetime
) -> tuple[datetime, tuple[str, ...]]:
    """The event time to store and the warnings it earned, per §5.5.

    ``timestamp`` is the client's raw value (``None`` = not sent); ``sent_at`` the parsed
    ``sentAt`` chosen by §5.1 (``None`` if missing or invalid; ``sent_at_given`` says whether a
    value was sent at all); ``received_at`` the request stamp, already truncated to ms.

    - no valid timestamp → ``received_at`` (``invalid_timestamp`` if a value was sent);
    - no valid sentAt → the timestamp as sent (``invalid_sent_at`` if a value was sent);
    - else ``received_at − (sent_at − timestamp)``, removing the device's clock error;
    - a result before 1971 or more than 1 h after ``received_at`` → ``received_at``
      (``timestamp_out_of_range``).

    >>> ra = datetime(2026, 3, 10, 12, 0, 5, 250000, tzinfo=UTC)
    >>> sa = parse_timestamp("2026-03-10T11:58:05.000Z")
    >>> t, warnings = corrected_timestamp("2026-03-10T11:58:00.000Z", sa, True, ra)
    >>> format_timestamp(t), warnings
    ('2026-03-10T12:00:00.250Z', ())
    """
    client_time = parse_timestamp(timestamp)
    if client_time is None:
        return received_at, (("invalid_timestamp",) if timestamp is not None else ())
    warnings: tuple[str, ...] = ()
    result: datetime | None = client_time
    if sent_at is None:
        if sent_at_given:
            warnings = ("invalid_sent_at",)
    else:
        try:
            result = received_at - (sent_at - client_time)
        except OverflowError:
            result = None
    if result is None or result < EARLIEST or result > received_at + MAX_AHEAD:
        return received_at, (*warnings, "timestamp_out_of_range")
    return result, warnings
