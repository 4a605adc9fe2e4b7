"""Export (Markdown of the branch on screen, JSON of the whole tree) and import views."""

from __future__ import annotations

import json
import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from . import export, importer
from .file_views import MULTIPART_OVERHEAD
from .models import owned_conversation_or_404
from .responses import (
    base_url,
    error_response,
    size_checked_then_csrf,
    user_error_response,
    wants_json,
)

audit = logging.getLogger("chatapp.audit")


# --- export ---


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def export_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    text = export.export_markdown(conversation, base_url(request), request.GET.get("leaf"))
    audit.info("export md by user %s: conversation %s", request.user.pk, conversation.pk)
    filename = export.export_filename(conversation, "md")
    return _download(text, "text/markdown; charset=utf-8", filename)


@login_required
@require_safe
def export_json(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    body = json.dumps(export.export_data(conversation), ensure_ascii=False, indent=2)
    audit.info("export json by user %s: conversation %s", request.user.pk, conversation.pk)
    filename = export.export_filename(conversation, "json")
    return _download(body, "application/json; charset=utf-8", filename)


# --- import ---


def _too_large() -> str:
    limit = importer.MAX_IMPORT_BYTES // 2**20
    return gettext("That file is too large: imports are limited to %s MB.") % limit


@csrf_exempt
@login_required
@require_POST
@size_checked_then_csrf(lambda: importer.MAX_IMPORT_BYTES + MULTIPART_OVERHEAD, _too_large)
def import_conversation(request: HttpRequest) -> HttpResponse:
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return error_response(
            gettext("Choose one JSON export file to import."), key="file", field="file"
        )
    upload = files[0]
    if upload.size is not None and upload.size > importer.MAX_IMPORT_BYTES:
        return error_response(_too_large(), 413, key="file", field="file")
    raw = upload.read(importer.MAX_IMPORT_BYTES + 1)
    try:
        conversation, notes = importer.import_conversation(request.user, raw)
    except importer.ImportRefused as refused:
        return user_error_response(refused, key="file")
    if not wants_json(request):
        return redirect(conversation.get_absolute_url())
    result = {
        "id": conversation.pk,
        "url": conversation.get_absolute_url(),
        "title": conversation.title,
        "turns": conversation.turns.count(),
        "notes": notes,
    }
    return JsonResponse(result, status=201)
