"""The "Test connection" credential check (spec §3.4): its request and the human result. Pure.

``build_credential_check`` builds the request ``mappings.http`` sends;
``interpret_credential_check`` turns Mixpanel's answer into a ``CredentialCheckResult`` with every
secret redacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .types import MixpanelSettings
from .wire import PreparedRequest, import_authorization, redact, serialize_record

# Segment calls the app API on this host for every region (mixpanel-api.md §1).
APP_HOST = "https://mixpanel.com"
TOKEN_ONLY_EXPLANATION = (
    "Only a project token is set. Mixpanel has no way to check a project token without writing "
    'data, so there is nothing to test. Use "Send test event" (ideally against a non-production '
    "project), or add a service account to test credentials."
)


@dataclass(frozen=True)
class CredentialCheckResult:
    """What "Test connection" shows. ``ok`` is ``None`` when nothing could be checked.

    ``project_access`` is the service-account best effort of §3.4 (``None`` when unknown);
    ``response_text`` is Mixpanel's body with every secret redacted.
    """

    ok: bool | None
    message: str
    response_text: str = ""
    project_access: bool | None = None


def build_credential_check(
    settings: MixpanelSettings, api_url_override: str | None, user_agent: str
) -> PreparedRequest | None:
    """The request that tests the active ``/import`` credential (§3.4), or ``None`` (token only).

    Service account: ``GET /api/app/me`` with its Basic auth. API secret (Segment parity): ``POST
    /api/app/validate-project-credentials/`` with a ``text/plain`` JSON body and no auth. The app
    host is ``https://mixpanel.com`` for every region unless the deployment override is set.
    """
    base = api_url_override.rstrip("/") if api_url_override else APP_HOST
    mode = settings.import_auth_mode
    if mode == "service_account":
        authorization, label = import_authorization(settings)
        return PreparedRequest(
            method="GET",
            url=f"{base}/api/app/me",
            endpoint="app/me",
            headers={
                "Accept": "application/json",
                "Authorization": authorization,
                "User-Agent": user_agent,
            },
            body=b"",
            format="none",
            auth_label=label,
            secrets=(settings.service_account_secret or "",),
        )
    if mode == "api_secret":
        secret = settings.api_secret or ""
        body = serialize_record({"api_secret": secret, "project_token": settings.project_token})
        return PreparedRequest(
            method="POST",
            url=f"{base}/api/app/validate-project-credentials/",
            endpoint="app/validate-project-credentials",
            headers={
                "Content-Type": "text/plain;charset=UTF-8",
                "Accept": "application/json",
                "User-Agent": user_agent,
            },
            body=body,
            format="json",
            uncompressed_bytes=len(body),
            secrets=(secret,),
        )
    return None


def interpret_credential_check(
    request: PreparedRequest | None,
    settings: MixpanelSettings,
    status: int | None,
    body: bytes | str,
    *,
    error: str | None = None,
) -> CredentialCheckResult:
    """Turn the credential check's answer into a human result; secrets never appear in it."""
    if request is None:
        return CredentialCheckResult(ok=None, message=TOKEN_ONLY_EXPLANATION)
    secrets = _credential_secrets(request, settings)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    text = redact(text, secrets)
    if status is None:
        reason = redact(error or "no response", secrets)
        return CredentialCheckResult(ok=None, message=f"Could not reach Mixpanel: {reason}.")
    project = str(settings.project_id or "")
    access = None
    if status in (401, 403):
        ok, message = False, f"Mixpanel rejected the credentials (HTTP {status})."
    elif not 200 <= status < 300:
        ok, message = False, f"Unexpected answer from Mixpanel (HTTP {status})."
    elif request.endpoint != "app/me":
        ok, message = True, "The API secret and project token are valid."
    elif project and _mentions(_parse_json(text), project):
        ok, access = True, True
        message = f"The service account is valid and can access project {project}."
    else:
        ok = True
        message = f"The service account is valid; could not confirm access to project {project}."
    return CredentialCheckResult(ok, message, response_text=text, project_access=access)


def _credential_secrets(request: PreparedRequest, settings: MixpanelSettings) -> tuple[str, ...]:
    values = [settings.api_secret, settings.service_account_secret, *request.secrets]
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        values.append(auth[len("Basic ") :])
    return tuple(v for v in values if v)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _mentions(value: Any, project: str) -> bool:
    """Whether ``project`` appears as a key or scalar anywhere in ``value`` (the /me shape is
    undocumented, so this is a best-effort search)."""
    if isinstance(value, dict):
        return any(str(k) == project or _mentions(v, project) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, project) for v in value)
    return not isinstance(value, bool) and value is not None and str(value) == project
