"""Date-like strings → UTC epoch milliseconds, the way Segment's code reads them (spec §7.3).

Segment validates a ``datetime`` field with ajv's ``date-like`` format and converts it with
``dayjs.utc(value).valueOf()``. dayjs first tries one loose pattern (``YYYY[-/]MM[-/]DD[ T]hh:mm:
ss.sss``, every separator optional) read as UTC; strings ending in ``Z`` and everything else go to
JavaScript's ``new Date(text)``. We reproduce the pattern exactly, ISO 8601 with a zone or offset
exactly, and common human-readable forms (RFC 2822, ``Date.toString()``, ``April 22, 2025``)
best-effort; the rest of V8's legacy date parser is not reproduced.

The pattern is why a string of digits is a compact calendar date and never an epoch:

>>> parse_date_ms("20250422")
1745280000000
>>> parse_date_ms("2025-02-10T14:03:27.512+01:00")
1739192607512
>>> parse_date_ms("2025/04/22"), parse_date_ms("2025-04-22 16:45:10")
(1745280000000, 1745340310000)
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Final

from mappings.engine.jsvalues import js_number_to_string, js_to_number

__all__ = ["MAX_TIME_MS", "is_date_like", "parse_date_ms", "utc_ms"]

# ECMAScript's time range: ±8.64e15 ms around the epoch (TimeClip).
MAX_TIME_MS: Final = 8_640_000_000_000_000

# JS ``\s`` in dayjs's pattern: every Unicode whitespace character, plus U+FEFF.
_JS_SPACE: Final = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# dayjs's REGEX_PARSE, with ``\d`` spelled ``[0-9]`` (Python's ``\d`` also matches other digits).
_DAYJS_PARSE: Final = re.compile(
    r"^([0-9]{4})[-/]?([0-9]{1,2})?[-/]?([0-9]{0,2})[Tt"
    + _JS_SPACE
    + r"]*([0-9]{1,2})?:?([0-9]{1,2})?:?([0-9]{1,2})?[.:]?([0-9]+)?\Z"
)
_DAYJS_CHARS: Final = frozenset("0123456789-/Tt:." + _JS_SPACE.replace("\u2000-\u200a", "")) | {
    chr(c) for c in range(0x2000, 0x200B)
}
# ISO 8601 as V8 reads it: date, optional time, optional zone. Fraction digits beyond ms are cut.
_ISO: Final = re.compile(
    r"^([+-][0-9]{6}|[0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?\Z"
)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 for a proleptic Gregorian date (month 1–12)."""
    year -= month <= 2
    era = year // 400  # floor division, also for negative years
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def utc_ms(
    year: int,
    month0: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    ms: int = 0,
    *,
    two_digit_years: bool = True,
) -> int | None:
    """JavaScript ``Date.UTC`` (month 0-based; every part may overflow into the next one).

    Returns ``None`` outside the ECMAScript time range. Years 0–99 mean 1900–1999 (``Date.UTC``), unless ``two_digit_years`` is false (ISO text).

    >>> utc_ms(2025, 13, 1) == utc_ms(2026, 1, 1)
    True
    """
    if two_digit_years and 0 <= year <= 99:
        year += 1900
    year += month0 // 12
    month0 %= 12
    days = _days_from_civil(year, month0 + 1, 1) + day - 1
    total = days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms
    if abs(total) > MAX_TIME_MS:
        return None
    return total


def _dayjs_pattern(text: str) -> int | None:
    # The pattern backtracks a lot on near misses; most texts it cannot match have other characters.
    if not _DAYJS_CHARS.issuperset(text):
        return None
    match = _DAYJS_PARSE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    # dayjs: ``d[2] - 1 || 0``, ``d[3] || 1``, and the fraction's first three digits as ms
    # ("…:10.5" is 5 ms, not 500: a dayjs quirk kept for parity).
    return utc_ms(
        int(year),
        int(month) - 1 if month else 0,
        int(day) if day else 1,
        int(hour) if hour else 0,
        int(minute) if minute else 0,
        int(second) if second else 0,
        int((fraction or "0")[:3]),
    )


def _iso(text: str) -> int | None:
    match = _ISO.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    month_n, day_n = int(month or 1), int(day or 1)
    hour_n, minute_n, second_n = int(hour or 0), int(minute or 0), int(second or 0)
    if not (1 <= month_n <= 12 and 1 <= day_n <= 31 and minute_n < 60 and second_n < 60):
        return None
    if hour_n > 24 or (hour_n == 24 and (minute_n or second_n or int(fraction or 0))):
        return None
    ms = int(((fraction or "") + "000")[:3])
    value = utc_ms(
        int(year), month_n - 1, day_n, hour_n, minute_n, second_n, ms, two_digit_years=False
    )
    if value is None:
        return None
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
        value -= (1 if zone[0] == "+" else -1) * offset * 60_000
    # A date-time without a zone is local time in V8; Segment's servers run in UTC.
    return value if abs(value) <= MAX_TIME_MS else None


