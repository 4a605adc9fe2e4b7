"""Uploads: type from the bytes only, refusals with clear messages, owner-only serving."""

from __future__ import annotations

import base64
import io
import random
import socket
import struct
import wave
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chatapp import image_headers, sniffing, uploads
from chatapp.models import Attachment
from chatapp.uploads import UploadError

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def image_bytes(fmt: str, size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    mode = "P" if fmt == "GIF" else "RGB"
    Image.new(mode, size, 1 if mode == "P" else (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


def box(kind: bytes, body: bytes, version: int | None = None) -> bytes:
    """An ISO BMFF box; a full box when `version` is given."""
    if version is not None:
        body = bytes([version, 0, 0, 0]) + body
    return struct.pack(">I", 8 + len(body)) + kind + body


def heic_bytes(width: int = 4032, height: int = 3024, tile: int = 512) -> bytes:
    """The boxes of a phone's HEIC: a grid item of width × height and its tiles' size
    (meta/iprp/ipco/ispe), where its data is (iloc), then the data (not real HEVC: nothing
    here decodes it)."""
    head = ftyp(b"heic", b"mif1", b"heic")[:24]
    properties = box(b"ispe", struct.pack(">II", width, height), 0)
    properties += box(b"ispe", struct.pack(">II", tile, tile), 0)
    data = b"\x00" * 64

    def meta(data_offset: int) -> bytes:
        # iloc version 0: 4-byte offsets and lengths, no base offset; item 1, one extent.
        iloc = box(b"iloc", b"\x44\x00" + struct.pack(">HHHHII", 1, 1, 0, 1, data_offset, 64), 0)
        return box(
            b"meta",
            box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13, 0)
            + box(b"pitm", b"\x00\x01", 0)
            + iloc
            + box(b"iprp", box(b"ipco", properties) + box(b"ipma", b"\x00" * 4, 0)),
            0,
        )

    offset = len(head) + len(meta(0)) + 8  # the mdat box's header
    return head + meta(offset) + box(b"mdat", data)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header declares a huge grey image (only one row of data follows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 400
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis" + b"\x00" * 30
FLAC = b"fLaC\x80\x00\x00\x22" + b"\x00" * 34
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'
SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def post_file(
    client: Client, name: str, data: bytes, content_type: str = "application/octet-stream"
) -> Any:
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post("/upload", {"file": upload})


# --- detection from bytes ---


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (image_bytes("PNG"), ("image", "image/png", ".png")),
        (image_bytes("JPEG"), ("image", "image/jpeg", ".jpg")),
        (image_bytes("WEBP"), ("image", "image/webp", ".webp")),
        (image_bytes("GIF"), ("image", "image/gif", ".gif")),
        (ftyp(b"heic", b"mif1", b"heic"), ("image", "image/heic", ".heic")),
        (ftyp(b"mif1", b"mif1"), ("image", "image/heif", ".heif")),
        (wav_bytes(), ("audio", "audio/wav", ".wav")),
        (MP3, ("audio", "audio/mp3", ".mp3")),
        (b"\xff\xfb\x90\x64" + b"\x00" * 100, ("audio", "audio/mp3", ".mp3")),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 50, ("audio", "audio/aac", ".aac")),
        (OGG, ("audio", "audio/ogg", ".ogg")),
        (FLAC, ("audio", "audio/flac", ".flac")),
        (ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), ("audio", "audio/m4a", ".m4a")),
        (ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), ("video", "video/mp4", ".mp4")),
        (ftyp(b"qt  ", b"qt  "), ("video", "video/mov", ".mov")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + b"webm", ("video", "video/webm", ".webm")),
        (PDF, ("document", "application/pdf", ".pdf")),
    ],
)
def test_it_detects_types_from_bytes(data: bytes, expected: tuple[str, str, str]) -> None:
    assert sniffing.detect(data[: sniffing.HEAD_BYTES]) == expected


@pytest.mark.parametrize(
    "data",
    [
        HTML,
        SVG,
        SVG_SCRIPT,
        b"<?xml version='1.0'?><note/>",
        b"#!/bin/sh\nrm -rf /\n",
        b"MZ\x90\x00\x03\x00\x00\x00",
        b"\x7fELF\x02\x01\x01\x00",
        b"PK\x03\x04\x14\x00\x06\x00",
        b"just some text",
        ftyp(b"avif", b"avif", b"mif1", b"miaf"),
        b"\xff\xff\xff\xff",  # frame sync with reserved fields: not audio
        b"",
    ],
)
def test_it_refuses_everything_else(data: bytes) -> None:
    assert sniffing.detect(data) is None


