"""Large media through Gemini's Files API: uploaded once from our copy, used by uri,
uploaded again when Gemini forgot it, deleted with its conversation, never half-registered."""

from __future__ import annotations

import struct
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from chatapp.models import Attachment, Conversation, Turn
from interactions_client.simulator import Fault

from .test_capabilities import creates, png_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def mp4_bytes(size: int = 300_000) -> bytes:
    body = b"isom" + struct.pack(">I", 0) + b"isomiso2avc1mp41"
    head = struct.pack(">I", 8 + len(body)) + b"ftyp" + body
    return head + struct.pack(">I", size - len(head)) + b"mdat" + b"\x00" * (size - len(head) - 8)


def uploads_started(simulator: Any) -> int:
    return sum(
        1
        for r in simulator.app.requests
        if r["method"] == "POST"
        and r["path"].endswith("/files")
        and r["headers"].get("x-goog-upload-command") == "start"
    )


async def send_video(sock: Any, text: str = "What happens here?", **frame: Any) -> dict[str, Any]:
    video = await upload(frame.pop("user"), "clip.mp4", mp4_bytes())
    await sock.send({"type": "send", "text": text, "attachments": [video["id"]], **frame})
    return video


async def test_a_video_goes_by_uri_uploaded_once_and_the_page_hears_it_processing(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    video = await send_video(sock, user=alice)
    final = await sock.until_final()
    assert final["turn"]["status"] == "completed", final
    details = [f.get("detail") for f in sock.frames if f["type"] == "status"]
    assert "Uploading video to Gemini… 0%" in details
    assert "Uploading video to Gemini… 100%" in details
    assert "Processing video…" in details

    attachment = await Attachment.objects.aget(uuid=video["id"])
    assert attachment.upstream_name.startswith("files/") and attachment.upstream_expires
    content = creates(upstream)[-1]["input"][0]["content"]
    assert content[1] == {"type": "video", "uri": attachment.upstream_uri, "mime_type": "video/mp4"}
    stored = upstream.app.files.get(attachment.upstream_name.removeprefix("files/"))
    assert stored.size == attachment.size
    assert "clip.mp4" in final["turn"]["html"] or "video/mp4" in final["turn"]["html"]

    # A stateless follow-up replays the branch: the same file, not a second upload.
    await Conversation.objects.filter(pk=final["turn"]["conversation"]).aupdate(stateless=True)
    await sock.send(
        {
            "type": "send",
            "text": "And then?",
            "conversation": final["turn"]["conversation"],
            "parent": final["turn"]["id"],
        }
    )
    second = await sock.until_final()
    assert second["turn"]["status"] == "completed"
    assert uploads_started(upstream) == 1
    replayed = creates(upstream)[-1]["input"][0]["content"][1]
    assert replayed["uri"] == attachment.upstream_uri


async def test_a_small_image_stays_inline_and_a_large_one_goes_by_uri(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    png = png_bytes()
    sock = await connect(alice)
    small = await upload(alice, "small.png", png)
    await sock.send({"type": "send", "text": "This?", "attachments": [small["id"]]})
    await sock.until_final()
    assert "data" in creates(upstream)[-1]["input"][0]["content"][1]
    assert uploads_started(upstream) == 0

    settings.FILES_API_MIN_BYTES = len(png)
    large = await upload(alice, "large.png", png)
    await sock.send({"type": "send", "text": "And this?", "attachments": [large["id"]]})
    assert (await sock.until_final())["turn"]["status"] == "completed"
    item = creates(upstream)[-1]["input"][0]["content"][1]
    assert item["type"] == "image" and item["uri"].startswith("http") and "data" not in item


async def test_an_expired_file_is_uploaded_again_during_a_replay(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    video = await send_video(sock, user=alice)
    first = await sock.until_final()
    conversation_id = first["turn"]["conversation"]
    await Conversation.objects.filter(pk=conversation_id).aupdate(stateless=True)
    before = await Attachment.objects.aget(uuid=video["id"])

    # Gemini forgot it while our record says it is still there: the 403 is met and handled.
    assert upstream.app.files.expire() == [before.upstream_name]
    await sock.send(
        {
            "type": "send",
            "text": "Again?",
            "conversation": conversation_id,
            "parent": first["turn"]["id"],
        }
    )
    second = await sock.until_final()
    assert second["turn"]["status"] == "completed", second["turn"]
    after = await Attachment.objects.aget(uuid=video["id"])
    assert after.upstream_name != before.upstream_name
    assert creates(upstream)[-1]["input"][0]["content"][1]["uri"] == after.upstream_uri
    assert uploads_started(upstream) == 2

    # Our record says it expired (48 h later): uploaded again before asking, no 403 needed.
    await Attachment.objects.filter(pk=after.pk).aupdate(
        upstream_expires=timezone.now() - timedelta(minutes=1)
    )
    upstream.app.requests.clear()
    await sock.send(
        {
            "type": "send",
            "text": "Once more",
            "conversation": conversation_id,
            "parent": second["turn"]["id"],
        }
    )
    assert (await sock.until_final())["turn"]["status"] == "completed"
    assert uploads_started(upstream) == 1
    assert len(creates(upstream)) == 1  # no refused attempt first


async def test_deleting_the_conversation_deletes_the_file_upstream(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    video = await send_video(sock, user=alice)
    final = await sock.until_final()
    attachment = await Attachment.objects.aget(uuid=video["id"])
    file_id = attachment.upstream_name.removeprefix("files/")
    assert [f.id for f in upstream.app.files.all()] == [file_id]

    client = Client()
    await sync_to_async(client.force_login)(alice)
    url = f"/c/{final['turn']['conversation']}/delete"
    response = await sync_to_async(client.post)(url)
    assert response.status_code in (200, 204, 302)
    assert not await Attachment.objects.filter(pk=attachment.pk).aexists()
    assert upstream.app.files.all() == []


async def test_an_interrupted_upload_leaves_nothing_half_registered(
    connect: Any, alice: Any, upstream: Any
) -> None:
    # The connection breaks for good in the middle of the bytes (retries spent).
    upstream.app.faults.push(
        Fault(kind="status", status=400, route="upload", match="upload_id", times=1)
    )
    sock = await connect(alice)
    video = await send_video(sock, user=alice)
    final = await sock.until_final()
    assert final["turn"]["status"] == "failed"
    attachment = await Attachment.objects.aget(uuid=video["id"])
    assert (attachment.upstream_name, attachment.upstream_uri) == ("", "")
    assert attachment.upstream_expires is None
    assert len(upstream.app.uploads) == 0  # the session was cancelled
    assert upstream.app.files.all() == []
    assert not creates(upstream)  # the model was never asked

    # Trying again uploads it whole and answers.
    await sock.send({"type": "retry", "turn": final["turn"]["id"]})
    again = await sock.until_final()
    assert again["turn"]["status"] == "completed"
    turn = await Turn.objects.aget(pk=final["turn"]["id"])
    assert turn.status == "completed"
    assert len(upstream.app.files.all()) == 1


async def test_an_imported_conversation_uploads_its_expired_video_again(
    connect: Any, alice: Any, upstream: Any
) -> None:
    import json

    from chatapp import importer
    from chatapp.export import export_data

    sock = await connect(alice)
    video = await send_video(sock, user=alice)
    first = await sock.until_final()
    original = await Conversation.objects.aget(pk=first["turn"]["conversation"])
    exported = json.dumps(await sync_to_async(export_data)(original)).encode()
    imported, _ = await sync_to_async(importer.import_conversation)(alice, exported)
    before = await Attachment.objects.aget(uuid=video["id"])
    upstream.app.files.expire()

    # The imported turns were never stored upstream: the branch is replayed, with the video.
    leaf = await Turn.objects.filter(conversation=imported).order_by("-pk").afirst()
    assert leaf is not None
    await sock.send(
        {"type": "send", "text": "Still there?", "conversation": imported.pk, "parent": leaf.pk}
    )
    final = await sock.until(
        lambda f: (
            f["type"] == "error"
            or (f["type"] == "turn" and f.get("final") and f["turn"]["parent"] == leaf.pk)
        )
    )
    assert final["type"] == "turn" and final["turn"]["status"] == "completed", final
    after = await Attachment.objects.aget(uuid=video["id"])
    assert after.upstream_name != before.upstream_name
    replayed = creates(upstream)[-1]
    assert "previous_interaction_id" not in replayed
    assert replayed["input"][0]["content"][1]["uri"] == after.upstream_uri


async def test_stopping_while_the_video_is_processing_deletes_it_upstream(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    video = await send_video(sock, user=alice)
    waiting = await sock.until(lambda f: f.get("detail") == "Processing video…")
    assert len(upstream.app.files.all()) == 1  # uploaded, not yet ACTIVE
    await sock.send({"type": "stop", "turn": waiting["turn"]})
    final = await sock.until_final()
    assert final["turn"]["status"] == "stopped"
    attachment = await Attachment.objects.aget(uuid=video["id"])
    assert (attachment.upstream_name, attachment.upstream_uri) == ("", "")
    assert upstream.app.files.all() == []
    assert not creates(upstream)
