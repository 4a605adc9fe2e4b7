"""Knowledge bases: pages, documents indexed in a Gemini file search store, permissions, and
turns that search them."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chatapp.models import Conversation, KnowledgeBase, KnowledgeDocument
from interactions_client.simulator.pdf import tiny_pdf

HANDBOOK = tiny_pdf(["Welcome to the handbook", "Vacation policy: llamas get 30 days off"])


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def docx_bytes(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def make_base(user: Any, name: str = "Handbook", **extra: Any) -> KnowledgeBase:
    response = client_for(user).post("/kb/new", {"name": name, **extra})
    assert response.status_code == 302, response.content
    return KnowledgeBase.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))


def add(user: Any, base: KnowledgeBase, name: str, data: bytes) -> Any:
    return client_for(user).post(
        f"/kb/{base.pk}/upload",
        {"file": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT="application/json",
    )


def settled(user: Any, base: KnowledgeBase) -> dict[str, dict[str, Any]]:
    """The documents' states once none is indexing (as the page polls them)."""
    for _ in range(50):
        body = client_for(user).get(f"/kb/{base.pk}/?format=json").json()
        if all(d["state"] != "pending" for d in body["documents"]):
            return {d["name"]: d for d in body["documents"]}
        time.sleep(0.1)
    raise AssertionError("documents still indexing")


@pytest.mark.django_db
def test_an_owner_builds_a_base_and_sees_each_document_indexed_or_failed(
    alice: Any, upstream: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    base = make_base(alice, "  Team   handbook ")
    assert base.name == "Team handbook" and base.owner == alice and not base.shared
    store = upstream.app.file_search_stores.get(base.store_name)
    assert store is not None

    for name, data in [
        ("handbook.pdf", HANDBOOK),
        ("notes.md", b"# Notes\n\nThe llamas graze on Tuesdays.\n"),
        ("policy.docx", docx_bytes("Llamas may work from home.")),
        ("page.html", b"<!doctype html><p>Llama page</p>"),
        ("plain.txt", b"Plain llama text."),
        ("broken [[sim:fail]].txt", b"This one fails to index."),
    ]:
        assert add(alice, base, name, data).status_code == 201
    states = settled(alice, base)
    assert states["broken [[sim:fail]].txt"]["state"] == "failed"
    assert "Indexing failed" in states["broken [[sim:fail]].txt"]["error"]
    assert {n for n, d in states.items() if d["state"] == "active"} == {
        "handbook.pdf",
        "notes.md",
        "policy.docx",
        "page.html",
        "plain.txt",
    }
    types = dict(KnowledgeDocument.objects.values_list("name", "mime_type"))
    assert types["notes.md"] == "text/markdown" and types["page.html"] == "text/html"
    assert types["policy.docx"].endswith("wordprocessingml.document")
    upstream_docs = upstream.app.file_search_stores.documents_of(store)
    assert len(upstream_docs) == 6

    # Refused: a program, a ZIP that is not a Word document, nothing at all.
    for name, data, words in [
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 100, "not supported"),
        ("archive.zip", zipfile_bytes(), "not a Word document"),
    ]:
        response = add(alice, base, name, data)
        assert response.status_code == 400 and words in response.json()["error"]
    page = client_for(alice).get(f"/kb/{base.pk}/").content.decode()
    assert "Failed" in page and "Indexing failed" in page and "handbook.pdf" in page

    # Rename a document, remove one, rename the base, then delete it with its store.
    pdf = KnowledgeDocument.objects.get(name="handbook.pdf")
    client_for(alice).post(f"/kb/{base.pk}/d/{pdf.uuid}/rename", {"name": "Handbook 2026.pdf"})
    assert KnowledgeDocument.objects.get(pk=pdf.pk).name == "Handbook 2026.pdf"
    md = KnowledgeDocument.objects.get(name="notes.md")
    client_for(alice).post(f"/kb/{base.pk}/d/{md.uuid}/delete")
    assert not KnowledgeDocument.objects.filter(pk=md.pk).exists()
    assert len(upstream.app.file_search_stores.documents_of(store)) == 5
    client_for(alice).post(f"/kb/{base.pk}/rename", {"name": "Handbook"})
    assert KnowledgeBase.objects.get(pk=base.pk).name == "Handbook"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(f"/kb/{base.pk}/delete")
    assert response.status_code == 302
    assert not KnowledgeBase.objects.filter(pk=base.pk).exists()
    assert not KnowledgeDocument.objects.exists()
    assert not list((Path(settings.MEDIA_ROOT) / "knowledge").rglob("*.*"))  # our copies too
    with pytest.raises(Exception):  # noqa: B017 (the simulator's own not-found error)
        upstream.app.file_search_stores.get(base.store_name)


