"""Byte sniffing: what a file is, read from its first bytes only.

Never from its name or the browser's claim. `detect` names only the types the Interactions
API takes and a browser can't mistake for a page; `refusal_message` says in plain words why
anything else is refused; `has_active_content` finds HTML or script hidden in an image.
"""

from __future__ import annotations

import posixpath
from typing import IO

from django.utils import translation
from django.utils.translation import gettext_lazy

# How much of a file is read to tell what it is.
HEAD_BYTES = 64 * 1024

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_M4A_BRANDS = {b"M4A ", b"M4B "}
_MOV_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
    b"M4V ", b"M4VH", b"M4VP", b"dash", b"MSNV", b"f4v ",
}  # fmt: skip

# Markers of a page or a script hidden in an image (a polyglot). Long enough that compressed
# pixel data practically never contains one by chance.
_ACTIVE_MARKERS = (b"<script", b"<html", b"<iframe", b"<!doctype", b"<?php", b"javascript:")

Detected = tuple[str, str, str]  # (kind, mime_type, extension)


def gettext_noop(message: str) -> str:
    """Marks a description for makemessages; `refusal_message` translates it when shown."""
    return message


def gettext(message: str) -> str:
    return str(translation.gettext(message))


_ACCEPTED = gettext_lazy(
    "Attach images (PNG, JPEG, WebP, GIF, HEIC), audio (MP3, WAV, OGG, FLAC, AAC, M4A), "
    "video (MP4, MOV, WebM) or PDF documents."
)


# Signatures at the start of a file, checked in this order (before and after the containers).
_FIRST: tuple[tuple[bytes, Detected], ...] = (
    (b"\x89PNG\r\n\x1a\n", ("image", "image/png", ".png")),
    (b"\xff\xd8\xff", ("image", "image/jpeg", ".jpg")),
    (b"GIF87a", ("image", "image/gif", ".gif")),
    (b"GIF89a", ("image", "image/gif", ".gif")),
)
_RIFF_FORMS: dict[bytes, Detected] = {
    b"WEBP": ("image", "image/webp", ".webp"),
    b"WAVE": ("audio", "audio/wav", ".wav"),
}
_THEN: tuple[tuple[bytes, Detected], ...] = (
    (b"%PDF-", ("document", "application/pdf", ".pdf")),
    (b"OggS", ("audio", "audio/ogg", ".ogg")),
    (b"fLaC", ("audio", "audio/flac", ".flac")),
    (b"ID3", ("audio", "audio/mp3", ".mp3")),
    # WebM and Matroska share EBML; audio-only WebM can't be told apart this early.
    (b"\x1a\x45\xdf\xa3", ("video", "video/webm", ".webm")),
)


def detect(head: bytes) -> Detected | None:
    """The (kind, mime_type, extension) of a file from its first bytes, or None if refused."""
    if found := _signature(head, _FIRST):
        return found
    if head[:4] == b"RIFF" and head[8:12] in _RIFF_FORMS:
        return _RIFF_FORMS[head[8:12]]
    if head[4:8] == b"ftyp":
        return _detect_iso_bmff(head)
    if found := _signature(head, _THEN):
        return found
    if len(head) >= 3 and head[0] == 0xFF:
        return _detect_mpeg_audio(head)
    return None


def _signature(head: bytes, signatures: tuple[tuple[bytes, Detected], ...]) -> Detected | None:
    return next((found for start, found in signatures if head.startswith(start)), None)


def _detect_iso_bmff(head: bytes) -> Detected | None:
    box_size = int.from_bytes(head[:4], "big")
    end = min(max(box_size, 16), len(head), 4096)
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in (b"avif", b"avis"):
        return None  # AVIF shares HEIF's brands but is not a type the API takes
    for brands in ({major}, compatible):
        if brands & _HEIC_BRANDS:
            return ("image", "image/heic", ".heic")
        if brands & _HEIF_BRANDS:
            return ("image", "image/heif", ".heif")
        if brands & _M4A_BRANDS:
            return ("audio", "audio/m4a", ".m4a")
        if brands & _MOV_BRANDS:
            return ("video", "video/mov", ".mov")
        if brands & _MP4_BRANDS or any(b.startswith(b"3g") for b in brands):
            return ("video", "video/mp4", ".mp4")
    return None


