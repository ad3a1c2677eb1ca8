"""Plain data shared by the Mixpanel destination's pure modules.

The destination contract, in order (every step pure, no I/O):

1. ``settings_schema.validate_settings(raw) -> MixpanelSettings`` (or ``SettingsError``);
2. ``perform.perform(action_id, resolved, settings, *, event, stored_event_id, received_at_ms)
   -> ActionResult`` (and ``perform.perform_batch``): §5 clean/drop/coerce/validate, then the
   Mixpanel records of §7–§13;
3. ``wire.build_requests(records, settings, ...) -> list[PreparedRequest]``: §4 and §14 (auth,
   URLs, gzip, splitting);
4. ``responses.classify(request, status, headers, body) -> Verdict``: §14.4, §14.5, §15;
5. ``preflight.check(...) -> list[Finding]``: §18.

The console preview, the test send and the Celery worker all go through these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Endpoint = Literal["import", "engage", "groups", "track"]
Region = Literal["US", "EU", "IN"]


@dataclass(frozen=True)
class MixpanelSettings:
    """Validated destination settings (spec §3). Secrets are plain text here: callers decrypt."""

    project_token: str
    api_secret: str | None = None
    service_account_username: str | None = None
    service_account_secret: str | None = None
    project_id: str | None = None
    api_region: Region = "US"
    source_name: str | None = None  # None when unset or blank (M3)
    strict_mode: Literal["1", "0"] = "1"
    id_merge_mode: Literal["simplified", "original"] = "simplified"

    @property
    def import_auth_mode(self) -> Literal["service_account", "api_secret", "project_token"]:
        """Which credential authenticates ``/import`` (§4 precedence)."""
        if self.service_account_username and self.service_account_secret:
            return "service_account"
        if self.api_secret:
            return "api_secret"
        return "project_token"


@dataclass(frozen=True)
class Record:
    """One Mixpanel record, exactly as it goes on the wire, plus what delivery needs to know.

    ``kind`` is one of ``event`` (trackEvent), ``order`` and ``product[i]`` (trackPurchase),
    ``$identify`` (identifyUser, either mode), ``profile`` (identify ``$set``), ``group``
    (``/groups`` ``$set``), ``$create_alias`` and ``increment`` (``$add``).
    """

    endpoint: Endpoint
    body: dict[str, Any]
    kind: str
    insert_id: str | None = None
    # False for ``$add``: resending it risks double counting (§14.5).
    idempotent: bool = True
    # Original-mode ``$identify``: the event's later records wait until this one is accepted.
    gates_following: bool = False
    # Pre-flight says Mixpanel will certainly reject it: send it in a request of its own (§14.3).
    isolate: bool = False


@dataclass(frozen=True)
class Note:
    """Something the preview shows next to a record (divergence applied, key dropped, …)."""

    code: str
    message: str
    record_index: int | None = None
    property: str | None = None


@dataclass
class ActionResult:
    """What one (event, mapping) evaluation produces.

    ``records`` are in sending order. ``skipped`` is a reason when nothing is sent and that is not
    an error (simplified-mode alias, empty increment, identify without traits and ids).
    ``fields`` is the validated payload after §5, for the preview's "Mapped fields";
    ``removed_fields`` (§5.2 empty values), ``dropped_fields`` (§5.3 undeclared keys) and
    ``coerced_fields`` (§5.4) name what §5 changed, as paths such as ``utm_properties.utm_term``.
    """

    records: list[Record] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    notes: list[Note] = field(default_factory=list)
    removed_fields: list[str] = field(default_factory=list)
    dropped_fields: list[str] = field(default_factory=list)
    coerced_fields: list[str] = field(default_factory=list)


class PayloadValidationError(ValueError):
    """The event fails the action's schema or validation (spec §5.4, §16): nothing is sent.

    Recorded as failed with ``status`` (400), never retried.
    """

    def __init__(self, message: str, *, status: int = 400, code: str = "PAYLOAD_VALIDATION_FAILED"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class SettingsError(ValueError):
    """Invalid destination settings (§3.3). ``messages`` lists every problem, field named."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Finding:
    """A pre-flight finding (spec §18): what Mixpanel would reject (``error``) or alter (``warn``).

    ``code`` is the check number (``"P19"``); ``message`` names the property and value;
    ``record_index`` is the record's position in the list checked (``None`` for request-, mapping-
    or settings-level findings); ``property`` is the key path concerned, when there is one.
    """

    code: str
    severity: Literal["error", "warn", "info"]
    message: str
    record_index: int | None = None
    property: str | None = None
