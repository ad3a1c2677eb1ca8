"""The mapping editor's forms: the whole editor state, and the Event Content test payload.

:class:`MappingEditorForm` reads everything the editor posts (name, enabled, trigger, field
mappings) through :class:`~.editor_trigger.TriggerForm` and :func:`~.editor_fields.parse_fields`;
saving, the builder re-render, the field re-render, the preview, the impact check and the test
send all use it, so they all see the same mapping. :func:`editor_data` is its inverse: the form
data that shows a stored mapping.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from ..configuration import mapping_problems
from ..destinations.mixpanel.actions import ActionDefinition, get_action
from ..evaluation import MappingConfig
from ..models import Destination, Mapping
from ..views.event_samples import SAMPLE_TYPES
from .editor_fields import FieldInput, fields_data, parse_fields, parse_json_text, pretty_json
from .editor_trigger import TriggerForm, trigger_data

_PROBLEM_KEY = re.compile(r"^/([^/ ]*)")
MAX_PAYLOAD_CHARS = 512 * 1024


def editor_data(mapping: Mapping, *, payload: Any = None) -> dict[str, str]:
    """Form data that shows ``mapping`` as stored (and ``payload`` in Event Content)."""
    data = {"name": mapping.name, **trigger_data(mapping.trigger)}
    if mapping.enabled:
        data["enabled"] = "on"
    data.update(fields_data(get_action(mapping.action), mapping.mapping))
    if payload is not None:
        data["payload"] = pretty_json(payload)
    return data


class PayloadForm(forms.Form):
    """The Event Content test event. ``event`` is the parsed object (``None`` when empty)."""

    payload = forms.CharField(
        label="Test event (Segment JSON)",
        required=False,
        strip=False,
        max_length=MAX_PAYLOAD_CHARS,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
    )
    event_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    sample_type = forms.ChoiceField(
        label="Event type", choices=[(t, t) for t in SAMPLE_TYPES], required=False
    )
    matching_only = forms.BooleanField(label="Only events that match the trigger", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event: dict[str, Any] | None = None

    def clean_payload(self) -> str:
        text = self.cleaned_data.get("payload") or ""
        if not text.strip():
            return ""
        try:
            value = parse_json_text(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The test event must be a JSON object: { … }.")
        self.event = value
        return text


class MappingEditorForm(forms.Form):
    """Everything the editor posts, for one mapping (whose action does not change here).

    After ``is_valid()`` (or ``errors``): ``trigger`` (the trigger form), ``inputs`` (one
    :class:`FieldInput` per action field, errors attached), ``mapping`` (the mapping-kit JSON the
    inputs make), ``problems`` (messages not about one field). ``config()`` gives what the
    preview evaluates even when the form is not valid yet.
    """

    name = forms.CharField(label="Mapping name", max_length=200)
    enabled = forms.BooleanField(label="Enabled", required=False)

    def __init__(self, *args: Any, mapping: Mapping, trigger_actions: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.instance = mapping
        self.action: ActionDefinition = get_action(mapping.action)
        self.trigger = TriggerForm(self.data, actions=trigger_actions)
        self.inputs: list[FieldInput] = []
        self.mapping: dict[str, Any] = {}
        self.problems: list[str] = []
        self.input_errors = False

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter a name.")
        taken = Mapping.objects.filter(destination_id=self.instance.destination_id, name=name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another mapping of this destination has this name.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.inputs, self.mapping, self.problems = parse_fields(self.data, self.action)
        by_key = {item.key: item for item in self.inputs}
        for item in self.inputs:
            if item.value.error:
                item.errors.append(item.value.error)
                self.input_errors = True
            elif item.field.required and item.key not in self.mapping:
                item.errors.append(f"{item.field.label} is required: map it to something.")
        trigger_ok = self.trigger.is_valid()
        if not self.input_errors and not self.problems:
            for problem in mapping_problems(self.trigger.fql, self.action.id, self.mapping):
                if not problem.startswith("mapping: "):
                    continue  # trigger problems are the trigger form's to report
                text = problem.removeprefix("mapping: ")
                match = _PROBLEM_KEY.match(text)
                if match and match.group(1) in by_key:
                    by_key[match.group(1)].errors.append(text)
                else:
                    self.problems.append(text)
        if not trigger_ok or self.problems or any(item.errors for item in self.inputs):
            self.add_error(None, "The mapping cannot be saved yet: see the messages below.")
        return cleaned

    def input_problems(self) -> list[str]:
        """ "<Field label>: <problem>" for every input that cannot be read (plus other keys)."""
        if not hasattr(self, "cleaned_data"):
            self.full_clean()
        return [f"{i.field.label}: {i.value.error}" for i in self.inputs if i.value.error] + [
            *self.problems
        ]

    def config(self) -> MappingConfig | None:
        """The mapping as edited, for evaluation (``None`` while a field's input is unusable).

        The trigger is the canonical text when it parses, else the text as typed, so the
        evaluation itself reports the invalid trigger.
        """
        if not hasattr(self, "cleaned_data"):
            self.full_clean()
        if self.input_errors or self.problems:
            return None
        trigger = self.trigger.fql or self.trigger.raw
        return MappingConfig(
            name=self.cleaned_data.get("name") or self.instance.name,
            trigger=trigger,
            action=self.instance.action,
            mapping=self.mapping,
            enabled=True,
            id=self.instance.pk,
            version=self.instance.version,
        )


class TestSendForm(forms.Form):
    """Where "Send test event" goes: this destination's project, or another Mixpanel
    destination's (a non-production project, ideally)."""

    test_target = forms.ModelChoiceField(
        label="Send to", queryset=Destination.objects.none(), required=False, empty_label=None
    )

    def __init__(self, *args: Any, destination: Destination, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.destination = destination
        field = self.fields["test_target"]
        field.queryset = Destination.objects.filter(kind=destination.kind).order_by("name")
        field.initial = destination.pk

    def target(self) -> Destination:
        return self.cleaned_data.get("test_target") or self.destination
