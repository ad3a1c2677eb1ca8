"""The small forms of the Mappings tab: toggles, rename, reorder and "New Mapping"."""

from __future__ import annotations

from django import forms

from ..destinations.mixpanel.actions import ACTIONS
from ..models import Destination, Mapping


class ToggleForm(forms.Form):
    """An explicit on/off (``enabled=1`` or ``0``), so a repeated click cannot flip it back."""

    enabled = forms.TypedChoiceField(
        choices=(("1", "On"), ("0", "Off")), coerce=lambda value: value == "1"
    )


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=(("up", "Move up"), ("down", "Move down")))


class MappingRenameForm(forms.Form):
    """A mapping's new name: not blank, unique within its destination."""

    name = forms.CharField(label="New name", max_length=200)

    def __init__(self, *args, mapping: Mapping, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = mapping
        # Unique ids per row: several rename forms share one page.
        self.auto_id = f"id_rename_{mapping.pk}_%s"
        self.fields["name"].initial = mapping.name

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter a name.")
        taken = (
            Mapping.objects.filter(destination_id=self.mapping.destination_id, name=name)
            .exclude(pk=self.mapping.pk)
            .exists()
        )
        if taken:
            raise forms.ValidationError("Another mapping of this destination has this name.")
        return name


class NewMappingForm(forms.Form):
    """Which action the new mapping performs (the editor takes it from there)."""

    action = forms.ChoiceField(
        label="Action",
        choices=[(action.id, action.title) for action in ACTIONS],
        widget=forms.RadioSelect,
    )


def unique_mapping_name(destination: Destination, wanted: str) -> str:
    """``wanted``, or ``wanted 2``, ``wanted 3``… whichever is free on ``destination``."""
    wanted = wanted[:190]  # room for the suffix within the 200-character column
    taken = set(destination.mappings.values_list("name", flat=True))
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted} {number}" in taken:
        number += 1
    return f"{wanted} {number}"
