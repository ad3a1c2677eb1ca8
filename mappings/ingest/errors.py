"""Codes of the Tracking API (spec §6.1, §5.2–§5.5) and the one exception that ends a request.

A request-level failure is an ``IngestError``: the HTTP layer turns it into the JSON error body
and stores nothing (I2). Per-message problems are never exceptions at this level; they become
``RejectedMessage`` rows with a code from ``REJECT_CODES`` and the request still answers ``200``.
"""

from __future__ import annotations

from typing import Any

# Request-level codes and the only status each one may be sent with (§6.1 table).
REQUEST_CODE_STATUS: dict[str, int] = {
    "invalid_json": 400,
    "nesting_too_deep": 400,
    "invalid_body": 400,
    "payload_too_large": 400,
    "message_too_large": 400,
    "invalid_encoding": 400,
    "unsupported_encoding": 400,
    "missing_write_key": 401,
    "invalid_write_key": 401,
    "source_disabled": 401,
    "write_key_mismatch": 401,
    "invalid_signature": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "rate_limited": 429,
    "internal_error": 500,
    "storage_unavailable": 503,
}

# Per-message reject codes (§5.2, §5.3, §4.5, §5.7). A rejected message is quarantined, not lost.
REJECT_CODES: frozenset[str] = frozenset(
    {
        "invalid_message",
        "invalid_type",
        "invalid_field_type",
        "no_user_anon_id",
        "missing_event",
        "missing_group_id",
        "missing_previous_id",
        "missing_user_id",
        "too_many_messages",
        "internal_error",
    }
)

# Warnings attached to accepted messages (§4.3, §4.4, §5.3–§5.5). The message is stored anyway.
WARNING_CODES: frozenset[str] = frozenset(
    {
        "replaced_lone_surrogate",
        "replaced_nul",
        "non_finite_number",
        "coerced_id",
        "placeholder_id",
        "message_id_assigned",
        "invalid_timestamp",
        "invalid_sent_at",
        "timestamp_out_of_range",
    }
)


class IngestError(Exception):
    """The whole request is refused with ``status`` and ``code``; nothing may be stored.

    ``message`` is one human line with no internals (analytics-python logs it). ``index`` is set
    only for ``message_too_large``, naming the offending batch item.

    >>> IngestError(400, "invalid_json", "body is not valid JSON").response_body()
    {'success': False, 'code': 'invalid_json', 'message': 'body is not valid JSON'}
    """

    def __init__(self, status: int, code: str, message: str, index: int | None = None) -> None:
        # A typo'd code or a wrong status would silently change how clients react (§6.1).
        if REQUEST_CODE_STATUS.get(code) != status:
            raise ValueError(f"{code!r} is not a {status} code")
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.index = index

    def response_body(self) -> dict[str, Any]:
        """The JSON error body of §6.1, plus ``index`` when one message caused it."""
        body: dict[str, Any] = {"success": False, "code": self.code, "message": self.message}
        if self.index is not None:
            body["index"] = self.index
        return body

    def __repr__(self) -> str:
        return f"IngestError({self.status}, {self.code!r}, {self.message!r}, index={self.index})"
