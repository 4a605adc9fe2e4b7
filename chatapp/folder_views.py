"""Folder pages and actions: create, read for editing, edit, delete (its chats move out)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from .folder_models import Folder
from .folders import FolderForm
from .responses import form_error_response
from .sidebar import folder_or_404


@require_POST
@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = FolderForm(request.POST, instance=Folder(owner=request.user))
    if not form.is_valid():
        return form_error_response(form)
    folder = form.save()
    return JsonResponse({"id": folder.pk, "url": folder.get_absolute_url()})


@require_GET
@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The folder's name and defaults, to fill the edit dialog."""
    folder = folder_or_404(request, pk)
    fields = ("name", "model", "system_instruction", "tools", *Folder.DEFAULTS[2:])
    return JsonResponse({"id": folder.pk, **{name: getattr(folder, name) for name in fields}})


@require_POST
@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = FolderForm(request.POST, instance=folder_or_404(request, pk))
    if not form.is_valid():
        return form_error_response(form)
    folder = form.save()
    return JsonResponse({"id": folder.pk, "name": folder.name})


@require_POST
@login_required
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """The folder goes; its chats stay, in no folder (Conversation.folder is SET_NULL)."""
    folder_or_404(request, pk).delete()
    return JsonResponse({"ok": True})
