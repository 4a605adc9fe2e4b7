"""Folders ("projects"): the settings a chat made in a folder starts with, moving a chat in
or out, and the folder form. Every folder is looked up through its owner (else a 404)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_lazy

from .folder_models import Folder
from .models import Conversation
from .protocol import ClientError
from .sidebar import folder_or_404
from .tools import available as available_tools


def apply_defaults(conversation: Conversation, folder: Folder) -> None:
    """A new chat in `folder`: in it, with the folder's model, instruction and tools."""
    conversation.folder = folder
    if folder.model:
        conversation.model = folder.model
    conversation.system_instruction = folder.system_instruction
    for switch in Conversation.GROUNDING:
        setattr(conversation, switch, getattr(folder, switch))
    usable = {tool.name for tool in available_tools()}
    conversation.tools = [name for name in folder.tools if name in usable]


def owned_folder(user: Any, pk: int | None) -> Folder | None:
    """For the websocket: the sender's folder, a `ClientError` for anyone else's."""
    if pk is None:
        return None
    folder: Folder | None = Folder.objects.filter(pk=pk, owner=user).first()
    if folder is None:
        raise ClientError("not_found", gettext("No such folder."))
    return folder


def posted_folder(request: HttpRequest) -> Folder | None:
    wanted = request.POST.get("folder", "")
    return folder_or_404(request, wanted) if wanted else None


def move(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    """Into the posted folder, or out of any folder when none is posted."""
    conversation.folder = posted_folder(request)
    conversation.save(update_fields=["folder"])
    return JsonResponse({"ok": True, "folder": conversation.folder_id})


def _model_choices() -> list[Any]:
    groups = [(group, [(n, n) for n in names]) for group, names in settings.CHAT_MODELS.items()]
    return [("", gettext_lazy("Default model")), *groups]


class FolderForm(forms.ModelForm):  # type: ignore[type-arg]
    model = forms.ChoiceField(required=False, label=gettext_lazy("Model"))
    tools = forms.MultipleChoiceField(required=False, choices=[], label=gettext_lazy("Tools"))

    class Meta:
        model = Folder
        fields = ("name", "model", "system_instruction", *Conversation.GROUNDING, "tools")
        error_messages = {"name": {"required": gettext_lazy("A folder needs a name.")}}
        labels = {
            "name": gettext_lazy("Name"),
            "system_instruction": gettext_lazy("System instruction"),
            "google_search": gettext_lazy("Google Search"),
            "google_maps": gettext_lazy("Google Maps"),
            "url_context": gettext_lazy("URL context"),
            "code_execution": gettext_lazy("Code execution"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self.fields["model"]
        assert isinstance(model, forms.ChoiceField)
        model.choices = _model_choices()
        tools = self.fields["tools"]
        assert isinstance(tools, forms.MultipleChoiceField)
        tools.choices = [(t.name, t.name) for t in available_tools()]

    def clean_name(self) -> str:
        name = str(self.cleaned_data.get("name", "")).replace("\x00", "").strip()
        if not name:
            raise forms.ValidationError(gettext("A folder needs a name."))
        return name

    def save(self, commit: bool = True) -> Folder:
        folder: Folder = super().save(commit=False)
        folder.tools = list(self.cleaned_data.get("tools") or [])
        if commit:
            folder.save()
        return folder