# --- uploading ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "mime_type", "extension"),
    [
        ("PNG", "image/png", ".png"),
        ("JPEG", "image/jpeg", ".jpg"),
        ("WEBP", "image/webp", ".webp"),
        ("GIF", "image/gif", ".gif"),
    ],
)
def test_it_accepts_real_images(
    alice: Any, media: Path, fmt: str, mime_type: str, extension: str
) -> None:
    data = image_bytes(fmt)
    response = post_file(client_for(alice), f"photo{extension}", data, mime_type)
    assert response.status_code == 201, response.json()
    body = response.json()
    attachment = Attachment.objects.get(uuid=body["id"])
    assert body == {
        "id": str(attachment.uuid),
        "kind": "image",
        "mime_type": mime_type,
        "size": len(data),
        "name": f"photo{extension}",
        "url": f"/files/{attachment.uuid}",
    }
    assert attachment.owner == alice and attachment.turn is None
    assert attachment.file.name == f"attachments/{alice.pk}/{attachment.uuid.hex}{extension}"
    assert (media / attachment.file.name).read_bytes() == data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "kind", "mime_type"),
    [
        ("voice.wav", wav_bytes(), "audio", "audio/wav"),
        ("song.mp3", MP3, "audio", "audio/mp3"),
        ("clip.mp4", ftyp(b"isom", b"isom", b"mp41"), "video", "video/mp4"),
        ("paper.pdf", PDF, "document", "application/pdf"),
        ("photo.heic", heic_bytes(), "image", "image/heic"),
    ],
)
def test_it_accepts_media_and_documents(
    alice: Any, name: str, data: bytes, kind: str, mime_type: str
) -> None:
    response = post_file(client_for(alice), name, data)
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == kind
    assert response.json()["mime_type"] == mime_type


@pytest.mark.django_db
def test_it_trusts_the_bytes_not_a_lying_content_type(alice: Any) -> None:
    response = post_file(client_for(alice), "scan.png", PDF, "image/png")
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["mime_type"]) == ("document", "application/pdf")
    assert Attachment.objects.get(uuid=body["id"]).file.name.endswith(".pdf")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "content_type", "message"),
    [
        ("cat.png", HTML, "image/png", "That file is HTML, not an image."),
        ("logo.svg", SVG, "image/svg+xml", "SVG files are not accepted: they can carry scripts."),
        (
            "logo.png",
            SVG_SCRIPT,
            "image/png",
            "SVG files are not accepted: they can carry scripts.",
        ),
        ("empty.png", b"", "image/png", "That file is empty."),
        ("run.mp3", b"MZ\x90\x00\x03\x00" + b"\x00" * 60, "audio/mpeg", "That file is a program"),
        ("notes.txt", b"hello there", "text/plain", "Text files are not accepted"),
        ("page.html", HTML, "text/html", "That file is HTML, which is not accepted."),
        ("x.bin", b"\x00\x01\x02\x03" * 8, "", "This type of file is not supported."),
    ],
)
def test_it_refuses_with_a_clear_message(
    alice: Any, media: Path, name: str, data: bytes, content_type: str, message: str
) -> None:
    response = post_file(client_for(alice), name, data, content_type)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert not Attachment.objects.exists()
    assert not (media / "attachments").exists() or not any((media / "attachments").rglob("*"))


@pytest.mark.django_db
def test_a_gif_header_with_html_after_it_is_refused(alice: Any) -> None:
    # "GIF89a" then a page: the signature says GIF, but Pillow can't read it as one.
    polyglot = b"GIF89a/*<html><script>alert(1)</script></html>*/=1;"
    response = post_file(client_for(alice), "funny.gif", polyglot, "image/gif")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "That image is damaged or incomplete and could not be read."
    )


@pytest.mark.django_db
def test_a_valid_gif_carrying_html_is_refused(alice: Any) -> None:
    # A real GIF that Pillow decodes fine, with a page appended: refused by the marker check.
    polyglot = image_bytes("GIF") + b"<html><script>alert(document.cookie)</script></html>"
    response = post_file(client_for(alice), "funny.gif", polyglot, "image/gif")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "That image also contains HTML or script, so it was refused."
    )


