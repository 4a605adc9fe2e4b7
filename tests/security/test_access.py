"""Another signed-in user can reach nothing of yours: by URL, websocket or id guessing.

Endpoints covered (bob against alice's things; each must answer 404, or a `not_found` error
frame, and change nothing):

    GET  /c/<id>/  and  /c/<id>/?turn=<id>       the conversation page
    POST /c/<id>/settings                         conversation settings
    POST /c/<id>/<action>                         rename, pin, unpin, archive, unarchive, delete
    POST /c/<id>/share     GET /c/<id>/shares     share links
    GET  /c/<id>/export.md  /c/<id>/export.json   export
    POST /s/<token>/revoke                        revoking someone else's share link
    GET  /files/<uuid>                            uploaded, attached and generated files
    GET  /s/<token>/files/<uuid>                  a file of another user through one's own link
    POST /import                                  an import naming another user's files
    GET  /sidebar/?q=   and   /                   listing and search
    websocket: subscribe, send (conversation, parent, attachments), edit, regenerate, retry,
               stop, select
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chatapp import share_links
from chatapp.export import export_data
from chatapp.models import Attachment, Conversation, ShareLink, Turn
from chatapp.uploads import store_upload

from ..reliability.helpers import is_final

SECRET_TITLE = "Alice's secret plans"
SECRET_TEXT = "the combination is 4-8-15-16"


def png(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def alices_world(alice: Any) -> dict[str, Any]:
    """A conversation of alice's with an answered turn, her files and a share link."""
    conversation = Conversation.objects.create(
        owner=alice, title=SECRET_TITLE, model="gemini-3.5-flash"
    )
    attached = store_upload(alice, SimpleUploadedFile("plan.png", png("blue"), "image/png"))
    steps = [{"type": "model_output", "content": [{"type": "text", "text": SECRET_TEXT}]}]
    turn = Turn.objects.create(
        conversation=conversation,
        model="gemini-3.5-flash",
        user_text="What is the combination?",
        user_input=[
            {"type": "text", "text": "What is the combination?"},
            {"type": "image", "attachment": str(attached.uuid), "mime_type": "image/png"},
        ],
        steps=steps,
        answer_text=SECRET_TEXT,
        status="completed",
    )
    Attachment.objects.filter(pk=attached.pk).update(turn=turn)
    conversation.current_turn = turn
    conversation.save()
    pending = store_upload(alice, SimpleUploadedFile("next.png", png("green"), "image/png"))
    link = share_links.create_link(alice, conversation, None)
    return {
        "conversation": conversation,
        "turn": turn,
        "attached": attached,
        "pending": pending,
        "link": link,
    }


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def snapshot(conversation: Conversation) -> Any:
    """Everything about alice's conversation that an attack could change."""
    conversation.refresh_from_db()
    turns = list(conversation.turns.order_by("pk").values())
    links = list(ShareLink.objects.filter(conversation=conversation).values("token", "revoked"))
    fields = ("title", "pinned", "archived", "model", "system_instruction", "current_turn_id")
    return [getattr(conversation, f) for f in fields], turns, links


# --- by URL ---


@pytest.mark.django_db
def test_another_user_gets_404_for_every_url_of_a_conversation(alice: Any, bob: Any) -> None:
    world = alices_world(alice)
    conv, turn = world["conversation"].pk, world["turn"].pk
    before = snapshot(world["conversation"])
    client = signed_in(bob)
    owner = signed_in(alice)

    reads = [
        f"/c/{conv}/",
        f"/c/{conv}/?turn={turn}",
        f"/c/{conv}/shares",
        f"/c/{conv}/export.md",
        f"/c/{conv}/export.json",
        f"/files/{world['attached'].uuid}",
        f"/files/{world['pending'].uuid}",
    ]
    for url in reads:
        assert owner.get(url).status_code == 200, f"the owner can read {url}"
        response = client.get(url)
        assert response.status_code == 404, url
        assert SECRET_TEXT.encode() not in response.content

    writes: list[tuple[str, dict[str, str]]] = [
        (f"/c/{conv}/settings", {"model": "gemini-3.5-flash", "system_instruction": "pwned"}),
        (f"/c/{conv}/rename", {"title": "pwned"}),
        *[(f"/c/{conv}/{action}", {}) for action in ("pin", "unpin", "archive", "unarchive")],
        (f"/c/{conv}/share", {}),
        (f"/s/{world['link'].token}/revoke", {}),
        (f"/c/{conv}/delete", {}),
    ]
    for url, data in writes:
        for accept in ("text/html", "application/json"):
            response = client.post(url, data, HTTP_ACCEPT=accept)
            assert response.status_code == 404, url
    assert snapshot(world["conversation"]) == before, "bob changed alice's conversation"
    assert ShareLink.objects.filter(conversation_id=conv).count() == 1


@pytest.mark.django_db
def test_id_guessing_reveals_nothing(alice: Any, bob: Any) -> None:
    world = alices_world(alice)
    mine = Conversation.objects.create(owner=bob, title="bob's", model="gemini-3.5-flash")
    client = signed_in(bob)
    highest = mine.pk + 5
    for pk in range(1, highest):
        for url in (f"/c/{pk}/", f"/c/{pk}/export.json", f"/c/{pk}/shares"):
            expected = 200 if pk == mine.pk else 404
            assert client.get(url).status_code == expected, url
    # "Not yours" and "no such thing" look the same: existence is not revealed.
    theirs_url = f"/c/{world['conversation'].pk}/export.json"
    nothing_url = f"/c/{highest + 100}/export.json"
    theirs, nothing = client.get(theirs_url), client.get(nothing_url)
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.content.replace(theirs_url.encode(), b"URL") == (
        nothing.content.replace(nothing_url.encode(), b"URL")
    )
    for url in (f"/files/{world['attached'].uuid}", "/files/00000000-0000-4000-8000-000000000000"):
        assert client.get(url).status_code == 404
    assert client.get(f"/s/{world['link'].token}").status_code == 200  # the public link itself
    # Lists and search show only bob's own conversations.
    for url in ("/", "/sidebar/", "/sidebar/?q=secret", "/sidebar/?q=combination"):
        body = client.get(url).content.decode()
        assert SECRET_TITLE not in body and SECRET_TEXT not in body, url
        assert f'data-conversation="{world["conversation"].pk}"' not in body


