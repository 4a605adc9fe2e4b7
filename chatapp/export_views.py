"""Export (Markdown of the branch on screen, JSON of the whole tree) and import views."""

from __future__ import annotations

import json
import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe

from . import export, importer
from .file_views import MULTIPART_OVERHEAD
from .models import owned_conversation_or_404

audit = logging.getLogger("chatapp.audit")


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error(message: str, status: int, path: str) -> JsonResponse:
    # `errors` is what static/js/http.js shows; `error` matches the upload endpoint; `field`
    # is where in the document the error is (`turns[2].created`).
    return JsonResponse(
        {"error": message, "errors": {"file": [message]}, "field": path}, status=status
    )


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
    text = export.export_markdown(conversation, _base_url(request), request.GET.get("leaf"))
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


# As for uploads: the size is checked before the CSRF middleware would read the whole body,
# and the CSRF check runs right after, in `_import`.
@csrf_exempt
@login_required
@require_POST
def import_conversation(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > importer.MAX_IMPORT_BYTES + MULTIPART_OVERHEAD:
        limit = importer.MAX_IMPORT_BYTES // 2**20
        return _error(f"That file is too large: imports are limited to {limit} MB.", 413, "file")
    return _import(request)


@csrf_protect
def _import(request: HttpRequest) -> HttpResponse:
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return _error("Choose one JSON export file to import.", 400, "file")
    upload = files[0]
    if upload.size is not None and upload.size > importer.MAX_IMPORT_BYTES:
        limit = importer.MAX_IMPORT_BYTES // 2**20
        return _error(f"That file is too large: imports are limited to {limit} MB.", 413, "file")
    raw = upload.read(importer.MAX_IMPORT_BYTES + 1)
    try:
        conversation, notes = importer.import_conversation(request.user, raw)
    except importer.ImportRefused as refused:
        return _error(refused.message, refused.status, refused.field)
    if not _wants_json(request):
        return redirect(conversation.get_absolute_url())
    result = {
        "id": conversation.pk,
        "url": conversation.get_absolute_url(),
        "title": conversation.title,
        "turns": conversation.turns.count(),
        "notes": notes,
    }
    return JsonResponse(result, status=201)