@pytest.mark.django_db
def test_it_refuses_a_decompression_bomb(alice: Any) -> None:
    response = post_file(client_for(alice), "bomb.png", bomb_png(), "image/png")
    assert response.status_code == 400
    assert response.json()["error"].startswith("That image is too large to process")


@pytest.mark.django_db
def test_the_pixel_limit_comes_from_settings(alice: Any, settings: Any) -> None:
    # 64×64 = 4096 pixels: between the limit and twice it, where Pillow only warns.
    settings.UPLOAD_MAX_IMAGE_PIXELS = 3000
    data = image_bytes("PNG", (64, 64))
    response = post_file(client_for(alice), "big.png", data, "image/png")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "That image is too large to process (64 × 64 pixels; the limit is 3,000 pixels)."
    )
    settings.UPLOAD_MAX_IMAGE_PIXELS = 5000
    assert post_file(client_for(alice), "big.png", data, "image/png").status_code == 201


# --- sizes and structure from the headers, before anything decodes ---


def animated(fmt: str, size: tuple[int, int] = (30, 20)) -> bytes:
    frames = [Image.new("RGB", size, colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def progressive_jpeg(size: tuple[int, int] = (37, 23)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "JPEG", progressive=True)
    return out.getvalue()


SAMPLES = {
    "png": lambda: image_bytes("PNG", (37, 23)),
    "jpeg": lambda: image_bytes("JPEG", (37, 23)),
    "jpeg-progressive": progressive_jpeg,
    "mpo": lambda: animated("MPO"),
    "gif": lambda: image_bytes("GIF", (37, 23)),
    "gif-animated": lambda: animated("GIF"),
    "webp": lambda: image_bytes("WEBP", (37, 23)),
    "webp-animated": lambda: animated("WEBP"),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_it_reads_the_size_pillow_reads(name: str) -> None:
    data = SAMPLES[name]()
    mime_type = sniffing.detect(data)[1]  # type: ignore[index]
    assert image_headers.extent(io.BytesIO(data), mime_type) == Image.open(io.BytesIO(data)).size
    assert uploads.validate_image(io.BytesIO(data)) == Image.open(io.BytesIO(data)).size


def test_the_size_of_a_heic_is_its_largest_item() -> None:
    data = heic_bytes(4032, 3024, tile=512)
    assert image_headers.extent(io.BytesIO(data), "image/heic") == (4032, 3024)
    assert uploads.validate_image(io.BytesIO(data)) == (4032, 3024)


def test_a_gif_frame_outside_the_screen_counts() -> None:
    data = bytearray(image_bytes("GIF", (4, 4)))
    descriptor = data.index(b"\x2c\x00\x00\x00\x00\x04\x00\x04\x00")
    data[descriptor + 1 : descriptor + 5] = struct.pack("<HH", 100, 50)  # left, top
    assert image_headers.extent(io.BytesIO(bytes(data)), "image/gif") == (104, 54)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        ("JPEG", {"quality": 95, "progressive": True}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"quality": 100}),
    ],
)
def test_files_longer_than_a_read_window_are_walked_to_their_end(
    fmt: str, options: dict[str, Any]
) -> None:
    noise = random.Random(fmt).randbytes(400 * 400 * 3)
    image = Image.frombytes("RGB", (400, 400), noise)
    out = io.BytesIO()
    (image.quantize(256) if fmt == "GIF" else image).save(out, fmt, **options)
    data = out.getvalue()
    assert len(data) > 2 * image_headers.WINDOW
    assert uploads.validate_image(io.BytesIO(data)) == (400, 400)
    for length in (len(data) // 3, len(data) - image_headers.WINDOW - 1, len(data) - 2):
        with pytest.raises(UploadError):
            uploads.validate_image(io.BytesIO(data[:length]))


@pytest.mark.django_db
def test_a_jpeg_with_more_pictures_is_accepted_as_a_jpeg(alice: Any) -> None:
    # Phones store depth maps and HDR gain maps as more pictures after the first: Pillow
    # calls such a file MPO.
    data = animated("MPO")
    assert Image.open(io.BytesIO(data)).format == "MPO"
    response = post_file(client_for(alice), "photo.jpg", data, "image/jpeg")
    assert response.status_code == 201, response.json()
    assert response.json()["mime_type"] == "image/jpeg"


@pytest.mark.parametrize("name", [*SAMPLES, "heic"])
def test_every_cut_of_an_image_is_refused(name: str) -> None:
    data = heic_bytes() if name == "heic" else SAMPLES[name]()
    whole = uploads.validate_image(io.BytesIO(data))
    for length in range(1, len(data)):
        try:
            size = uploads.validate_image(io.BytesIO(data[:length]))
        except UploadError:
            continue
        # An MPO whose first picture is whole is a whole JPEG: only the ones after it are cut.
        assert name == "mpo" and length > data.index(b"\xff\xd9") + 1, (length, size)
        assert size == whole


@pytest.mark.parametrize("name", [*SAMPLES, "heic"])
def test_changed_bytes_are_refused_or_read_but_never_crash(name: str) -> None:
    data = heic_bytes() if name == "heic" else SAMPLES[name]()
    rng = random.Random(name)
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            uploads.validate_image(io.BytesIO(bytes(mutated)))
        except UploadError:
            pass


@pytest.mark.django_db
def test_it_refuses_a_truncated_image(alice: Any) -> None:
    data = image_bytes("JPEG", (200, 200))[:-400]
    response = post_file(client_for(alice), "cut.jpg", data, "image/jpeg")
    assert response.status_code == 400
    assert "damaged" in response.json()["error"]


@pytest.mark.django_db
def test_a_png_with_a_bad_checksum_fails_verify(alice: Any) -> None:
    data = bytearray(image_bytes("PNG"))
    data[29] ^= 0xFF  # a byte of the IHDR CRC
    response = post_file(client_for(alice), "bad.png", bytes(data), "image/png")
    assert response.status_code == 400


@pytest.mark.django_db
def test_it_refuses_files_over_the_limit_for_their_kind(alice: Any, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = {**settings.UPLOAD_MAX_BYTES, "document": 1 * MB}
    data = PDF + b"%" * (MB + MB // 2)
    response = post_file(client_for(alice), "big.pdf", data)
    assert response.status_code == 413
    assert response.json()["error"] == (
        "That file is too large (1.5 MB): the limit for documents is 1 MB."
    )
    assert not Attachment.objects.exists()
    # The image limit is separate: a small image still passes.
    assert post_file(client_for(alice), "a.png", image_bytes("PNG")).status_code == 201


@pytest.mark.django_db
def test_it_refuses_a_request_over_the_largest_limit_before_reading_it(alice: Any) -> None:
    response = client_for(alice).post(
        "/upload", {"file": SimpleUploadedFile("a.png", b"x")}, CONTENT_LENGTH=str(500 * MB)
    )
    assert response.status_code == 413
    message = "That file is too large: the largest upload allowed is 100 MB."
    assert response.json() == {"error": message, "errors": {"file": [message]}, "field": "file"}


@pytest.mark.django_db
def test_a_large_upload_spooled_to_disk_is_stored(alice: Any, media: Path) -> None:
    # Over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): Django hands over a temporary file.
    data = PDF + b"%" * (3 * MB)
    response = post_file(client_for(alice), "long.pdf", data)
    assert response.status_code == 201
    attachment = Attachment.objects.get(uuid=response.json()["id"])
    assert (media / attachment.file.name).read_bytes() == data


@pytest.mark.django_db
def test_it_needs_exactly_one_file(alice: Any) -> None:
    response = client_for(alice).post("/upload", {})
    assert response.status_code == 400
    assert "exactly one file" in response.json()["error"]


@pytest.mark.django_db
def test_a_path_in_the_name_is_only_display_text(alice: Any, media: Path) -> None:
    data = image_bytes("PNG")
    response = post_file(client_for(alice), "../../etc/passwd.png", data, "image/png")
    assert response.status_code == 201
    attachment = Attachment.objects.get(uuid=response.json()["id"])
    assert response.json()["name"] == "passwd.png"
    assert attachment.file.name == f"attachments/{alice.pk}/{attachment.uuid.hex}.png"
    assert Path(attachment.file.path).resolve().is_relative_to(media / "attachments")


@pytest.mark.django_db
def test_store_upload_cleans_names_the_multipart_parser_lets_through(alice: Any) -> None:
    # Django strips "/" paths itself; backslashes and control characters reach us.
    upload = SimpleUploadedFile("..\\..\\win\\evil\x00\x1b[31m\u202e.png", image_bytes("PNG"))
    attachment = uploads.store_upload(alice, upload)
    assert attachment.name == "evil[31m.png"
    assert attachment.file.name == f"attachments/{alice.pk}/{attachment.uuid.hex}.png"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("tab\there\nnew.pdf", "tabherenew.pdf"),
        ("...", ""),
        (None, ""),
        ("a" * 300 + ".png", "a" * 116 + ".png"),
    ],
)
def test_clean_name(raw: str | None, clean: str) -> None:
    assert uploads.clean_name(raw) == clean


# --- permissions and CSRF ---


@pytest.mark.django_db
def test_upload_needs_a_login() -> None:
    response = post_file(Client(), "a.png", image_bytes("PNG"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_upload_needs_the_csrf_token(alice: Any) -> None:
    client = client_for(alice, enforce_csrf_checks=True)
    assert post_file(client, "a.png", image_bytes("PNG")).status_code == 403
    assert not Attachment.objects.exists()
    token = "A" * 32
    client.cookies["csrftoken"] = token
    upload = SimpleUploadedFile("a.png", image_bytes("PNG"))
    response = client.post("/upload", {"file": upload}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


@pytest.mark.django_db
def test_upload_is_post_only(alice: Any) -> None:
    assert client_for(alice).get("/upload").status_code == 405


# --- serving ---


def upload_as(user: Any, name: str, data: bytes) -> Attachment:
    return uploads.store_upload(user, SimpleUploadedFile(name, data))


@pytest.mark.django_db
def test_the_owner_gets_an_image_inline(alice: Any) -> None:
    data = image_bytes("PNG")
    attachment = upload_as(alice, "photo.png", data)
    response = client_for(alice).get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["Content-Disposition"] == 'inline; filename="photo.png"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "mime_type", "disposition"),
    [
        ("paper.pdf", PDF, "application/pdf", 'attachment; filename="paper.pdf"'),
        ("voice.wav", wav_bytes(), "audio/wav", 'attachment; filename="voice.wav"'),
        ("song", MP3, "audio/mp3", 'attachment; filename="song.mp3"'),
        ("shot.heic", heic_bytes(), "image/heic", 'attachment; filename="shot.heic"'),
        # A misnamed file is downloaded with the extension of what it really is.
        ("fake.png", PDF, "application/pdf", 'attachment; filename="fake.png.pdf"'),
    ],
)
def test_everything_but_raster_images_is_a_download(
    alice: Any, name: str, data: bytes, mime_type: str, disposition: str
) -> None:
    attachment = upload_as(alice, name, data)
    response = client_for(alice).get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == mime_type
    assert response["Content-Disposition"] == disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == data


@pytest.mark.django_db
def test_a_non_ascii_name_is_encoded_in_the_header(alice: Any) -> None:
    attachment = upload_as(alice, 'résumé "final".pdf', PDF)
    response = client_for(alice).get(attachment.get_absolute_url())
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
    )


@pytest.mark.django_db
def test_another_user_gets_the_same_404_as_a_missing_file(alice: Any, bob: Any) -> None:
    attachment = upload_as(alice, "photo.png", image_bytes("PNG"))
    bobs = client_for(bob)
    theirs = bobs.get(attachment.get_absolute_url())
    missing = bobs.get("/files/00000000-0000-4000-8000-000000000000")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


@pytest.mark.django_db
def test_an_anonymous_user_is_sent_to_log_in(alice: Any) -> None:
    attachment = upload_as(alice, "photo.png", image_bytes("PNG"))
    response = Client().get(attachment.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_a_file_gone_from_storage_is_a_404(alice: Any) -> None:
    attachment = upload_as(alice, "photo.png", image_bytes("PNG"))
    attachment.file.storage.delete(attachment.file.name)
    assert client_for(alice).get(attachment.get_absolute_url()).status_code == 404


# --- resolving ids from a message ---


@pytest.mark.django_db
def test_resolve_returns_the_users_uploads_in_order(alice: Any) -> None:
    first = upload_as(alice, "a.png", image_bytes("PNG"))
    second = upload_as(alice, "b.pdf", PDF)
    ids = [str(second.uuid), str(first.uuid), str(second.uuid)]
    assert uploads.resolve(alice, ids) == [second, first]
    assert uploads.resolve(alice, []) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad_id",
    ["not-a-uuid", "", "../../etc/passwd", "00000000-0000-4000-8000-000000000000", 42, None],
)
def test_resolve_refuses_bad_ids_with_one_message(alice: Any, bad_id: Any) -> None:
    mine = upload_as(alice, "a.png", image_bytes("PNG"))
    with pytest.raises(UploadError) as error:
        uploads.resolve(alice, [str(mine.uuid), bad_id])
    assert error.value.message == "One of the attachments is not available."


@pytest.mark.django_db
def test_resolve_refuses_another_users_upload_with_the_same_message(alice: Any, bob: Any) -> None:
    bobs = upload_as(bob, "b.png", image_bytes("PNG"))
    with pytest.raises(UploadError) as error:
        uploads.resolve(alice, [str(bobs.uuid)])
    assert error.value.message == "One of the attachments is not available."


@pytest.mark.django_db
def test_resolve_refuses_an_upload_already_on_a_turn(alice: Any) -> None:
    from chatapp.models import Conversation, Turn

    attachment = upload_as(alice, "a.png", image_bytes("PNG"))
    conversation = Conversation.objects.create(owner=alice, model="m")
    attachment.turn = Turn.objects.create(conversation=conversation, model="m")
    attachment.save()
    with pytest.raises(UploadError):
        uploads.resolve(alice, [str(attachment.uuid)])


@pytest.mark.django_db
def test_resolve_caps_the_number_of_files(alice: Any) -> None:
    ids = [str(upload_as(alice, f"{i}.pdf", PDF).uuid) for i in range(uploads.MAX_PER_MESSAGE + 1)]
    with pytest.raises(UploadError, match="at most"):
        uploads.resolve(alice, ids)


# --- what goes upstream ---


@pytest.mark.django_db
def test_upstream_content_is_inline_base64(alice: Any) -> None:
    data = wav_bytes()
    attachment = upload_as(alice, "v.wav", data)
    assert uploads.upstream_content(attachment) == {
        "type": "audio",
        "data": base64.b64encode(data).decode(),
        "mime_type": "audio/wav",
    }


@pytest.mark.parametrize(
    ("url", "mime_type"),
    [
        ("https://example.com/podcast/episode.mp3", "audio/mp3"),
        ("http://example.com/a.WAV?token=1#t=3", "audio/wav"),
        ("https://cdn.example.org/x.flac", "audio/flac"),
        ("https://example.com/stream", "audio/mpeg"),
    ],
)
def test_media_url_content_accepts_http_links(url: str, mime_type: str) -> None:
    assert uploads.media_url_content(url) == {"type": "audio", "uri": url, "mime_type": mime_type}


def test_media_url_content_does_video_too() -> None:
    item = uploads.media_url_content("https://example.com/v/clip.webm", "video")
    assert item == {
        "type": "video",
        "uri": "https://example.com/v/clip.webm",
        "mime_type": "video/webm",
    }


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//a.mp3",
        "JavaScript:alert(1)",
        "file:///etc/passwd.mp3",
        "data:audio/mp3;base64,AAAA",
        "ftp://example.com/a.mp3",
        "https://user:pw@example.com/a.mp3",
        "https://user@example.com/a.mp3",
        "https:///a.mp3",
        "https://example.com/a b.mp3",
        "https://example.com/a.mp3\n",
        "https://example.com:99999/a.mp3",
        "//example.com/a.mp3",
        "https://example.com/" + "a" * 2048 + ".mp3",
        "",
    ],
)
def test_media_url_content_refuses_other_links(url: str) -> None:
    with pytest.raises(UploadError):
        uploads.media_url_content(url)


# --- nothing leaves the server ---


@pytest.mark.django_db
def test_storing_and_resolving_make_no_outbound_request(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an outbound connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)

    client = client_for(alice)
    ids = []
    for name, data in [
        ("a.png", image_bytes("PNG")),
        ("b.jpg", image_bytes("JPEG")),
        ("c.pdf", PDF),
    ]:
        response = post_file(client, name, data)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    attachments = uploads.resolve(alice, ids)
    assert [uploads.upstream_content(a)["type"] for a in attachments] == [
        "image",
        "image",
        "document",
    ]
    item = uploads.media_url_content("https://example.com/a.mp3")
    assert item["uri"] == "https://example.com/a.mp3"
    assert client.get(attachments[0].get_absolute_url()).status_code == 200