def zipfile_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


@pytest.mark.django_db
def test_another_persons_base_is_a_404_and_a_shared_one_is_used_not_managed(
    alice: Any, bob: Any, upstream: Any, django_user_model: Any
) -> None:
    private = make_base(alice, "Private")
    assert add(alice, private, "handbook.pdf", HANDBOOK).status_code == 201
    document = KnowledgeDocument.objects.get(base=private)
    bob_client = client_for(bob)
    for url in (
        f"/kb/{private.pk}/",
        f"/kb/{private.pk}/d/{document.uuid}",
    ):
        assert bob_client.get(url).status_code == 404
    for url in (
        f"/kb/{private.pk}/upload",
        f"/kb/{private.pk}/delete",
        f"/kb/{private.pk}/rename",
        f"/kb/{private.pk}/d/{document.uuid}/delete",
    ):
        assert bob_client.post(url, {"name": "x"}).status_code == 404
    assert KnowledgeBase.objects.filter(pk=private.pk).exists()
    assert "Private" not in bob_client.get("/kb/").content.decode()

    # Only an admin shares a base with the team; then bob may use it, not change it.
    assert not make_base(alice, "Not shared", shared="on").shared
    admin = django_user_model.objects.create_user("root", password="pw-root-123", is_staff=True)
    team = make_base(admin, "Team", shared="on")
    assert team.shared
    assert add(admin, team, "handbook.pdf", HANDBOOK).status_code == 201
    team_doc = KnowledgeDocument.objects.get(base=team)
    assert bob_client.get(f"/kb/{team.pk}/").status_code == 200
    opened = bob_client.get(f"/kb/{team.pk}/d/{team_doc.uuid}")
    assert opened.status_code == 200 and opened["Content-Type"] == "application/pdf"
    assert opened["X-Content-Type-Options"] == "nosniff"
    assert bob_client.post(f"/kb/{team.pk}/delete").status_code == 404
    assert add(bob, team, "more.txt", b"more").status_code == 404
    # The admin manages anyone's base.
    assert add(admin, private, "more.txt", b"more text").status_code == 201


@pytest.mark.django_db
def test_settings_attach_usable_bases_and_refuse_anyone_elses(
    alice: Any, bob: Any, upstream: Any, settings: Any
) -> None:
    mine = make_base(alice, "Mine")
    theirs = make_base(bob, "Theirs")
    conversation = Conversation.objects.create(owner=alice, model=settings.DEFAULT_MODEL)
    client = client_for(alice)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "Mine" in page and "Theirs" not in page
    form = {"model": conversation.model, "knowledge_bases": [str(mine.pk)]}
    assert client.post(f"/c/{conversation.pk}/settings", form).status_code == 200
    assert list(conversation.knowledge_bases.all()) == [mine]

    for ids in ([str(theirs.pk)], [str(mine.pk), str(theirs.pk)], ["999999"], ["x"]):
        refused = {"model": conversation.model, "knowledge_bases": ids}
        assert client.post(f"/c/{conversation.pk}/settings", refused).status_code == 404
        assert client.post("/c/new", refused).status_code == 404
    assert list(conversation.knowledge_bases.all()) == [mine]
    created = client.post("/c/new", form).json()
    assert list(Conversation.objects.get(pk=created["id"]).knowledge_bases.all()) == [mine]


