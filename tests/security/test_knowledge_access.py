"""Another person's knowledge base is out of reach: its pages, documents, actions, citations,
and its store in a conversation's settings, in a frame, or in a turn's request.

Bob against alice's private base; each must answer 404 (or an error frame) and change nothing.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chatapp import knowledge
from chatapp.models import Conversation, KnowledgeBase, KnowledgeDocument
from interactions_client.simulator.pdf import tiny_pdf

SECRET = "Alice's merger memo"


@pytest.fixture(autouse=True)
def media(tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def alices_base(alice: Any) -> tuple[KnowledgeBase, KnowledgeDocument]:
    base = knowledge.create_base(alice, SECRET, shared=False)
    upload = SimpleUploadedFile("memo.pdf", tiny_pdf(["Merger with llamas inc", "Price 42"]))
    document = knowledge.add_document(base, upload)
    for _ in range(50):
        if knowledge.refresh(base)[0].state != "pending":
            break
        time.sleep(0.1)
    document.refresh_from_db()
    assert document.state == "active" and document.upstream_name
    return base, document


@pytest.mark.django_db
def test_bob_reaches_nothing_of_alices_base(alice: Any, bob: Any, upstream: Any) -> None:
    base, document = alices_base(alice)
    bob_client = client_for(bob)
    gets = [
        f"/kb/{base.pk}/",
        f"/kb/{base.pk}/?format=json",
        f"/kb/{base.pk}/d/{document.uuid}",
        f"/kb/cited?document={document.upstream_name}",
    ]
    for url in gets:
        response = bob_client.get(url)
        assert response.status_code == 404, url
        assert SECRET.encode() not in response.content
    posts = [
        f"/kb/{base.pk}/upload",
        f"/kb/{base.pk}/rename",
        f"/kb/{base.pk}/delete",
        f"/kb/{base.pk}/d/{document.uuid}/rename",
        f"/kb/{base.pk}/d/{document.uuid}/delete",
    ]
    for url in posts:
        data = {"name": "pwned", "file": SimpleUploadedFile("x.txt", b"pwned")}
        assert bob_client.post(url, data).status_code == 404, url
    assert KnowledgeBase.objects.get(pk=base.pk).name == SECRET
    assert KnowledgeDocument.objects.get(pk=document.pk).name == "memo.pdf"
    store = upstream.app.file_search_stores.get(base.store_name)
    assert len(upstream.app.file_search_stores.documents_of(store)) == 1
    assert SECRET not in bob_client.get("/kb/").content.decode()
    assert SECRET not in bob_client.get("/").content.decode()  # the settings panel

    # Bob's conversation settings naming alice's base: 404, nothing attached.
    mine = Conversation.objects.create(owner=bob, model=settings.DEFAULT_MODEL)
    form = {"model": settings.DEFAULT_MODEL, "knowledge_bases": [str(base.pk)]}
    assert bob_client.post(f"/c/{mine.pk}/settings", form).status_code == 404
    assert bob_client.post("/c/new", form).status_code == 404
    assert not mine.knowledge_bases.exists()
    assert Conversation.objects.filter(owner=bob).count() == 1
    # The owner herself opens the document (a PDF, shown by the browser at its page).
    opened = client_for(alice).get(f"/kb/{base.pk}/d/{document.uuid}")
    assert opened.status_code == 200 and opened["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db(transaction=True)
async def test_alices_store_never_goes_upstream_for_bob(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    base, _ = await sync_to_async(alices_base)(alice)
    sock = await connect(bob)
    # Store names or base ids in a frame are not part of the protocol: refused.
    for extra in (
        {"file_search_store_names": [base.store_name]},
        {"knowledge_bases": [base.pk]},
        {"tools": [{"type": "file_search", "file_search_store_names": [base.store_name]}]},
    ):
        await sock.send({"type": "send", "text": "What is the price?", **extra})
        error = await sock.until(lambda f: f["type"] == "error")
        assert error["code"] == "invalid"
    # Attached behind the form's back (or unshared since): the request still leaves it out.
    conversation = await Conversation.objects.acreate(owner=bob, model=settings.DEFAULT_MODEL)
    await conversation.knowledge_bases.aset([base])
    upstream.app.requests.clear()
    await sock.send({"type": "send", "conversation": conversation.pk, "text": "Price?"})
    final = await sock.until(lambda f: f["type"] == "turn" and f.get("final"))
    assert final["turn"]["status"] == "completed"
    bodies = [r["json"] for r in upstream.app.requests if r["path"].endswith("/interactions")]
    assert bodies and all(base.store_name not in str(body) for body in bodies)
    assert "Merger with llamas" not in final["turn"]["html"]
