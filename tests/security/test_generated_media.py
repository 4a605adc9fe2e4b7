"""Generated media from the upstream: kept only as the image, audio or video its bytes are.

The upstream's `mime_type` is a claim. An SVG with a script, a page or a PDF sent as "an
image" would be served from this origin by /files/, so `chatapp.media.save_generated` reads the
type from the bytes (`chatapp.sniffing.detect`) and turns anything else into a note.
"""

from __future__ import annotations

import base64
import io
import struct
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from chatapp.media import save_generated
from chatapp.models import Attachment, Conversation, Turn
from interactions_client.simulator import model as simulated_model
from tests.app.test_consumers import start_chat

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML = b"<!doctype html><html><script>fetch('/c/1/export.json')</script></html>"


def png(color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


def wav() -> bytes:
    samples = b"\x00\x00" * 800
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return header + b"data" + struct.pack("<I", len(samples)) + samples


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def turn(alice: Any, settings: Any, tmp_path: Any) -> Turn:
    settings.MEDIA_ROOT = tmp_path
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.1-flash-image")
    return Turn.objects.create(conversation=conversation, model=conversation.model)


def output(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "model_output", "content": [{"type": "text", "text": "Here:"}, *items]}


@pytest.mark.django_db
def test_real_media_is_kept_with_the_type_its_bytes_say(turn: Turn, alice: Any) -> None:
    step = save_generated(
        turn,
        output(
            {"type": "image", "mime_type": "image/jpeg", "data": b64(png())},
            {"type": "audio", "mime_type": "audio/x-whatever", "data": b64(wav())},
        ),
    )
    image, audio = step["content"][1:]
    assert "data" not in image and "data" not in audio
    kept = {a.kind: a for a in Attachment.objects.filter(turn=turn)}
    assert (kept["image"].mime_type, kept["image"].extension) == ("image/png", ".png")
    assert (kept["audio"].mime_type, kept["audio"].extension) == ("audio/wav", ".wav")
    assert image == {
        "type": "image",
        "mime_type": "image/png",
        "attachment": str(kept["image"].uuid),
    }
    assert audio["mime_type"] == "audio/wav" and kept["audio"].generated
    client = Client()
    client.force_login(alice)
    served = client.get(f"/files/{kept['image'].uuid}")
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png()


CLAIMS = [
    ("image", "image/svg+xml", b64(SVG), "its content is not an image, audio or video file"),
    ("image", "image/png", b64(SVG), "its content is not an image, audio or video file"),
    ("image", "image/png", b64(HTML), "its content is not an image, audio or video file"),
    (
        "image",
        "image/png",
        b64(b"%PDF-1.7\n1 0 obj"),
        "its content is not an image, audio or video file",
    ),
    ("video", "video/mp4", b64(b"\x00" * 64), "its content is not an image, audio or video file"),
    ("image", "image/png", b64(png()[:40]), "it could not be read as an image"),
    ("image", "image/png", "not base64 at all!", "its data is not valid base64"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "claim", "data", "reason"), CLAIMS)
def test_anything_else_is_not_kept_and_says_so(
    turn: Turn, kind: str, claim: str, data: str, reason: str
) -> None:
    step = save_generated(turn, output({"type": kind, "mime_type": claim, "data": data}))
    note = step["content"][1]
    assert note["type"] == "text" and set(note) == {"type", "text"}
    assert f"was not kept: {reason}." in note["text"]
    assert f"({claim})" in note["text"]
    assert not Attachment.objects.exists()
    assert data not in str(step)


@pytest.mark.django_db
def test_a_claimed_type_that_is_not_a_type_is_not_repeated(turn: Turn) -> None:
    claim = "image/png [click](https://evil.example)"
    step = save_generated(turn, output({"type": "image", "mime_type": claim, "data": b64(SVG)}))
    text = step["content"][1]["text"]
    assert "evil" not in text and text.strip() == (
        "*[A generated image was not kept: its content is not an image, audio or video file.]*"
    )


@pytest.mark.django_db
def test_too_large_media_is_not_kept(turn: Turn, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = {**settings.UPLOAD_MAX_BYTES, "image": 50}
    step = save_generated(
        turn, output({"type": "image", "mime_type": "image/png", "data": b64(png())})
    )
    assert "was not kept: it is larger than 50 bytes." in step["content"][1]["text"]
    assert not Attachment.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_an_svg_from_the_upstream_becomes_a_note_in_the_chat(
    connect: Any, alice: Any, upstream: Any, settings: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """Through the real relay: the simulator, over loopback, answers with an SVG "image"."""
    settings.MEDIA_ROOT = tmp_path
    svg = {"type": "image", "mime_type": "image/png", "data": b64(SVG)}
    monkeypatch.setattr(simulated_model, "_image", lambda ctx: svg)
    conversation = await Conversation.objects.acreate(
        owner=alice, model="gemini-3.1-flash-image", stateless=True
    )
    sock = await connect(alice)
    created = await start_chat(sock, "Draw a cat", conversation.pk)
    final = await sock.until_final()
    assert final["turn"]["status"] == "completed"
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert b64(SVG) not in str(turn.steps)
    assert not await Attachment.objects.filter(turn=turn).aexists()
    html = final["turn"]["html"]
    assert "A generated image (image/png) was not kept" in html and "<svg" not in html
    # The conversation goes on: the note is replayed as text, never as an image.
    await start_chat(sock, "Again", conversation.pk, turn.pk)
    assert (await sock.until_final())["turn"]["status"] == "completed"
    sent = [r["json"] for r in upstream.app.requests if r["path"].endswith("/interactions")]
    replayed = [s for s in sent[-1]["input"] if s["type"] == "model_output"][0]
    assert [i["type"] for i in replayed["content"]] == ["text", "text"]
