"""The Mixpanel destination's settings, declared as data, and their validation (spec §3).

``SETTINGS`` is what the console renders (labels, choices, help text, which inputs are secret);
``validate_settings`` turns the stored JSON into a :class:`MixpanelSettings` or raises
:class:`SettingsError` listing every problem (§3.3), in the table's order.

>>> validate_settings({"projectToken": "tok", "apiRegion": "EU 🇪🇺", "strictMode": 0}).api_region
'EU'
>>> region_host("IN")
'https://api-in.mixpanel.com'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from mappings.engine.jsvalues import js_number_to_string, js_type

from .types import MixpanelSettings, Region, SettingsError

__all__ = [
    "DEFAULT_REGION_CHOICE",
    "REGION_CHOICES",
    "REGION_HOSTS",
    "SECRET_KEYS",
    "SETTINGS",
    "SettingField",
    "normalize_region",
    "region_host",
    "validate_settings",
]

SECRET_KEYS: Final = ("apiSecret", "serviceAccountSecret")

# The UI offers the emoji values, labelled as Segment labels them; the plain codes are accepted
# from API/config imports (M5). Each emoji value is the code, one space, then the flag.
REGION_CHOICES: Final = (("US 🇺🇸", "US 🇺🇸"), ("EU 🇪🇺", "EU 🇪🇺"), ("IN 🇮🇳", "IN 🇮🇳"))
DEFAULT_REGION_CHOICE: Final = "US 🇺🇸"
_REGION_BY_VALUE: Final[dict[str, Region]] = {
    "US 🇺🇸": "US",
    "EU 🇪🇺": "EU",
    "IN 🇮🇳": "IN",
    "US": "US",
    "EU": "EU",
    "IN": "IN",
}
REGION_HOSTS: Final[dict[Region, str]] = {
    "US": "https://api.mixpanel.com",
    "EU": "https://api-eu.mixpanel.com",
    "IN": "https://api-in.mixpanel.com",
}

MESSAGES: Final = {
    "projectToken": "The root value is missing the required field 'projectToken'.",
    "apiRegion": ('Data Residency must be one of: "US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳", "US", "EU", or "IN".'),
    "strictMode": 'Strict Mode must be one of: "1" or "0".',
    "idMergeMode": 'ID Merge Mode must be one of: "simplified" or "original".',
    "serviceAccountPair": (
        "Service Account Username and Service Account Secret must be set together."
    ),
    "projectId": "Project ID is required (digits only) when a service account is set.",
}


@dataclass(frozen=True)
class SettingField:
    """One destination setting as the settings form shows it (§3.1)."""

    key: str
    label: str
    type: Literal["string", "secret"]
    required: bool
    help_text: str
    secret: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label shown)
    default: str | None = None


SETTINGS: Final[tuple[SettingField, ...]] = (
    SettingField(
        key="projectToken",
        label="Project Token",
        type="string",
        required=True,
        help_text=(
            "Mixpanel → Project Settings → Access Keys → Project Token. Sent in the body of "
            "profile, group and identity requests, and used to authenticate /import when no "
            "service account or secret is set. It is public by design (every web page that uses "
            "Mixpanel ships it), so it is not treated as a secret."
        ),
    ),
    SettingField(
        key="apiSecret",
        label="Secret Key",
        type="secret",
        required=False,
        secret=True,
        help_text=(
            "Mixpanel → Project Settings → Access Keys → Project Secret. Authenticates /import when "
            "no service account is set. Mixpanel retires API-secret authentication on 2027-03-03: "
            "prefer a service account."
        ),
    ),
    SettingField(
        key="serviceAccountUsername",
        label="Service Account Username",
        type="string",
        required=False,
        help_text=(
            "Mixpanel → Organization Settings → Service Accounts. The account needs the Owner or "
            "Admin role on this project to use /import. Set it together with its secret and the "
            "Project ID."
        ),
    ),
    SettingField(
        key="serviceAccountSecret",
        label="Service Account Secret",
        type="secret",
        required=False,
        secret=True,
        help_text=(
            "Shown once by Mixpanel when the service account is created (Organization Settings → "
            "Service Accounts)."
        ),
    ),
    SettingField(
        key="projectId",
        label="Project ID",
        type="string",
        required=False,
        help_text=(
            "Mixpanel → Project Settings → Overview → Project ID (digits). Required with a service "
            "account: it is sent as ?project_id= on /import."
        ),
    ),
    SettingField(
        key="apiRegion",
        label="Data Residency",
        type="string",
        required=False,
        choices=REGION_CHOICES,
        default=DEFAULT_REGION_CHOICE,
        help_text=(
            "Mixpanel → Project Settings → Overview → Data Residency. It must match the project: "
            "Mixpanel silently drops data sent to the wrong region's servers."
        ),
    ),
    SettingField(
        key="sourceName",
        label="Source Name",
        type="string",
        required=False,
        help_text=(
            "Optional. When not blank, sent as the segment_source_name property on events "
            "(Track Event, Track Purchase and identity events), never on profiles or groups."
        ),
    ),
    SettingField(
        key="strictMode",
        label="Strict Mode",
        type="string",
        required=False,
        choices=(("1", "On"), ("0", "Off")),
        default="1",
        help_text=(
            "On (recommended): Mixpanel validates every /import record and reports each rejected "
            "one. Off: invalid records are dropped silently."
        ),
    ),
    SettingField(
        key="idMergeMode",
        label="ID Merge Mode",
        type="string",
        required=False,
        choices=(("simplified", "Simplified"), ("original", "Original")),
        default="simplified",
        help_text=(
            "Pick the mode shown under Mixpanel → Project Settings → Identity Merge; it cannot be "
            "changed once the project has data. Simplified (the default since 2024) merges a device "
            "into a user on any event carrying both $user_id and $device_id; Original uses "
            "$identify and $create_alias events."
        ),
    ),
)


def normalize_region(value: Any) -> Region | None:
    """``"EU 🇪🇺"``/``"EU"`` → ``"EU"``; unset (``None`` or ``""``) → ``"US"``; else ``None``.

    >>> normalize_region("IN 🇮🇳"), normalize_region(None), normalize_region("eu")
    ('IN', 'US', None)
    """
    if value is None or value == "":
        return "US"
    if isinstance(value, str):
        return _REGION_BY_VALUE.get(value)
    return None


def region_host(region: str | None) -> str:
    """The ingestion host for a region (§3.2); accepts normalized codes and the emoji values.

    Raises ``ValueError`` for anything else. The deployment override ``SEGMIX_MIXPANEL_API_URL``
    is applied by request building, not here.
    """
    code = normalize_region(region)
    if code is None:
        raise ValueError(f"unknown Mixpanel region: {region!r}")
    return REGION_HOSTS[code]


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _as_text(value: Any) -> str | None:
    """A setting as text: strings as they are, JSON numbers the JavaScript way, else ``None``."""
    if isinstance(value, str):
        return value
    if js_type(value) == "number":
        return js_number_to_string(value)
    return None


def _optional_text(raw: Mapping[str, Any], key: str, label: str, errors: list[str]) -> str | None:
    value = raw.get(key)
    if _is_blank(value):
        return None
    text = _as_text(value)
    if text is None:
        errors.append(f"{label} must be a string but it was {_article_type(value)}.")
    return text


def _article_type(value: Any) -> str:
    kind = js_type(value)
    if kind == "null":
        return "null"
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def validate_settings(raw: Mapping[str, Any]) -> MixpanelSettings:
    """Validate stored settings (§3.3) and normalize them (§3.2, M3, M5).

    * blank strings count as unset (``sourceName``, secrets, service account, ``projectId``);
    * ``apiRegion`` emoji values and plain codes become ``"US"``/``"EU"``/``"IN"``;
    * ``strictMode`` numbers ``1``/``0`` become ``"1"``/``"0"``; ``projectId`` numbers become text;
    * unknown keys are ignored.

    Raises :class:`SettingsError` with every problem's message (§3.3 texts), in the table's order.

    >>> validate_settings({"projectToken": "t", "projectId": 2218841}).project_id
    '2218841'
    >>> validate_settings({"apiRegion": "Mars"})
    Traceback (most recent call last):
    ...
    mappings.destinations.mixpanel.types.SettingsError: The root value is missing the required field 'projectToken'.
    Data Residency must be one of: "US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳", "US", "EU", or "IN".
    """
    if not isinstance(raw, Mapping):
        raise SettingsError([MESSAGES["projectToken"]])
    errors: list[str] = []

    token = raw.get("projectToken")
    project_token = None if _is_blank(token) else _as_text(token)
    if _is_blank(token):
        errors.append(MESSAGES["projectToken"])
    elif project_token is None:
        errors.append(f"Project Token must be a string but it was {_article_type(token)}.")

    region = normalize_region(raw.get("apiRegion"))
    if region is None:
        errors.append(MESSAGES["apiRegion"])

    strict = raw.get("strictMode")
    strict_mode: Literal["1", "0"] = "1"
    if strict is None or strict == "":
        strict_mode = "1"
    elif js_type(strict) in ("string", "number") and _as_text(strict) in ("1", "0"):
        strict_mode = "1" if _as_text(strict) == "1" else "0"
    else:
        errors.append(MESSAGES["strictMode"])

    merge = raw.get("idMergeMode")
    id_merge_mode: Literal["simplified", "original"] = "simplified"
    if merge in (None, ""):
        id_merge_mode = "simplified"
    elif merge in ("simplified", "original") and isinstance(merge, str):
        id_merge_mode = merge
    else:
        errors.append(MESSAGES["idMergeMode"])

    api_secret = _optional_text(raw, "apiSecret", "Secret Key", errors)
    sa_username = _optional_text(raw, "serviceAccountUsername", "Service Account Username", errors)
    sa_secret = _optional_text(raw, "serviceAccountSecret", "Service Account Secret", errors)
    project_id = _optional_text(raw, "projectId", "Project ID", errors)
    source_name = _optional_text(raw, "sourceName", "Source Name", errors)

    if (sa_username is None) != (sa_secret is None):
        errors.append(MESSAGES["serviceAccountPair"])
    if sa_username is not None or sa_secret is not None:
        if project_id is None or not (project_id.isascii() and project_id.isdigit()):
            errors.append(MESSAGES["projectId"])

    if errors:
        raise SettingsError(errors)
    assert project_token is not None and region is not None
    return MixpanelSettings(
        project_token=project_token,
        api_secret=api_secret,
        service_account_username=sa_username,
        service_account_secret=sa_secret,
        project_id=project_id,
        api_region=region,
        source_name=source_name,
        strict_mode=strict_mode,
        id_merge_mode=id_merge_mode,
    )
