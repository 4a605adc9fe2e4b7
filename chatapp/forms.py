"""The conversation settings form (the settings panel, and a new chat's first settings).

Its fields are `Conversation.SETTINGS`; the panel (templates/chat/_settings_form.html) is
rendered from it: labels, help, widgets, choices and current values all come from here.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .knowledge import usable
from .mcp_models import enabled_names
from .models import Conversation, KnowledgeBase
from .structured import parse_schema_text
from .tools import available as available_tools


class SettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    model = forms.ChoiceField(
        error_messages={"invalid_choice": _("Pick one of the listed models.")}
    )
    tools = forms.MultipleChoiceField(required=False, choices=[])
    # Servers the team admins registered and enabled; their headers never reach the page.
    mcp_servers = forms.MultipleChoiceField(
        required=False,
        choices=[],
        label=_("MCP servers"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Gemini may call the tools of these servers"),
    )
    response_schema = forms.CharField(
        required=False,
        max_length=20_000,
        label=_("JSON schema for structured answers"),
        help_text=_("optional"),
        widget=forms.Textarea(
            attrs={
                "id": "set-schema",
                "rows": 3,
                "spellcheck": "false",
                "class": "mono",
                "placeholder": '{"type": "object", "properties": {...}}',
            }
        ),
    )
    knowledge_bases = forms.ModelMultipleChoiceField(
        queryset=KnowledgeBase.objects.none(),
        required=False,
        label=_("Knowledge bases"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("answers search these documents and cite them"),
    )
    # The page's script posts the whole form: `required` attributes would add nothing.
    use_required_attribute = False

    class Meta:
        model = Conversation
        fields = Conversation.SETTINGS
        error_messages = {"thinking_level": {"invalid_choice": _("Unknown thinking level.")}}
        labels = {
            "thinking_level": _("Thinking"),
            "google_search": _("Google Search"),
            "google_maps": _("Google Maps"),
            "url_context": _("URL context"),
            "code_execution": _("Code execution"),
            "background": _("Run answers in the background"),
            "stateless": _("Keep nothing on Google's servers"),
        }
        help_texts = {
            "google_search": _("grounded answers with sources"),
            "google_maps": _("places near you, if you allow your location"),
            "url_context": _("read pages linked in the message"),
            "background": _("for long tasks: they finish even with this page closed"),
            "stateless": _("the whole conversation is re-sent with every message"),
        }
        widgets = {
            "system_instruction": forms.Textarea(
                attrs={
                    "id": "set-system",
                    "rows": 3,
                    "placeholder": _("How should the model behave in this conversation?"),
                }
            ),
            "temperature": forms.NumberInput(
                attrs={
                    "id": "set-temperature",
                    "min": 0,
                    "max": 2,
                    "step": 0.1,
                    "placeholder": _("default"),
                }
            ),
            "thinking_level": forms.Select(attrs={"id": "set-thinking"}),
            "background": forms.CheckboxInput(attrs={"id": "set-background"}),
            "stateless": forms.CheckboxInput(attrs={"id": "set-stateless"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self.fields["model"]
        assert isinstance(model, forms.ChoiceField)
        model.widget.attrs["id"] = "set-model"
        model.choices = [
            (group, [(name, name) for name in names])
            for group, names in settings.CHAT_MODELS.items()
        ]
        self.fields["tools"].choices = [(t.name, t.name) for t in available_tools()]
        bases = self.fields["knowledge_bases"]
        assert isinstance(bases, forms.ModelMultipleChoiceField)
        # Only the bases the conversation's owner may use (a view refuses others with a 404).
        owner = self.instance.owner if self.instance.owner_id else None
        bases.queryset = usable(owner) if owner is not None else KnowledgeBase.objects.none()
        if self.instance.pk:
            self.initial["knowledge_bases"] = list(
                bases.queryset.filter(pk__in=self.instance.knowledge_bases.all())
            )
        # Too long a schema gets the server's message, not a silent cut by the browser.
        self.fields["response_schema"].widget.attrs.pop("maxlength", None)
        self.initial["tools"] = self.instance.tools
        self.fields["mcp_servers"].choices = [(name, name) for name in enabled_names()]
        self.initial["mcp_servers"] = self.instance.mcp_servers
        if not self.instance.pk:
            self.initial["model"] = self.instance.model or settings.DEFAULT_MODEL
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
        conversation.mcp_servers = list(self.cleaned_data.get("mcp_servers") or [])
        conversation.response_schema = self.cleaned_data.get("response_schema")
        if commit:
            conversation.save()
            conversation.knowledge_bases.set(self.cleaned_data.get("knowledge_bases") or [])
        return conversation

    def clean_temperature(self) -> float | None:
        value = self.cleaned_data.get("temperature")
        if value is not None and not 0 <= value <= 2:
            raise forms.ValidationError(_("Temperature goes from 0 to 2."))
        return value  # type: ignore[no-any-return]