# --- turns that search a knowledge base ---


async def ready_base(user: Any) -> KnowledgeBase:
    from asgiref.sync import sync_to_async

    base = await sync_to_async(make_base)(user, "Handbook")
    response = await sync_to_async(add)(user, base, "handbook.pdf", HANDBOOK)
    assert response.status_code == 201
    await sync_to_async(settled)(user, base)
    return base


async def conversation_with(user: Any, base: KnowledgeBase) -> Conversation:
    from django.conf import settings

    conversation = await Conversation.objects.acreate(owner=user, model=settings.DEFAULT_MODEL)
    await conversation.knowledge_bases.aset([base])
    return conversation


@pytest.mark.django_db(transaction=True)
async def test_a_turn_searches_the_attached_bases_and_shows_the_cited_document(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    import re
    from html import unescape

    from asgiref.sync import sync_to_async

    from .test_capabilities import creates

    base = await ready_base(alice)
    conversation = await conversation_with(alice, base)
    sock = await connect(alice)
    await sock.send(
        {
            "type": "send",
            "conversation": conversation.pk,
            "text": "What is the llamas vacation policy?",
        }
    )
    final = await sock.until_final()
    assert final["turn"]["status"] == "completed", final["turn"]
    tools = creates(upstream)[-1]["tools"]
    assert {"type": "file_search", "file_search_store_names": [base.store_name]} in tools
    html = final["turn"]["html"]
    assert "30 days off" in html
    # Numbered sources with file name and page, linked to our copy of the document.
    assert "handbook.pdf, page 2" in html
    links = {unescape(h) for h in re.findall(r'href="(/kb/cited\?[^"]+)"', html)}
    (link,) = links
    assert link.endswith("#page=2") and re.search(r'<sup class="cite"><a href="/kb/cited', html)
    document = await KnowledgeDocument.objects.aget(base=base)
    path = link.split("#")[0]
    opened = await sync_to_async(lambda: client_for(alice).get(path))()
    assert opened.status_code == 302 and opened["Location"] == document.get_absolute_url()
    assert (await sync_to_async(lambda: client_for(bob).get(path))()).status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_deleting_a_base_while_a_turn_uses_it_ends_the_turn_with_a_clear_error(
    connect: Any, alice: Any, upstream: Any
) -> None:
    from asgiref.sync import sync_to_async

    from chatapp import knowledge
    from interactions_client.simulator import Fault

    base = await ready_base(alice)
    conversation = await conversation_with(alice, base)
    # The request is on its way (built with the store) when the base is deleted.
    upstream.app.faults.push(Fault(kind="hang", seconds=1.0, route="create"))
    sock = await connect(alice)
    await sock.send({"type": "send", "conversation": conversation.pk, "text": "Vacation?"})
    await sock.until(lambda f: f["type"] == "status")
    await sync_to_async(knowledge.delete_base)(base)
    final = await sock.until_final(timeout=15)
    assert final["turn"]["status"] == "failed"
    assert final["turn"]["error"]["code"] == "knowledge_base", final["turn"]["error"]
    assert "knowledge base" in final["turn"]["html"]
    # The next message answers without it.
    await sock.send(
        {
            "type": "send",
            "conversation": conversation.pk,
            "parent": final["turn"]["id"],
            "text": "And now?",
        }
    )
    assert (await sock.until_final())["turn"]["status"] == "completed"


@pytest.mark.django_db
def test_deleting_an_account_deletes_its_stores_upstream(
    alice: Any, upstream: Any, django_capture_on_commit_callbacks: Any
) -> None:
    base = make_base(alice)
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()
    with pytest.raises(Exception):  # noqa: B017 (the simulator's own not-found error)
        upstream.app.file_search_stores.get(base.store_name)
