"""The Mixpanel destination form: name, sources and the declared settings (spec §3).

The settings fields are generated from ``settings_schema.SETTINGS`` (labels, help texts, choices,
which inputs are secret), so the form cannot drift from what validation accepts. Secrets are never
rendered back: their inputs are always empty; blank keeps the stored value, the "remove" checkbox
clears it. ``clean()`` builds Segment-keyed settings (``raw_settings``) and runs the same
``validate_settings`` the workers run, attaching each message to the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import transaction

from ..configuration import create_destination
from ..destinations.mixpanel.settings_schema import (
    MESSAGES,
    REGION_CHOICES,
    SETTINGS,
    SettingField,
    normalize_region,
    validate_settings,
)
from ..destinations.mixpanel.types import SettingsError
from ..models import Destination, Source

# How the seed's "Basic Settings" are grouped on the page, in order.
FIELDSETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Project",
        "Find these under Mixpanel → Project Settings (Overview and Access Keys).",
        ("projectToken", "apiRegion"),
    ),
    (
        "Authentication for /import",
        "Recommended: a service account (Organization Settings → Service Accounts, Owner or "
        "Admin role on the project) with the project ID. The project secret still works until "
        "Mixpanel retires it on 2027-03-03. With neither, the project token authenticates.",
        ("serviceAccountUsername", "serviceAccountSecret", "projectId", "apiSecret"),
    ),
    ("Behaviour", "", ("strictMode", "idMergeMode", "sourceName")),
)

# validate_settings message → the form field it is about (None: about several, shown on top).
_MESSAGE_FIELDS: dict[str, str | None] = {
    MESSAGES["projectToken"]: "projectToken",
    MESSAGES["apiRegion"]: "apiRegion",
    MESSAGES["strictMode"]: "strictMode",
    MESSAGES["idMergeMode"]: "idMergeMode",
    MESSAGES["serviceAccountPair"]: None,
    MESSAGES["projectId"]: "projectId",
}
_BY_KEY = {setting.key: setting for setting in SETTINGS}


def remove_field_name(key: str) -> str:
    return f"{key}__remove"


@dataclass(frozen=True)
class FieldRow:
    """One setting as the template lays it out."""

    field: forms.BoundField
    secret: bool = False
    secret_set: bool = False
    remove: forms.BoundField | None = None


class DestinationForm(forms.Form):
    """Create (``destination=None``) or edit a Mixpanel destination."""

    name = forms.CharField(
        label="Destination name",
        max_length=200,
        help_text="For people, e.g. “Mixpanel production”.",
    )
    sources = forms.ModelMultipleChoiceField(
        label="Send the events of these sources",
        queryset=Source.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Pick one or more. You can change this later.",
    )

    def __init__(self, *args: Any, destination: Destination | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.destination = destination
        self.stored_secrets: dict[str, str] = destination.secret_values() if destination else {}
        self.raw_settings: dict[str, Any] = {}
        for setting in SETTINGS:
            self.fields[setting.key] = _setting_field(setting, self.stored_secrets)
            if setting.secret and setting.key in self.stored_secrets:
                self.fields[remove_field_name(setting.key)] = forms.BooleanField(
                    label=f"Remove the stored {setting.label}", required=False
                )
        if destination is None:
            # The seed's flow: the enable toggle comes last, after the credentials.
            self.fields["enabled"] = forms.BooleanField(
                label="Enable this destination",
                required=False,
                help_text="Nothing is sent to Mixpanel while it is off. You can turn it on later.",
            )
        else:
            self.initial.setdefault("name", destination.name)
            self.initial.setdefault("sources", list(destination.sources.all()))
            for key, value in destination.settings.items():
                if key in _BY_KEY and not _BY_KEY[key].secret:
                    self.initial.setdefault(key, _initial_value(key, value))

    # Layout ------------------------------------------------------------------------------------

    def fieldsets(self) -> list[tuple[str, str, list[FieldRow]]]:
        out = []
        for legend, description, keys in FIELDSETS:
            rows = []
            for key in keys:
                setting = _BY_KEY[key]
                remove = remove_field_name(key)
                rows.append(
                    FieldRow(
                        field=self[key],
                        secret=setting.secret,
                        secret_set=key in self.stored_secrets,
                        remove=self[remove] if remove in self.fields else None,
                    )
                )
            out.append((legend, description, rows))
        return out

    # Saving ------------------------------------------------------------------------------------

    def save(self) -> Destination:
        """Create the destination (with the six presets) or update it. Call after ``is_valid``.

        Updating saves the row, which moves ``updated_at``: a destination paused by an auth
        failure resumes with its new settings (``delivery.claim``, spec §15).
        """
        data = self.cleaned_data
        if self.destination is None:
            return create_destination(
                data["name"],
                self.raw_settings,
                sources=list(data["sources"]),
                enabled=data.get("enabled", False),
            )
        destination = self.destination
        with transaction.atomic():
            destination.name = data["name"]
            destination.set_all_settings(self.raw_settings)
            destination.save()
            destination.sources.set(data["sources"])
        return destination

    def settings_errors(self) -> bool:
        """Whether anything but the name and sources is wrong (the credential check needs only
        the settings)."""
        return any(key not in ("name", "sources") for key in self.errors)

    # Validation --------------------------------------------------------------------------------

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter a name.")
        clash = Destination.objects.filter(name=name)
        if self.destination is not None:
            clash = clash.exclude(pk=self.destination.pk)
        if clash.exists():
            raise forms.ValidationError("A destination with this name already exists.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        raw: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.secret:
                value = self._secret_value(setting, cleaned)
            else:
                value = (cleaned.get(setting.key) or "").strip()
            if value:
                raw[setting.key] = value
        try:
            validate_settings(raw)
        except SettingsError as exc:
            for message in exc.messages:
                field = _MESSAGE_FIELDS.get(message)
                if field is None or field not in self.errors:
                    self.add_error(field, message)
        self.raw_settings = raw
        return cleaned

    def _secret_value(self, setting: SettingField, cleaned: dict[str, Any]) -> str:
        typed = (cleaned.get(setting.key) or "").strip()
        remove = bool(cleaned.get(remove_field_name(setting.key)))
        if typed and remove:
            self.add_error(setting.key, "Type a new value or tick “remove”, not both.")
            return ""
        if typed:
            return typed
        if remove:
            return ""
        return self.stored_secrets.get(setting.key, "")


def _setting_field(setting: SettingField, stored_secrets: dict[str, str]) -> forms.Field:
    help_text = setting.help_text
    if setting.secret:
        if setting.key in stored_secrets:
            help_text += " A value is stored: leave this blank to keep it."
        # render_value=False: a secret never travels back to the browser, even after an error.
        widget = forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        )
        return forms.CharField(
            label=setting.label, required=False, help_text=help_text, widget=widget, strip=True
        )
    if setting.choices:
        return forms.ChoiceField(
            label=setting.label,
            choices=setting.choices,
            initial=setting.default,
            required=False,
            help_text=help_text,
        )
    return forms.CharField(
        label=setting.label,
        required=setting.required,
        help_text=help_text,
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": f"Enter the {setting.label.lower()}."},
    )


def _initial_value(key: str, value: Any) -> Any:
    """Stored values as the form's choices spell them (config imports may use plain codes)."""
    if key == "apiRegion":
        code = normalize_region(value)
        return _REGION_VALUES.get(code, value)
    return "" if value is None else str(value)


# "EU" → "EU 🇪🇺": the value the region select offers for each code.
_REGION_VALUES = {normalize_region(value): value for value, _ in REGION_CHOICES}
