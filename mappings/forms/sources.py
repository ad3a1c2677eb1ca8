"""Creating and renaming a source."""

from __future__ import annotations

from django import forms

from ..models import Source


class SourceForm(forms.ModelForm):
    """A source's name (unique). The write key is generated, never typed."""

    class Meta:
        model = Source
        fields = ["name"]
        labels = {"name": "Source name"}
        help_texts = {"name": "For people: shown in the console and the debugger."}
        error_messages = {"name": {"unique": "A source with this name already exists."}}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter a name.")
        return name
