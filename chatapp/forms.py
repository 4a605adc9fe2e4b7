"""The conversation settings form (the settings panel, and a new chat's first settings)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from .models import Conversation
from .structured import parse_schema_text
from .tools import available as available_tools


class SettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    tools = forms.MultipleChoiceField(required=False, choices=[])
    response_schema = forms.CharField(required=False, max_length=20_000)

    class Meta:
        model = Conversation
        fields = Conversation.SETTINGS
        error_messages = {"thinking_level": {"invalid_choice": "Unknown thinking level."}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tools"].choices = [(t.name, t.name) for t in available_tools()]
        if self.instance.pk:
            self.initial["tools"] = self.instance.tools
            schema = self.instance.response_schema
            self.initial["response_schema"] = json.dumps(schema, indent=2) if schema else ""

    def clean_response_schema(self) -> dict[str, Any] | None:
        schema, errors = parse_schema_text(self.cleaned_data.get("response_schema") or "")
        if errors:
            raise forms.ValidationError(errors)
        return schema

    def save(self, commit: bool = True) -> Conversation:
        conversation: Conversation = super().save(commit=False)
        conversation.tools = list(self.cleaned_data.get("tools") or [])
        conversation.response_schema = self.cleaned_data.get("response_schema")
        if commit:
            conversation.save()
        return conversation

    def clean_model(self) -> str:
        model = str(self.cleaned_data["model"])
        if not any(model in names for names in settings.CHAT_MODELS.values()):
            raise forms.ValidationError("Pick one of the listed models.")
        return model

    def clean_temperature(self) -> float | None:
        value = self.cleaned_data.get("temperature")
        if value is not None and not 0 <= value <= 2:
            raise forms.ValidationError("Temperature goes from 0 to 2.")
        return value  # type: ignore[no-any-return]
