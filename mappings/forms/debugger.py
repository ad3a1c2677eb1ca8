"""The Source Debugger's filters and stream cursors (spec §7.1 "Search").

The exact filters (type, event, userId, anonymousId, groupId, messageId) are the indexed ones:
each becomes one equality on an indexed column (messageId through its SHA-256, as ingest stores
it). Cursors are our own database ids and times, never payload data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django import forms

# The search columns hold the first 255 characters of a value (ingest's INDEXED_TEXT).
INDEXED = 255
TYPES = ("track", "identify", "page", "screen", "group", "alias")
STATUSES = (
    ("", "Any status"),
    ("accepted", "Accepted"),
    ("duplicate", "Duplicate"),
    ("rejected", "Rejected"),
)
# Only rejects, or only events: the status filter decides which tables the stream reads.
EVENT_ONLY_FIELDS = ("type", "event", "user_id", "anonymous_id", "group_id")


def message_id_hash(message_id: str) -> str:
    """The dedup hash ingest stores for ``message_id`` (indexed per source)."""
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()


class DebuggerFilterForm(forms.Form):
    """GET filters of the stream. Every field is optional; values match exactly."""

    type = forms.ChoiceField(
        label="Type", required=False, choices=[("", "Any type"), *[(t, t) for t in TYPES]]
    )
    event = forms.CharField(label="Event name", required=False, max_length=2000, strip=False)
    user_id = forms.CharField(label="userId", required=False, max_length=2000, strip=False)
    anonymous_id = forms.CharField(
        label="anonymousId", required=False, max_length=2000, strip=False
    )
    group_id = forms.CharField(label="groupId", required=False, max_length=2000, strip=False)
    message_id = forms.CharField(label="messageId", required=False, max_length=2000, strip=False)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUSES)

    def filters(self) -> dict[str, str]:
        """The filters in effect (empty values left out). A field with invalid input (shown
        with its error) filters nothing; the valid ones still apply."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("event", "user_id", "anonymous_id", "group_id", "message_id"):
            self.fields[name].widget.attrs.update(autocomplete="off", spellcheck="false")


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the stream's order: received time, then events after rejects, then id.

    Written as ``<epoch microseconds>.<e|r>.<id>`` in ``?before=`` links.

    >>> c = Cursor.parse("1773144005250000.e.42")
    >>> c.kind_rank, c.pk, str(c)
    (1, 42, '1773144005250000.e.42')
    >>> Cursor.parse("nonsense") is None
    True
    """

    micros: int
    kind_rank: int  # 1 = event, 0 = reject: within one instant, events sort above rejects
    pk: int

    PATTERN = re.compile(r"(\d{1,17})\.([er])\.(\d{1,18})")

    @classmethod
    def of(cls, received_at: datetime, kind: str, pk: int) -> Cursor:
        micros = int(received_at.timestamp()) * 1_000_000 + received_at.microsecond
        return cls(micros, 1 if kind == "event" else 0, pk)

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        match = cls.PATTERN.fullmatch(text or "")
        if not match:
            return None
        return cls(int(match.group(1)), 1 if match.group(2) == "e" else 0, int(match.group(3)))

    @property
    def moment(self) -> datetime:
        seconds, micros = divmod(self.micros, 1_000_000)
        return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)

    def __str__(self) -> str:
        return f"{self.micros}.{'e' if self.kind_rank else 'r'}.{self.pk}"


def positive_int(value: str | None) -> int:
    """A non-negative id from a query parameter (0 when absent or malformed)."""
    return int(value) if value and value.isdigit() and len(value) < 19 else 0
