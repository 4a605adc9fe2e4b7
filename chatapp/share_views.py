"""Share links (owner's side and the public page), export and import.

The public views need no sign-in: the token is the capability. Unknown, malformed and
revoked tokens all get the same 404 page; another user's conversation or link is a 404 too.
A shared page is served as stored when the link was made (`sharing.stored_page`); anonymous
visitors over `SHARE_VIEWS_PER_MINUTE` get a 429 page, whatever the token.
"""

from __future__ import annotations

import json
import logging
import uuid as uuid_lib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST, require_safe

from . import limits, sharing
from .file_views import FILE_HEADERS, INLINE_TYPES, MULTIPART_OVERHEAD, download_name
from .models import owned_conversation_or_404

audit = logging.getLogger("chatapp.audit")

# Public pages of a share link: never indexed, never leaking the token through a Referer,
# never kept by a shared cache after a revoke.
PUBLIC_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error(
    message: str, status: int = 400, field: str = "share", path: str | None = None
) -> JsonResponse:
    # `errors` is what static/js/http.js shows; `error` matches the upload endpoint. `field`,
    # when given, is where in a document the error is (`turns[2].created`).
    body: dict[str, object] = {"error": message, "errors": {field: [message]}}
    if path is not None:
        body["field"] = path
    return JsonResponse(body, status=status)


# --- the owner's side ---


@login_required
@require_POST
def create_share(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    try:
        link = sharing.create_link(request.user, conversation, request.POST.get("leaf"))
    except sharing.ShareError as error:
        return _error(error.message, error.status)
    return JsonResponse(sharing.link_json(link, _base_url(request)), status=201)


@login_required
@require_GET
def list_shares(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    links = conversation.share_links.order_by("-created", "-pk").defer("html")
    base = _base_url(request)
    return JsonResponse({"links": [sharing.link_json(link, base) for link in links]})


@require_POST
def revoke_share(request: HttpRequest, token: str) -> HttpResponse:
    link = sharing.owned_link(request.user, token)
    if link is None:
        return _not_found(request)
    sharing.revoke(request.user, link)
    return JsonResponse(sharing.link_json(link, _base_url(request)))


# --- the public side ---


def _not_found(request: HttpRequest) -> HttpResponse:
    response = render(request, "share/not_found.html", status=404)
    for header, value in PUBLIC_HEADERS.items():
        response[header] = value
    return response


def _throttled(request: HttpRequest, wait: int) -> HttpResponse:
    response = render(request, "share/throttled.html", {"wait": wait}, status=429)
    response["Retry-After"] = str(wait)
    for header, value in PUBLIC_HEADERS.items():
        response[header] = value
    return response


@require_safe
def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    # Before the lookup: unknown tokens count too, so guessing costs as much as reading.
    wait = sharing.throttle_wait(request)
    if wait:
        return _throttled(request, wait)
    link = sharing.active_link(token, defer=("snapshot",))
    if link is None:
        return _not_found(request)
    context = {
        "link": link,
        "title": link.title,
        "body": sharing.stored_page(link),
        # The snapshot's own badge, not this server's current upstream.
        "using_simulator": link.simulated,
    }
    response = render(request, "share/shared.html", context)
    for header, value in PUBLIC_HEADERS.items():
        response[header] = value
    return response


@require_safe
def shared_file(request: HttpRequest, token: str, uuid: uuid_lib.UUID) -> HttpResponse:
    link = sharing.active_link(token, defer=("snapshot", "html"))
    attachment = sharing.shared_file(link, uuid) if link else None
    if attachment is None:
        return _not_found(request)
    if not request.user.is_authenticated:
        budget = settings.SHARE_DOWNLOAD_MB_PER_MINUTE * 2**20
        wait = limits.minute_budget_wait(
            "share-bytes", limits.client_ip(request), attachment.size, budget
        )
        if wait:
            return _throttled(request, wait)
    try:
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except FileNotFoundError:
        return _not_found(request)
    response = FileResponse(
        handle,
        content_type=attachment.mime_type,
        as_attachment=attachment.mime_type not in INLINE_TYPES,
        filename=download_name(attachment),
    )
    for header, value in {**FILE_HEADERS, **PUBLIC_HEADERS}.items():
        response[header] = value
    return response


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
    text = sharing.export_markdown(conversation, _base_url(request), request.GET.get("leaf"))
    audit.info("export md by user %s: conversation %s", request.user.pk, conversation.pk)
    filename = sharing.export_filename(conversation, "md")
    return _download(text, "text/markdown; charset=utf-8", filename)


@login_required
@require_safe
def export_json(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    body = json.dumps(sharing.export_data(conversation), ensure_ascii=False, indent=2)
    audit.info("export json by user %s: conversation %s", request.user.pk, conversation.pk)
    filename = sharing.export_filename(conversation, "json")
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
    if length > sharing.MAX_IMPORT_BYTES + MULTIPART_OVERHEAD:
        limit = sharing.MAX_IMPORT_BYTES // 2**20
        return _error(
            f"That file is too large: imports are limited to {limit} MB.", 413, "file", "file"
        )
    return _import(request)


@csrf_protect
def _import(request: HttpRequest) -> HttpResponse:
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return _error("Choose one JSON export file to import.", 400, "file", "file")
    upload = files[0]
    if upload.size is not None and upload.size > sharing.MAX_IMPORT_BYTES:
        limit = sharing.MAX_IMPORT_BYTES // 2**20
        return _error(
            f"That file is too large: imports are limited to {limit} MB.", 413, "file", "file"
        )
    raw = upload.read(sharing.MAX_IMPORT_BYTES + 1)
    try:
        conversation, notes = sharing.import_conversation(request.user, raw)
    except sharing.ImportRefused as refused:
        return _error(refused.message, refused.status, "file", refused.field)
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