@pytest.mark.django_db
def test_an_import_cannot_borrow_another_users_files(alice: Any, bob: Any) -> None:
    """Bob imports a file naming alice's attachment, then shares it: her file stays hers."""
    world = alices_world(alice)
    theirs = str(world["attached"].uuid)
    export = export_data(world["conversation"])
    client = signed_in(bob)
    upload = SimpleUploadedFile("export.json", json.dumps(export).encode(), "application/json")
    response = client.post("/import", {"file": upload}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201, response.content
    imported = Conversation.objects.get(pk=response.json()["id"])
    assert imported.owner == bob
    stored = json.dumps(list(imported.turns.values("user_input", "steps")))
    assert theirs not in stored, "the import kept a reference to alice's file"

    # Even a link made over a tampered snapshot does not serve another user's file.
    link = share_links.create_link(bob, imported, None)
    frozen = share_links.frozen_turns(link)
    tampered = {"snapshot": [{**frozen[0], "user_input": world["turn"].user_input}], "html": ""}
    with link.content.storage.open(link.content.name, "wb") as stored:
        stored.write(json.dumps(tampered).encode())
    ShareLink.objects.filter(pk=link.pk).update(rendered=None, files=[])
    assert client.get(f"/s/{link.token}/files/{theirs}").status_code == 404
    assert client.get(f"/files/{theirs}").status_code == 404
    assert Client().get(f"/files/{theirs}").status_code == 302  # anonymous: to the login page


# --- by websocket ---


@pytest.mark.django_db(transaction=True)
async def test_another_users_websocket_frames_are_not_found(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    world = await sync_to_async(alices_world)(alice)
    conv, turn = world["conversation"], world["turn"]
    before = await sync_to_async(snapshot)(conv)
    mine = await Conversation.objects.acreate(owner=bob, title="bob's", model="gemini-3.5-flash")
    sock = await connect(bob)
    frames = [
        {"type": "subscribe", "conversation": conv.pk},
        {"type": "send", "conversation": conv.pk, "text": "hi"},
        {"type": "send", "conversation": mine.pk, "parent": turn.pk, "text": "hi"},
        {"type": "edit", "turn": turn.pk, "text": "pwned"},
        {"type": "regenerate", "turn": turn.pk},
        {"type": "retry", "turn": turn.pk},
        {"type": "stop", "turn": turn.pk},
        {"type": "select", "conversation": conv.pk, "turn": turn.pk},
        {"type": "select", "conversation": mine.pk, "turn": turn.pk},
    ]
    for n, frame in enumerate(frames):
        await sock.send({**frame, "client_id": str(n)} if frame["type"] == "send" else frame)
        answer = await sock.until(lambda f: f["type"] == "error")
        assert answer["code"] == "not_found", (frame, answer)

    # Alice's files, attached or not, can't ride on bob's message.
    for attachment in (world["attached"], world["pending"]):
        await sock.send({"type": "send", "text": "look", "attachments": [str(attachment.uuid)]})
        answer = await sock.until(lambda f: f["type"] == "error")
        assert answer["code"] == "attachment"
        assert answer["message"] == "One of the attachments is not available."
    pending = await Attachment.objects.aget(pk=world["pending"].pk)
    assert pending.turn_id is None

    assert await sync_to_async(snapshot)(conv) == before
    leaked = [f for f in sock.frames if SECRET_TEXT in json.dumps(f) or SECRET_TITLE in str(f)]
    assert leaked == []
    assert {f["type"] for f in sock.frames} == {"error"}
    assert await Turn.objects.filter(conversation__owner=bob).acount() == 0


@pytest.mark.django_db(transaction=True)
async def test_a_send_refused_for_a_foreign_parent_leaves_nothing_behind(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    world = await sync_to_async(alices_world)(alice)
    sock = await connect(bob)
    await sock.send({"type": "send", "conversation": None, "parent": world["turn"].pk, "text": "x"})
    assert (await sock.until(lambda f: f["type"] == "error"))["code"] == "not_found"
    assert [f["type"] for f in sock.frames] == ["error"]
    assert await Conversation.objects.filter(owner=bob).acount() == 0


@pytest.mark.django_db(transaction=True)
async def test_another_user_cannot_stop_or_watch_a_running_answer(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    owner = await connect(alice)
    await owner.send({"type": "send", "conversation": None, "text": "[[sim:slow]] my own words"})
    created = await owner.until(lambda f: f["type"] == "turn")
    turn_id, conv = created["turn"]["id"], created["turn"]["conversation"]
    await owner.until(lambda f: f["type"] == "delta")

    intruder = await connect(bob)
    for frame in (
        {"type": "stop", "turn": turn_id},
        {"type": "subscribe", "conversation": conv},
        {"type": "retry", "turn": turn_id},
    ):
        await intruder.send(frame)
        assert (await intruder.until(lambda f: f["type"] == "error"))["code"] == "not_found"

    final = await owner.until(is_final(turn_id))
    assert final["turn"]["status"] == "completed", "bob's stop must not stop alice's answer"
    assert all(f["type"] == "error" for f in intruder.frames)
    assert not any(re.search("my own words", json.dumps(f)) for f in intruder.frames)
