"""Uploads: validate a file, store it, and send it upstream.

The type comes from the file's content only (`chatapp.sniffing`), never from its name or the
browser's claim, and only types the Interactions API takes (and a browser can't mistake for a
page) are kept. Nothing here fetches a URL: a pasted media link is passed to the API as a `uri`.
"""

from __future__ import annotations

import base64
import posixpath
import unicodedata
import uuid
import warnings
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import formats
from django.utils.translation import gettext, gettext_lazy, ngettext
from PIL import Image

from . import image_headers
from .file_refs import as_uuid
from .languages import grouped
from .models import Attachment
from .sniffing import HEAD_BYTES, detect, has_active_content, refusal_message
from .user_errors import UserError

MAX_NAME_LENGTH = 120
MAX_URL_LENGTH = 2048
MAX_PER_MESSAGE = 10
NOT_AVAILABLE = gettext_lazy("One of the attachments is not available.")

# Detected type → Pillow's format names, so a file must look the same to both. A JPEG with
# more pictures after the first (phones' depth and HDR gain maps) is Pillow's "MPO".
_PILLOW_FORMATS = {
    "image/png": {"PNG"},
    "image/jpeg": {"JPEG", "MPO"},
    "image/webp": {"WEBP"},
    "image/gif": {"GIF"},
}
_PILLOW_OPENERS = ["PNG", "JPEG", "WEBP", "GIF"]  # Pillow's JPEG opener also returns MPO
DAMAGED_IMAGE = gettext_lazy("That image is damaged or incomplete and could not be read.")
# Pillow here has no HEIF decoder: these are accepted on their signature alone.
_UNDECODED_IMAGES = {"image/heic", "image/heif"}


# Per kind of file, what a file over its limit says.
_TOO_LARGE = {
    "image": gettext_lazy("That file is too large (%(size)s): the limit for images is %(limit)s."),
    "audio": gettext_lazy(
        "That file is too large (%(size)s): the limit for audio files is %(limit)s."
    ),
    "video": gettext_lazy("That file is too large (%(size)s): the limit for videos is %(limit)s."),
    "document": gettext_lazy(
        "That file is too large (%(size)s): the limit for documents is %(limit)s."
    ),
}


class UploadError(UserError):
    """An upload or attachment refused, with a message fit to show the user."""


# --- validation ---


def validate_image(fp: IO[bytes]) -> tuple[int, int]:
    """Check an image before anything decodes it; return (width, height), the largest a
    decoder would allocate for it (its canvas, or a frame that sticks out of it).

    Refused: a file cut short or broken (image_headers), one of more pixels than
    settings.UPLOAD_MAX_IMAGE_PIXELS (read from its headers), and one Pillow reads as another
    format. No pixel is decoded: Pillow opens the headers only, and checks each PNG chunk's
    CRC. HEIC/HEIF (no decoder here) get the first two checks.
    """
    fp.seek(0)
    detected = detect(fp.read(HEAD_BYTES))
    if detected is None or detected[0] != "image":
        raise UploadError(gettext("That file is not an image."))
    mime_type = detected[1]
    try:
        width, height = image_headers.extent(fp, mime_type)
    except image_headers.Damaged:
        raise UploadError(DAMAGED_IMAGE) from None
    limit = int(settings.UPLOAD_MAX_IMAGE_PIXELS)
    if width * height > limit:
        raise UploadError(
            gettext(
                "That image is too large to process (%(width)s × %(height)s pixels; "
                "the limit is %(limit)s pixels)."
            )
            % {"width": grouped(width), "height": grouped(height), "limit": grouped(limit)}
        )
    if mime_type in _UNDECODED_IMAGES:
        return (width, height)
    Image.MAX_IMAGE_PIXELS = limit  # Pillow's check is global; keep it in step with ours
    try:
        with warnings.catch_warnings():
            # Pillow only warns between the limit and twice it: a warning is a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # "Truncated File Read" in EXIF…
            fp.seek(0)
            with Image.open(fp, formats=_PILLOW_OPENERS) as im:
                if im.format not in _PILLOW_FORMATS[mime_type]:
                    raise UploadError(gettext("That image's content does not match its type."))
                if im.width * im.height > width * height:
                    raise UploadError(DAMAGED_IMAGE)  # Pillow read a size we did not
                if im.format == "PNG":
                    im.verify()  # every chunk's CRC, without inflating the pixels
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(
            gettext("That image is too large to process (%(limit)s pixels at most).")
            % {"limit": grouped(limit)}
        ) from None
    except Exception:
        # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error…) on bad data.
        raise UploadError(DAMAGED_IMAGE) from None
    finally:
        fp.seek(0)
    return (width, height)