_MONTHS: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME: Final = (
    r"(?:[ ,]+(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?(?:\s*(?P<ampm>[AaPp][Mm]))?)?"
    r"(?:\s*(?P<zone_name>(?i:GMT|UTC|UT|Z)))?(?:\s*(?P<offset>[+-][0-9]{2}:?[0-9]{2}))?"
)
_WEEKDAY_PREFIX: Final = r"(?:[A-Za-z]{3,},?\s+)?"
# "April 22, 2025 10:00", "Tue Apr 22 2025 16:45:10 GMT+0000", "Tue, 22 Apr 2025 16:45:10 +0200",
# "4/22/2025 10:00 PM": the forms of V8's legacy date parser seen in practice (not all of it).
_HUMAN: Final = (
    re.compile(
        "^" + _WEEKDAY_PREFIX + r"(?P<month_name>[A-Za-z]{3,})\.?\s+(?P<day>[0-9]{1,2}),?\s+"
        r"(?P<year>[0-9]{4})" + _TIME + r"\Z"
    ),
    re.compile(
        "^" + _WEEKDAY_PREFIX + r"(?P<day>[0-9]{1,2})\s+(?P<month_name>[A-Za-z]{3,})\.?,?\s+"
        r"(?P<year>[0-9]{4})" + _TIME + r"\Z"
    ),
    re.compile(r"^(?P<month>[0-9]{1,2})/(?P<day>[0-9]{1,2})/(?P<year>[0-9]{4})" + _TIME + r"\Z"),
    # "2025-04-22 16:45:10 UTC" (Ruby's Time#to_s), "2025/04/22 16:45:10 GMT+0200", "2025.04.22",
    # and, with white space around them, " 2025-04-22", " 2025/04", " 2025"
    re.compile(
        r"^(?P<year>[0-9]{4})(?:[-/.](?P<month>[0-9]{1,2})(?:[-/.](?P<day>[0-9]{1,2}))?)?"
        + _TIME
        + r"\Z"
    ),
)


def _human(text: str) -> int | None:
    """Best-effort reading of human-readable dates (RFC 2822, ``Date.toString``, US m/d/y)."""
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)  # "(Coordinated Universal Time)"
    for pattern in _HUMAN:
        match = pattern.match(text)
        if match is not None:
            break
    else:
        return None
    parts = match.groupdict()
    if parts.get("month_name"):
        prefix = parts["month_name"][:3].lower()
        if prefix not in _MONTHS:
            return None
        month = _MONTHS.index(prefix) + 1
    else:
        month = int(parts["month"] or 1)
    day, hour = int(parts["day"] or 1), int(parts["hour"] or 0)
    minute, second = int(parts["minute"] or 0), int(parts["second"] or 0)
    if parts["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if parts["ampm"].lower() == "pm" else 0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 24 and minute < 60 and second < 60):
        return None
    ms = int(((parts["fraction"] or "") + "000")[:3])
    value = utc_ms(
        int(parts["year"]), month - 1, day, hour, minute, second, ms, two_digit_years=False
    )
    offset = parts["offset"]
    if value is None or offset is None:
        return value  # no zone: local time on Segment's servers, which run in UTC
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return value - (1 if offset[0] == "+" else -1) * minutes * 60_000


@lru_cache(maxsize=4096)
def parse_date_ms(text: str) -> int | None:
    """``dayjs.utc(text).valueOf()`` for a string, or ``None`` when it is not a valid date.

    Order, as in dayjs: the loose UTC pattern (not for strings ending in ``Z``), then ISO 8601
    with a zone or offset (exactly: JavaScript's ISO reader takes no white space around it),
    then best-effort human-readable forms (``Tue, 22 Apr 2025 16:45:10 +0000``, ``April 22,
    2025``, ``2025-04-22 16:45:10 UTC``), white space around them ignored. JavaScript's parser
    reads still more (``" 3 "`` is 2001-03-01); those are not reproduced, and a mapped time that
    cannot be read falls back to ``receivedAt``. Checked against node's ``dayjs`` and ``Date``.

    >>> parse_date_ms("1745340310")  # year 1745, month 34, day 03, 10h: 1747-10-03T10:00Z
    -7013397600000
    >>> parse_date_ms("2025-04-22T16:45:10.123456Z"), parse_date_ms("not a date")
    (1745340310123, None)
    """
    if not text.endswith(("Z", "z")):
        value = _dayjs_pattern(text)
        if value is not None:
            return value
    value = _iso(text)
    if value is not None:
        return value
    # Only JavaScript's fallback reader takes white space around a date (and never a "T").
    return _human(text.strip())


def is_date_like(text: str) -> bool:
    """ajv's ``date-like`` format as Segment registers it.

    A string that is exactly a JavaScript number's text (``String(Number(s)) === s``) is valid
    when that many *seconds* is a valid date; any other string must parse as a date.

    >>> is_date_like("1745340310"), is_date_like("2025-13-45"), is_date_like("yesterday")
    (True, True, False)
    """
    # No JavaScript number text has a ":" in it, and almost every timestamp does.
    if ":" not in text:
        number = js_to_number(text)
        if not math.isnan(number) and not math.isinf(number):
            if js_number_to_string(number) == text:
                return abs(number * 1000) <= MAX_TIME_MS
    return parse_date_ms(text) is not None
