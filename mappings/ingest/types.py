"""Plain data that normalisation hands to the storage layer (spec §5, §6.2, §7.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

MAX_REJECTED_LISTED = 100  # §5.7: the 200 body lists at most this many rejects


class RejectedSummary(TypedDict, total=False):
    """One entry of ``rejected`` in the 200 body; ``field`` only when one field is to blame."""

    index: int
    messageId: str | None
    code: str
    message: str
    field: str


@dataclass(slots=True)
class AcceptedMessage:
    """A message that passed §5 and is ready to store, dedup and route.

    ``message`` is the normalised event (§5.4 server fields set); ``received`` is the message as
    the client sent it, minus every ``writeKey`` (the console's "As received" tab). Nested values
    may be shared between the two and between messages of one request: treat both as read-only.
    ``dedup_hash`` is SHA-256 hex of the UTF-8 ``message_id`` (§6.3). ``size`` is the compact
    UTF-8 JSON size of ``received`` that §4.5 checked. ``segmix_received_at`` is segmix's own
    receive time, which differs from ``message["receivedAt"]`` only on ``/v1/forward``.
    """

    index: int
    type: str
    message: dict[str, Any]
    received: dict[str, Any]
    message_id: str
    message_id_assigned: bool
    dedup_hash: str
    warnings: list[str]
    size: int
    segmix_received_at: str


@dataclass(slots=True)
class RejectedMessage:
    """A message quarantined with its JSON as received (minus ``writeKey``), replayable later.

    ``message_id`` is the client's id when it sent a usable one, so a retried bad message can be
    deduplicated (§6.3); ``field`` names the offending field when there is one.
    """

    index: int
    message_id: str | None
    code: str
    message: str
    field: str | None
    raw: str

    @classmethod
    def of(
        cls,
        index: int,
        received: Any,
        raw: bytes,
        code: str,
        message: str,
        field: str | None = None,
    ) -> RejectedMessage:
        """The reject of message ``index`` as ``received`` (``raw``: its JSON bytes), keyed by
        the client's messageId when it would have been accepted as one."""
        value = received.get("messageId") if type(received) is dict else None
        if type(value) is str and value.strip():
            message_id: str | None = value
        elif type(value) is int:
            message_id = str(value)
        else:
            message_id = None
        return cls(index, message_id, code, message, field, raw.decode("utf-8"))

    def summary(self) -> RejectedSummary:
        entry: RejectedSummary = {
            "index": self.index,
            "messageId": self.message_id,
            "code": self.code,
            "message": self.message,
        }
        if self.field is not None:
            entry["field"] = self.field
        return entry


@dataclass(slots=True)
class NormalizedRequest:
    """Every message of one request, each either accepted or rejected, in batch order."""

    accepted: list[AcceptedMessage]
    rejected: list[RejectedMessage]
    received_at: str  # the request stamp in the stored format

    def response_body(self) -> dict[str, Any]:
        """The ``200`` body of §5.7: ``{"success": true}``, plus the rejects when there are any.

        >>> NormalizedRequest([], [], "2026-03-10T12:00:05.250Z").response_body()
        {'success': True}
        """
        if not self.rejected:
            return {"success": True}
        return {
            "success": True,
            "rejectedCount": len(self.rejected),
            "rejected": [r.summary() for r in self.rejected[:MAX_REJECTED_LISTED]],
        }