def clean_name(name: str | None) -> str:
    """The original file name as display text: no path, no control characters, bounded."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = unicodedata.normalize("NFC", base).strip(" .")
    if len(base) > MAX_NAME_LENGTH:
        stem, ext = posixpath.splitext(base)
        ext = ext if len(ext) <= 10 else ""
        base = stem[: MAX_NAME_LENGTH - len(ext)].rstrip() + ext
    return base


def human_size(size: int) -> str:
    """1536 → "1.5 KB", 20 MiB → "20 MB" (binary units, as the limits are set in MB)."""
    value, unit = float(size), "bytes"
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    if unit == "bytes":
        return str(ngettext("%(n)s byte", "%(n)s bytes", size) % {"n": grouped(size)})
    places = 0 if value >= 10 or value.is_integer() else 1
    # Rounded first: Django's number_format cuts extra decimals off (4.88 -> "4.8").
    return f"{formats.number_format(round(value, places), places)} {unit}"


def max_bytes(kind: str) -> int:
    return int(settings.UPLOAD_MAX_BYTES[kind])


# --- storing ---


def store_upload(user: Any, uploaded_file: UploadedFile) -> Attachment:
    """Validate an uploaded file and keep it as the user's attachment (not yet on a turn)."""
    name = clean_name(uploaded_file.name)
    size = uploaded_file.size or 0
    uploaded_file.seek(0)
    head = uploaded_file.read(HEAD_BYTES)
    uploaded_file.seek(0)
    if size == 0 or not head:
        raise UploadError(gettext("That file is empty."))

    detected = detect(head)
    if detected is None:
        raise UploadError(refusal_message(head, name, uploaded_file.content_type or ""))
    kind, mime_type, extension = detected

    limit = max_bytes(kind)
    if size > limit:
        too_large = str(_TOO_LARGE.get(kind, _TOO_LARGE["document"]))
        raise UploadError(
            too_large % {"size": human_size(size), "limit": human_size(limit)}, status=413
        )

    if kind == "image":
        validate_image(uploaded_file)
        if has_active_content(uploaded_file, head, size):
            raise UploadError(
                gettext("That image also contains HTML or script, so it was refused.")
            )

    attachment = Attachment(
        owner=user, kind=kind, mime_type=mime_type, extension=extension, size=size, name=name
    )
    uploaded_file.seek(0)
    # The storage streams the upload (chunks, or a move of the temporary file); the stored
    # name is built by the model from the uuid, whatever name is passed here.
    attachment.file.save(f"upload{extension}", uploaded_file, save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


def resolve(user: Any, ids: list[str]) -> list[Attachment]:
    """The user's own uploads not yet attached to a turn, in the order of `ids`.

    Any id that is malformed, another user's, already used or missing gets the same error,
    so nobody learns whether someone else's file exists.
    """
    if not isinstance(ids, list | tuple):
        raise UploadError(NOT_AVAILABLE)
    wanted: list[uuid.UUID] = []
    for raw in ids:
        value = as_uuid(raw) if isinstance(raw, str) and len(raw) <= 40 else None
        if value is None:
            raise UploadError(NOT_AVAILABLE)
        if value not in wanted:
            wanted.append(value)
    if len(wanted) > MAX_PER_MESSAGE:
        raise UploadError(
            gettext("Attach at most %(n)s files to one message.") % {"n": MAX_PER_MESSAGE}
        )
    if not wanted:
        return []
    found = {
        a.uuid: a
        for a in Attachment.objects.filter(
            owner=user, turn__isnull=True, generated=False, uuid__in=wanted
        )
    }
    if len(found) != len(wanted):
        raise UploadError(NOT_AVAILABLE)
    return [found[value] for value in wanted]


# --- what goes upstream ---


def upstream_content(attachment: Attachment) -> dict[str, Any]:
    """The Interactions API content item for a stored attachment, inline as base64."""
    with attachment.file.storage.open(attachment.file.name, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return {"type": attachment.kind, "data": data, "mime_type": attachment.mime_type}


_AUDIO_URL_TYPES = {
    ".mp3": "audio/mp3",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/m4a",
    ".aac": "audio/aac",
}
_VIDEO_URL_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/mov",
    ".webm": "video/webm",
}
_URL_DEFAULTS = {"audio": "audio/mpeg", "video": "video/mp4"}


def media_url_content(url: str, kind: str = "audio") -> dict[str, Any]:
    """A content item pointing the API at a public http(s) media URL. Never fetched here."""
    if kind not in _URL_DEFAULTS:
        raise UploadError(gettext("Only audio or video links can be attached."))
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UploadError(gettext("That link is empty or too long."))
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in url):
        raise UploadError(gettext("That link contains spaces or control characters."))
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise UploadError(gettext("That link is not a valid URL.")) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UploadError(gettext("Only http:// and https:// links can be attached."))
    if "@" in parts.netloc:
        raise UploadError(gettext("Links with a user name or password can't be attached."))
    ext = posixpath.splitext(parts.path.lower())[1]
    types = _AUDIO_URL_TYPES if kind == "audio" else _VIDEO_URL_TYPES
    mime_type = types.get(ext, _URL_DEFAULTS[kind])
    return {"type": kind, "uri": url, "mime_type": mime_type}
