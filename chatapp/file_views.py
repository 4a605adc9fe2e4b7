"""Uploading attachments and serving them back to their owner.

(Django ships no type hints, so mypy calls its decorators untyped: hence the ignores.)
"""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from .models import Attachment
from .responses import error_response, size_checked_then_csrf, user_error_response
from .uploads import UploadError, human_size, store_upload

# Room for the multipart boundaries, part headers and the CSRF field around the file.
MULTIPART_OVERHEAD = 64 * 1024
# Browsers show these inline as <img>; everything else (HEIC included) is a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Opened directly, a file can run nothing and load nothing.
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, max-age=3600",
}


def max_upload_request_bytes() -> int:
    """The largest body an upload request may have: the largest file and its multipart."""
    return int(max(settings.UPLOAD_MAX_BYTES.values())) + MULTIPART_OVERHEAD


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": str(attachment.uuid),
        "kind": attachment.kind,
        "mime_type": attachment.mime_type,
        "size": attachment.size,
        "name": attachment.name,
        "url": attachment.get_absolute_url(),
    }


def _too_large() -> str:
    limit = max(settings.UPLOAD_MAX_BYTES.values())
    return gettext("That file is too large: the largest upload allowed is %s.") % human_size(limit)


@csrf_exempt  # type: ignore[untyped-decorator]
@login_required  # type: ignore[untyped-decorator]
@require_POST  # type: ignore[untyped-decorator]
@size_checked_then_csrf(max_upload_request_bytes, _too_large)
def upload(request: HttpRequest) -> HttpResponse:
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return error_response(gettext("Send exactly one file in the field “file”."), key="file")
    try:
        attachment = store_upload(request.user, files[0])
    except UploadError as error:
        return user_error_response(error, key="file")
    return JsonResponse(attachment_json(attachment), status=201)


def can_view(user: Any, attachment: Attachment) -> bool:
    """Who may see a file here: its owner (a share link's files: `chatapp.share_views`)."""
    return bool(user.is_authenticated) and attachment.owner_id == user.pk


def download_name(attachment: Attachment) -> str:
    """The user's name for the file, ending in the extension of what it really is."""
    name = attachment.name or f"{attachment.kind}-{attachment.uuid.hex[:8]}"
    aliases = {".jpg": (".jpg", ".jpeg"), ".heic": (".heic", ".heif")}
    if not name.lower().endswith(aliases.get(attachment.extension, (attachment.extension,))):
        name += attachment.extension
    return name


@login_required  # type: ignore[untyped-decorator]
@require_safe  # type: ignore[untyped-decorator]
def serve(request: HttpRequest, uuid: uuid_lib.UUID) -> FileResponse:
    attachment = Attachment.objects.filter(uuid=uuid).first()
    # One 404 for "no such file" and "not yours": existence is not revealed.
    if attachment is None or not can_view(request.user, attachment):
        raise Http404("No such file.")
    response = attachment_response(attachment, FILE_HEADERS)
    if response is None:
        raise Http404("No such file.")
    return response


def attachment_response(attachment: Attachment, headers: dict[str, str]) -> FileResponse | None:
    """The stored file with `headers`: inline for images a browser shows, else a download
    under its user's name. None when the stored file is gone."""
    try:
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except FileNotFoundError:
        return None
    response = FileResponse(
        handle,
        content_type=attachment.mime_type,
        as_attachment=attachment.mime_type not in INLINE_TYPES,
        filename=download_name(attachment),
    )
    if "Content-Length" not in response:  # streamed from an object store
        response["Content-Length"] = str(attachment.size)
    for header, value in headers.items():
        response[header] = value
    return response
