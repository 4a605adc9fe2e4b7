"""Folders ("projects"): their defaults reach chats made in them, chats move in and out,
deleting a folder keeps its chats, and every folder is its owner's only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chatapp.folder_models import Folder
from chatapp.models import Conversation

pytestmark = pytest.mark.django_db


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice: Any) -> Client:
    return client_of(alice)


@pytest.fixture
def folder(alice: Any) -> Folder:
    made: Folder = Folder.objects.create(
        owner=alice,
        name="Research",
        model="gemini-3.1-pro-preview",
        system_instruction="Answer like a librarian.",
        google_search=True,
    )
    return made


def test_create_edit_and_read_a_folder(alice_client: Client, alice: Any) -> None:
    made = alice_client.post(
        "/folders/new",
        {"name": " Trips ", "model": "", "system_instruction": "Be brief.", "url_context": "on"},
    ).json()
    folder = Folder.objects.get(pk=made["id"], owner=alice)
    assert made["url"] == f"/f/{folder.pk}/"
    assert folder.name == "Trips" and folder.url_context and not folder.google_search
    refused = alice_client.post("/folders/new", {"name": "  "})
    assert refused.status_code == 400 and "needs a name" in refused.json()["error"]
    alice_client.post(f"/folders/{folder.pk}/edit", {"name": "Holidays", "google_search": "on"})
    data = alice_client.get(f"/folders/{folder.pk}").json()
    assert data["name"] == "Holidays" and data["google_search"] and not data["url_context"]
    assert data["system_instruction"] == ""


def test_a_chat_made_in_a_folder_gets_its_defaults(alice_client: Client, folder: Folder) -> None:
    page = alice_client.get(f"/f/{folder.pk}/").content.decode()
    # The settings panel of a new chat there shows the folder's settings, and names it.
    assert f'<input type="hidden" name="folder" value="{folder.pk}">' in page
    assert "Answer like a librarian." in page
    assert "New chat in this folder" in page
    made = alice_client.post(
        "/c/new",
        {"folder": str(folder.pk), "model": "gemini-3.1-pro-preview", "system_instruction": "x"},
    ).json()
    conversation = Conversation.objects.get(pk=made["id"])
    assert conversation.folder_id == folder.pk


@pytest.mark.django_db(transaction=True)
async def test_a_first_message_in_a_folder_starts_a_chat_with_its_settings(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    folder = await Folder.objects.acreate(
        owner=alice,
        name="R",
        model="gemini-3.1-pro-preview",
        system_instruction="Librarian.",
        google_search=True,
    )
    sock = await connect(alice)
    await sock.send({"type": "send", "conversation": None, "text": "hello", "folder": folder.pk})
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    conversation = await Conversation.objects.aget(pk=created["turn"]["conversation"])
    assert conversation.folder_id == folder.pk
    assert conversation.model == "gemini-3.1-pro-preview" and conversation.google_search
    assert conversation.system_instruction == "Librarian."
    await sock.until_final(created["turn"]["id"])
    await sock.close()
    # Someone else's folder is refused, and no conversation is made.
    bobs = await connect(bob)
    before = await Conversation.objects.acount()
    await bobs.send({"type": "send", "conversation": None, "text": "hi", "folder": folder.pk})
    error = await bobs.until(lambda f: f["type"] == "error")
    assert error["code"] == "not_found"
    assert await Conversation.objects.acount() == before
    await bobs.close()


def test_move_in_and_out_and_the_sidebar_shows_folders(
    alice_client: Client, alice: Any, folder: Folder
) -> None:
    chat = Conversation.objects.create(owner=alice, title="Loose chat", model="m")
    assert alice_client.post(f"/c/{chat.pk}/move", {"folder": folder.pk}).status_code == 200
    chat.refresh_from_db()
    assert chat.folder_id == folder.pk
    # The main list shows the folder, not its chats; the folder's list shows them.
    main = alice_client.get("/sidebar/").content.decode()
    assert "Research" in main and "Loose chat" not in main
    inside = alice_client.get(f"/sidebar/?folder={folder.pk}").content.decode()
    assert "Loose chat" in inside and "All chats" in inside
    # A search looks in folders too.
    assert "Loose chat" in alice_client.get("/sidebar/?q=loose").content.decode()
    alice_client.post(f"/c/{chat.pk}/move", {"folder": ""})
    chat.refresh_from_db()
    assert chat.folder_id is None


def test_deleting_a_folder_keeps_its_chats(
    alice_client: Client, alice: Any, folder: Folder
) -> None:
    chat = Conversation.objects.create(owner=alice, title="Kept", model="m", folder=folder)
    assert alice_client.post(f"/folders/{folder.pk}/delete").json() == {"ok": True}
    assert not Folder.objects.filter(pk=folder.pk).exists()
    chat.refresh_from_db()
    assert chat.folder_id is None


def test_another_persons_folder_is_a_404(folder: Folder, alice: Any, bob: Any) -> None:
    bob_client = client_of(bob)
    bobs_chat = Conversation.objects.create(owner=bob, title="b", model="m")
    for response in (
        bob_client.get(f"/f/{folder.pk}/"),
        bob_client.get(f"/folders/{folder.pk}"),
        bob_client.post(f"/folders/{folder.pk}/edit", {"name": "mine now"}),
        bob_client.post(f"/folders/{folder.pk}/delete"),
        bob_client.post(f"/c/{bobs_chat.pk}/move", {"folder": folder.pk}),
        bob_client.get(f"/sidebar/?folder={folder.pk}"),
        bob_client.post("/c/new", {"folder": folder.pk, "model": "gemini-3.5-flash"}),
    ):
        assert response.status_code == 404
    folder.refresh_from_db()
    assert folder.name == "Research"
    bobs_chat.refresh_from_db()
    assert bobs_chat.folder_id is None
    # Nor can Alice move her chat into a folder through Bob's conversation URL.
    alice_chat = Conversation.objects.create(owner=alice, title="a", model="m")
    assert bob_client.post(f"/c/{alice_chat.pk}/move", {"folder": ""}).status_code == 404


def test_odd_folder_ids_are_404s(alice_client: Client, alice: Any) -> None:
    chat = Conversation.objects.create(owner=alice, title="a", model="m")
    for odd in ("abc", "²", "1e3", "-1", "99999999999999999999999"):
        assert alice_client.get("/sidebar/", {"folder": odd}).status_code == 404
        assert alice_client.post(f"/c/{chat.pk}/move", {"folder": odd}).status_code == 404
        assert alice_client.post("/c/new", {"folder": odd, "model": "x"}).status_code == 404


def test_folder_actions_need_post_and_csrf(alice: Any, folder: Folder) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/folders/{folder.pk}/delete").status_code == 403
    assert client.post("/folders/new", {"name": "x"}).status_code == 403
    assert client.get(f"/folders/{folder.pk}/delete").status_code == 405
    assert Folder.objects.filter(pk=folder.pk).exists()
