"""Hostile uploads: polyglots, lying extensions, SVG with script, path traversal in names,
decompression bombs, and other users' file ids."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chatapp.models import Attachment

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>window.__xss = 1</script></body></html>"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=1">'
    b"<script>window.__xss = 2</script></svg>"
)


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "purple").save(out, "PNG")
    return out.getvalue()


def gif_with_comment(comment: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF", comment=comment)
    return out.getvalue()


def gif_js_polyglot() -> bytes:
    """A real GIF that is also valid JavaScript: its width bytes are "/*" (10799 px), the
    binary rest sits in that comment, and the trailer closes it: GIF87a/*…*/=window.__xss=3"""
    out = io.BytesIO()
    Image.new("P", (10799, 1)).save(out, "GIF")
    data = out.getvalue()
    assert data[6:8] == b"/*" and b"*/" not in data
    return data + b"*/=window.__xss=3;"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side×side pixels: ~60 KB that decode to side² pixels."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return (
        signature + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")
    )


def upload(client: Client, name: str, data: bytes, content_type: str = "image/png") -> Any:
    file = SimpleUploadedFile(name, data, content_type)
    return client.post("/upload", {"file": file}, HTTP_ACCEPT="application/json")


@pytest.fixture
def client(alice: Any, media: Path) -> Client:
    client = Client()
    client.force_login(alice)
    return client


# --- refused ---


@pytest.mark.parametrize(
    ("name", "data", "content_type", "why"),
    [
        ("cat.png", png() + HTML, "image/png", "contains HTML or script"),
        (
            "cat.png",
            png() + b"\n<!-- --><script src=//evil.example/x.js></script>",
            "image/png",
            "contains HTML or script",
        ),
        (
            "cat.gif",
            gif_with_comment(b"<script>window.__xss=1</script>"),
            "image/gif",
            "contains HTML or script",
        ),
        ("cat.png", HTML, "image/png", "That file is HTML, not an image."),
        ("cat.html", HTML, "text/html", "That file is HTML"),
        ("cat.svg", SVG, "image/svg+xml", "SVG files are not accepted"),
        ("cat.png", SVG, "image/png", "SVG files are not accepted"),
        ("cat.png", b"\xef\xbb\xbf  \n" + SVG, "image/png", "SVG files are not accepted"),
        ("cat.png", b"<svg><script>alert(1)</script></svg>", "image/png", "SVG"),
        ("cat.png", b"window.__xss = 1;\n", "image/png", "That file is plain text, not an image."),
        ("cat.png", b"MZ\x90\x00\x03" + b"\x00" * 64, "image/png", "a program"),
        ("cat.png", png()[:40], "image/png", "damaged or incomplete"),
        ("cat.png", b"\x89PNG\r\n\x1a\n" + HTML, "image/png", "damaged or incomplete"),
    ],
)
def test_polyglots_and_disguised_files_are_refused(
    client: Client, media: Path, name: str, data: bytes, content_type: str, why: str
) -> None:
    response = upload(client, name, data, content_type)
    assert response.status_code == 400, response.content
    assert why in response.json()["error"]
    assert Attachment.objects.count() == 0
    assert not any(p.is_file() for p in media.rglob("*")), "nothing was stored"


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(lambda: png_bomb(20_000), id="png-20000x20000"),
        pytest.param(
            lambda: png((1, 1)).replace(
                b"\x00\x00\x00\x01\x00\x00\x00\x01", b"\x00\x00\xff\xff\x00\x00\xff\xff", 1
            ),
            id="png-header-65535x65535",
        ),
    ],
)
def test_decompression_bombs_are_refused_quickly(client: Client, bomb: Any) -> None:
    data = bomb()
    assert len(data) < 200_000
    started = time.monotonic()
    response = upload(client, "bomb.png", data)
    assert time.monotonic() - started < 5
    assert response.status_code == 400
    error = response.json()["error"]
    assert "too large to process" in error or "damaged" in error, error
    assert Attachment.objects.count() == 0


def test_a_gif_bomb_is_refused(client: Client) -> None:
    out = io.BytesIO()
    Image.new("P", (1, 1)).save(out, "GIF")
    data = bytearray(out.getvalue())
    data[6:10] = struct.pack("<HH", 65535, 65535)  # the logical screen
    response = upload(client, "bomb.gif", bytes(data), "image/gif")
    assert response.status_code == 400


# --- accepted, but only ever as what they really are ---


@pytest.mark.parametrize(
    ("name", "shown", "download"),
    [
        ("photo.exe", "photo.exe", "photo.exe.png"),
        ("photo.html", "photo.html", "photo.html.png"),
        ("photo.svg", "photo.svg", "photo.svg.png"),
        ("photo.png.js", "photo.png.js", "photo.png.js.png"),
        ("../../../../etc/passwd", "passwd", "passwd.png"),
        ("..\\..\\windows\\win.ini", "win.ini", "win.ini.png"),
        ("/etc/cron.d/evil.png", "evil.png", "evil.png"),
        ("a/../../b.png", "b.png", "b.png"),
        ("x.png\x00.html", None, None),
        ('q"uote\r\nX-Evil: 1.png', None, None),
    ],
)
def test_lying_extensions_and_traversal_names_are_stored_safely(
    client: Client, media: Path, name: str, shown: str | None, download: str | None
) -> None:
    response = upload(client, name, png(), "text/html")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mime_type"] == "image/png" and body["kind"] == "image"
    attachment = Attachment.objects.get(uuid=body["id"])
    # The stored file is named by the server alone, inside MEDIA_ROOT.
    stored = Path(attachment.file.path).resolve()
    assert stored.parent == (media / "attachments" / str(attachment.owner_id)).resolve()
    assert stored.name == f"{attachment.uuid.hex}.png"
    assert [p for p in media.rglob("*") if p.is_file()] == [stored]
    # The name is display text: no path, no control characters.
    assert not any(c in attachment.name for c in "/\\\x00\r\n")
    if shown is not None:
        assert attachment.name == shown
    served = client.get(body["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    disposition = served["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("inline;")
    if download is not None:
        assert download in disposition
    assert disposition.rstrip('"').endswith(".png")


def test_a_gif_that_is_also_javascript_is_served_only_as_an_inert_image(client: Client) -> None:
    """If accepted at all, the polyglot is served so that no browser can run it as a script
    (nosniff with an image type) or as a page (sandboxed, no-script CSP). The browser test in
    tests/security/browser checks that a <script src> of it indeed does not run."""
    response = upload(client, "cat.gif", gif_js_polyglot(), "image/gif")
    if response.status_code == 400:
        return  # refused outright: fine too
    assert response.status_code == 201
    served = client.get(response.json()["url"])
    assert served["Content-Type"] == "image/gif"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served["Cross-Origin-Resource-Policy"] == "same-origin"


def test_a_pdf_is_always_a_download(client: Client) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n"
    response = upload(client, "report.png", pdf, "image/png")
    assert response.status_code == 201
    served = client.get(response.json()["url"])
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in served["Content-Security-Policy"]


# --- ids of files that are not yours to attach ---


@pytest.mark.django_db(transaction=True)
async def test_another_users_file_id_or_a_used_one_cannot_be_attached(
    connect: Any, alice: Any, bob: Any, upstream: Any, media: Path
) -> None:
    bobs = Client()
    await sync_to_async(bobs.force_login)(bob)
    response = await sync_to_async(upload)(bobs, "bob.png", png())
    theirs = response.json()["id"]
    alices = Client()
    await sync_to_async(alices.force_login)(alice)
    mine = (await sync_to_async(upload)(alices, "alice.png", png())).json()["id"]

    sock = await connect(alice)
    await sock.send({"type": "send", "text": "look", "attachments": [mine, theirs]})
    refusal = await sock.until(lambda f: f["type"] == "error")
    assert refusal["code"] == "attachment"
    assert refusal["message"] == "One of the attachments is not available."
    assert await Attachment.objects.filter(turn__isnull=False).acount() == 0

    # Her own file goes with her message once; after that its id is used up.
    await sock.send({"type": "send", "text": "look", "attachments": [mine]})
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    await sock.until(lambda f: f["type"] == "turn" and f["seq"] > 0)
    used = await Attachment.objects.aget(uuid=mine)
    assert used.turn_id == created["turn"]["id"]
    await sock.send({"type": "send", "text": "again", "attachments": [mine]})
    assert (await sock.until(lambda f: f["type"] == "error"))["code"] == "attachment"
    still = await Attachment.objects.aget(uuid=theirs)
    assert still.turn_id is None and still.owner_id == bob.pk