def _detect_mpeg_audio(head: bytes) -> Detected | None:
    b1, b2 = head[1], head[2]
    if b1 & 0xF6 == 0xF0:  # sync + layer 00: an ADTS (AAC) header, 0xFFF1 / 0xFFF9
        return ("audio", "audio/aac", ".aac")
    # An MPEG audio frame header: sync, then no reserved version, layer, bitrate or rate.
    if b1 & 0xE0 != 0xE0 or (b1 >> 3) & 3 == 1 or (b1 >> 1) & 3 == 0:
        return None
    if b2 >> 4 == 0xF or (b2 >> 2) & 3 == 3:
        return None
    return ("audio", "audio/mp3", ".mp3")


def _what_it_is(head: bytes) -> str | None:
    """A plain name for a refused file, to say why ("HTML", "SVG"), if it can be told."""
    return (
        _markup(head)
        or _binary(head)
        or (gettext_noop("plain text") if _is_text(head[:1024]) else None)
    )


def _markup(head: bytes) -> str | None:
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) and b"<svg" in text:
        return gettext_noop("SVG")
    html_starts = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe")
    if text.startswith(html_starts) or b"<html" in text:
        return gettext_noop("HTML")
    if text.startswith(b"<?php"):
        return gettext_noop("a PHP script")
    if text.startswith(b"<?xml"):
        return gettext_noop("XML")
    return None


_MACH_O = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


def _binary(head: bytes) -> str | None:
    if head.startswith((b"MZ", b"\x7fELF")) or head[:4] in _MACH_O:
        return gettext_noop("a program")
    if head.startswith(b"#!"):
        return gettext_noop("a script")
    if head.startswith(b"PK\x03\x04"):
        return gettext_noop("a ZIP archive (Word, Excel and PowerPoint files are ZIPs too)")
    if head.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b")):
        return gettext_noop("an archive")
    if head.startswith(b"BM") or head[:4] in (b"II*\x00", b"MM\x00*"):
        return gettext_noop("a BMP or TIFF image")
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return gettext_noop("an AVIF image")
    return None


def _is_text(start: bytes) -> bool:
    if b"\x00" in start:
        return False
    try:
        start.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _claimed(name: str, content_type: str) -> str | None:
    """What the user seems to think the file is, only to word the refusal."""
    ext = posixpath.splitext(name.lower())[1]
    if content_type.startswith("image/") or ext in {".png", ".jpg", ".jpeg", ".gif", ".webp"}:
        return gettext_noop("an image")
    if content_type.startswith("audio/") or ext in {".mp3", ".wav", ".ogg", ".flac", ".m4a"}:
        return gettext_noop("audio")
    if content_type.startswith("video/") or ext in {".mp4", ".mov", ".webm"}:
        return gettext_noop("a video")
    if content_type == "application/pdf" or ext == ".pdf":
        return gettext_noop("a PDF")
    return None


def refusal_message(head: bytes, name: str = "", content_type: str = "") -> str:
    """Why a file whose type `detect` refused is not accepted, in the user's words."""
    what = _what_it_is(head)
    if what == "SVG":
        return gettext("SVG files are not accepted: they can carry scripts.")
    if what is None:
        return gettext("This type of file is not supported.") + f" {_ACCEPTED}"
    claimed = _claimed(name, content_type)
    if claimed:
        return gettext("That file is %(what)s, not %(claimed)s.") % {
            "what": gettext(what),
            "claimed": gettext(claimed),
        }
    if what == "plain text":
        return gettext("Text files are not accepted: paste the text into the message instead.")
    message = gettext("That file is %(what)s, which is not accepted.") % {"what": gettext(what)}
    return f"{message} {_ACCEPTED}"


def has_active_content(fp: IO[bytes], head: bytes, size: int) -> bool:
    """Whether an image's start or end holds HTML or script (a polyglot file)."""
    if any(marker in head.lower() for marker in _ACTIVE_MARKERS):
        return True
    if size > len(head):
        fp.seek(max(0, size - HEAD_BYTES))
        tail = fp.read(HEAD_BYTES).lower()
        fp.seek(0)
        return any(marker in tail for marker in _ACTIVE_MARKERS)
    return False
