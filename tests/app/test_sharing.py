"""Share links: publishing one branch, the public page and its files, revoking."""

from __future__ import annotations

import io
import json
import logging
import types
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from chatapp import limits, payloads, share_links
from chatapp.models import Attachment, Conversation, ShareLink, Turn
from chatapp.rendering import _markdown, plain_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    """The view throttle counts in the cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def png_bytes(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(out, "PNG")
    return out.getvalue()


def make_file(owner: Any, mime: str = "image/png", data: bytes | None = None) -> Attachment:
    extension = {"image/png": ".png", "application/pdf": ".pdf"}[mime]
    attachment = Attachment(
        owner=owner,
        kind="image" if mime.startswith("image/") else "document",
        mime_type=mime,
        extension=extension,
        size=len(data or b""),
        name="picture" + extension,
        generated=True,
    )
    attachment.file.save("f", ContentFile(data if data is not None else png_bytes()), save=True)
    return attachment


def answer(text: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "thought", "signature": "c2ln"},
        {"type": "model_output", "content": [{"type": "text", "text": text}, *extra]},
    ]


def add_turn(conversation: Conversation, parent: Turn | None, text: str, **fields: Any) -> Turn:
    fields.setdefault("steps", answer(f"answer to {text}"))
    fields.setdefault("status", "completed")
    fields.setdefault("user_input", [{"type": "text", "text": text}])
    fields.setdefault("answer_text", plain_text(fields["steps"]))
    return Turn.objects.create(
        conversation=conversation,
        parent=parent,
        model="gemini-3.5-flash",
        user_text=text,
        interaction_id=f"v1_{text.replace(' ', '_')}",
        **fields,
    )


@pytest.fixture
def tree(alice: Any) -> dict[str, Any]:
    return build_tree(alice)


def build_tree(alice: Any) -> dict[str, Any]:
    """A root with two branches: A has a generated image, B an uploaded one."""
    conversation = Conversation.objects.create(
        owner=alice, title="Trip plans", model="gemini-3.5-flash"
    )
    image_a, image_b, unrelated = make_file(alice), make_file(alice), make_file(alice)
    root = add_turn(conversation, None, "first question")
    a = add_turn(
        conversation,
        root,
        "alpha question",
        steps=answer(
            "alpha answer",
            {"type": "image", "mime_type": "image/png", "attachment": str(image_a.uuid)},
        ),
    )
    b = add_turn(
        conversation,
        root,
        "bravo question",
        user_input=[
            {"type": "text", "text": "bravo question"},
            {"type": "image", "mime_type": "image/png", "attachment": str(image_b.uuid)},
        ],
        steps=answer("bravo answer"),
    )
    conversation.current_turn = b
    conversation.save()
    return {
        "conversation": conversation,
        "root": root,
        "a": a,
        "b": b,
        "image_a": image_a,
        "image_b": image_b,
        "unrelated": unrelated,
    }


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def share(client: Client, conversation: Conversation, leaf: Turn | None = None) -> dict[str, Any]:
    data = {"leaf": str(leaf.pk)} if leaf else {}
    response = client.post(f"/c/{conversation.pk}/share", data, HTTP_ACCEPT="application/json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_the_owner_shares_one_branch_and_anyone_can_read_it(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    link = share(alice_client, tree["conversation"], tree["a"])
    assert link["url"].startswith("http://testserver/s/") and link["active"]
    assert len(link["token"]) == 32  # secrets.token_urlsafe(24)

    page = Client().get(path_of(link["url"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Trip plans" in html and "Shared conversation · snapshot of" in html
    assert "first question" in html and "answer to first question" in html
    assert "alpha question" in html and "alpha answer" in html
    assert "bravo" not in html  # the other branch, not shared
    # Read only: no edit, regenerate, retry, copy or branch buttons.
    assert 'data-action="' not in html and "Regenerate" not in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]
    # The thought signature and interaction ids are never part of the page.
    assert "c2ln" not in html and "v1_" not in html


def test_without_a_leaf_the_branch_on_screen_is_shared(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    link = share(alice_client, tree["conversation"])
    html = Client().get(path_of(link["url"])).content.decode()
    assert "bravo answer" in html and "alpha" not in html
    assert ShareLink.objects.get().turn_ids == [tree["root"].pk, tree["b"].pk]


def test_the_snapshot_is_frozen(alice_client: Client, tree: dict[str, Any]) -> None:
    link = share(alice_client, tree["conversation"], tree["a"])
    a = tree["a"]
    a.steps = answer("rewritten later")
    a.user_text = "edited later"
    a.save()
    add_turn(tree["conversation"], a, "a follow-up after sharing")
    add_turn(tree["conversation"], tree["root"], "another version after sharing")
    Conversation.objects.filter(pk=tree["conversation"].pk).update(title="Renamed later")
    html = Client().get(path_of(link["url"])).content.decode()
    assert "alpha answer" in html and "alpha question" in html and "Trip plans" in html
    assert "later" not in html and "after sharing" not in html


def test_only_the_shared_branchs_files_are_served(
    alice_client: Client, tree: dict[str, Any], bob: Any
) -> None:
    # Branch A also mentions a file of Bob's: it is never served through Alice's link.
    bobs = make_file(bob)
    a = tree["a"]
    a.user_input = [
        {"type": "text", "text": "alpha question"},
        {"type": "image", "mime_type": "image/png", "attachment": str(bobs.uuid)},
    ]
    a.save()
    link = share(alice_client, tree["conversation"], a)
    base = path_of(link["url"])
    html = Client().get(base).content.decode()
    assert f'src="{base}/files/{tree["image_a"].uuid}"' in html
    assert f'"/files/{tree["image_a"].uuid}"' not in html  # no owner-only URL on the page

    anonymous = Client()
    response = anonymous.get(f"{base}/files/{tree['image_a'].uuid}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    for other in (tree["image_b"], tree["unrelated"], bobs):
        assert anonymous.get(f"{base}/files/{other.uuid}").status_code == 404
    assert anonymous.get(f"{base}/files/00000000-0000-0000-0000-000000000000").status_code == 404
    # The owner-only URL stays owner-only.
    assert anonymous.get(f"/files/{tree['image_a'].uuid}").status_code == 302


def test_files_that_are_not_raster_images_are_downloads(
    alice_client: Client, alice: Any, tree: dict[str, Any]
) -> None:
    pdf = make_file(alice, "application/pdf", b"%PDF-1.4 not really")
    a = tree["a"]
    a.user_input = [
        {"type": "document", "mime_type": "application/pdf", "attachment": str(pdf.uuid)}
    ]
    a.save()
    base = path_of(share(alice_client, tree["conversation"], a)["url"])
    response = Client().get(f"{base}/files/{pdf.uuid}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")


def test_revoked_and_unknown_links_are_the_same_404(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    link = share(alice_client, tree["conversation"], tree["a"])
    base = path_of(link["url"])
    unknown = Client().get("/s/" + "x" * 32)
    malformed = Client().get("/s/%3Cscript%3E")
    assert unknown.status_code == malformed.status_code == 404

    revoked = alice_client.post(f"{base}/revoke", HTTP_ACCEPT="application/json")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    page = Client().get(base)
    assert page.status_code == 404
    assert page.content == unknown.content
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert Client().get(f"{base}/files/{tree['image_a'].uuid}").status_code == 404
    # Revoking again changes nothing; there is no way back: a new share is a new URL.
    assert alice_client.post(f"{base}/revoke").status_code == 200
    assert Client().get(base).status_code == 404
    again = share(alice_client, tree["conversation"], tree["a"])
    assert again["token"] != link["token"]
    assert Client().get(path_of(again["url"])).status_code == 200


def test_a_deleted_conversation_takes_its_links_with_it(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    base = path_of(share(alice_client, tree["conversation"])["url"])
    stored = ShareLink.objects.get().content
    assert stored.storage.exists(stored.name)
    tree["conversation"].delete()
    assert Client().get(base).status_code == 404
    assert not ShareLink.objects.exists()
    assert not stored.storage.exists(stored.name)  # its stored copy went with it


def test_links_of_a_deactivated_owner_stop_working(
    alice_client: Client, alice: Any, tree: dict[str, Any]
) -> None:
    base = path_of(share(alice_client, tree["conversation"])["url"])
    alice.is_active = False
    alice.save()
    assert Client().get(base).status_code == 404


def test_the_owner_lists_the_links(alice_client: Client, tree: dict[str, Any]) -> None:
    first = share(alice_client, tree["conversation"], tree["a"])
    second = share(alice_client, tree["conversation"], tree["b"])
    alice_client.post(f"/s/{first['token']}/revoke")
    listed = alice_client.get(f"/c/{tree['conversation'].pk}/shares").json()["links"]
    assert [(x["token"], x["active"]) for x in listed] == [
        (second["token"], True),
        (first["token"], False),
    ]
    assert listed[0]["turns"] == 2 and listed[0]["last_message"] == "bravo question"


def test_other_users_cannot_manage_links(
    alice_client: Client, bob_client: Client, tree: dict[str, Any]
) -> None:
    conversation = tree["conversation"]
    link = share(alice_client, conversation, tree["a"])
    assert bob_client.post(f"/c/{conversation.pk}/share", {"leaf": tree["a"].pk}).status_code == 404
    assert bob_client.get(f"/c/{conversation.pk}/shares").status_code == 404
    assert bob_client.post(f"/s/{link['token']}/revoke").status_code == 404
    assert Client().post(f"/s/{link['token']}/revoke").status_code == 404
    anonymous = Client().post(f"/c/{conversation.pk}/share")
    assert anonymous.status_code == 302 and anonymous.url.startswith("/login/")
    assert ShareLink.objects.count() == 1 and ShareLink.objects.get().revoked is None
    # ...but anyone may read it.
    assert bob_client.get(f"/s/{link['token']}").status_code == 200


def test_what_cannot_be_shared(alice_client: Client, alice: Any, tree: dict[str, Any]) -> None:
    conversation = tree["conversation"]
    url = f"/c/{conversation.pk}/share"
    other = Conversation.objects.create(owner=alice, title="Other", model="gemini-3.5-flash")
    elsewhere = add_turn(other, None, "not here")
    for leaf in ("nope", "²", str(elsewhere.pk), "999999", "9" * 40):
        response = alice_client.post(url, {"leaf": leaf})
        assert response.status_code == 400, leaf
        assert "not part of this conversation" in response.json()["error"]
    empty = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    assert alice_client.post(f"/c/{empty.pk}/share").status_code == 400
    running = add_turn(conversation, tree["a"], "still writing", status="in_progress")
    response = alice_client.post(url, {"leaf": running.pk})
    assert response.status_code == 409 and "finished" in response.json()["error"]
    assert alice_client.get(url).status_code == 405
    assert not ShareLink.objects.exists()


def test_the_shared_page_escapes_titles_and_answers(alice_client: Client, alice: Any) -> None:
    conversation = Conversation.objects.create(
        owner=alice, title='<script>alert("title")</script>', model="gemini-3.5-flash"
    )
    add_turn(
        conversation,
        None,
        "<img src=x onerror=alert('q')>",
        steps=answer("Hi <script>alert('a')</script> <img src=x onerror=alert(1)> **bold**"),
    )
    link = share(alice_client, conversation)
    html = Client().get(path_of(link["url"])).content.decode()
    assert "<script>alert" not in html and "onerror" not in html.replace(
        "&lt;img src=x onerror", ""
    )
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(&#x27;q&#x27;)&gt;" in html
    assert "<strong>bold</strong>" in html


def test_the_simulator_badge_follows_the_snapshot(
    alice_client: Client, tree: dict[str, Any], settings: Any
) -> None:
    settings.USE_SIMULATOR = True
    simulated = path_of(share(alice_client, tree["conversation"], tree["a"])["url"])
    settings.USE_SIMULATOR = False
    real = path_of(share(alice_client, tree["conversation"], tree["a"])["url"])
    assert "Offline simulator" in Client().get(simulated).content.decode()
    settings.USE_SIMULATOR = True  # this server now, not the snapshot, is simulated
    html = Client().get(real).content.decode()
    assert "Offline simulator" not in html and "simulated" not in html


def test_share_events_reach_the_audit_log(
    alice_client: Client, tree: dict[str, Any], caplog: Any
) -> None:
    with caplog.at_level(logging.INFO, logger="chatapp.audit"):
        link = share(alice_client, tree["conversation"], tree["a"])
        alice_client.post(f"/s/{link['token']}/revoke")
    actions = [r.action for r in caplog.records if r.name == "chatapp.audit"]
    assert actions == ["share.create", "share.revoke"]


def test_posts_need_the_csrf_token(alice: Any, tree: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/c/{tree['conversation'].pk}/share"
    assert client.post(url, {"leaf": tree["a"].pk}).status_code == 403
    assert not ShareLink.objects.exists()
    client.get(tree["conversation"].get_absolute_url())  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"leaf": tree["a"].pk, "csrfmiddlewaretoken": token})
    assert response.status_code == 201
    revoke = f"/s/{response.json()['token']}/revoke"
    assert client.post(revoke).status_code == 403
    assert ShareLink.objects.get().revoked is None
    assert client.post(revoke, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_the_chat_page_offers_share_export_and_import(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    conversation = tree["conversation"]
    html = alice_client.get(conversation.get_absolute_url()).content.decode()
    assert 'id="share-btn"' in html and "js/share.js" in html and "css/share.css" in html
    assert f'data-share-conversation="{conversation.pk}"' in html
    assert f'href="/c/{conversation.pk}/export.md"' in html
    assert f'href="/c/{conversation.pk}/export.json"' in html
    assert 'action="/import"' in html and 'enctype="multipart/form-data"' in html
    # The chat page itself keeps its controls.
    assert 'data-action="regenerate"' in html and 'data-action="edit"' in html


# --- stored pages, the size cap and the throttle ---


@pytest.fixture
def renderers() -> Iterator[dict[str, mock.MagicMock]]:
    """Counting wrappers around every way a turn gets rendered."""
    with (
        mock.patch.object(_markdown._md, "render", wraps=_markdown._md.render) as markdown,
        mock.patch.object(payloads, "render_steps", wraps=payloads.render_steps) as steps,
        mock.patch.object(share_links, "turn_payload", wraps=share_links.turn_payload) as turn,
    ):
        yield {"markdown": markdown, "steps": steps, "turn_payload": turn}


def test_a_share_is_rendered_once_and_served_as_stored(
    alice_client: Client,
    alice: Any,
    renderers: dict[str, mock.MagicMock],
    django_assert_num_queries: Any,
) -> None:
    conversation = Conversation.objects.create(owner=alice, title="Once", model="m")
    unique = uuid.uuid4().hex  # never in the step cache of payloads.py
    add_turn(conversation, None, "q", steps=answer(f"**{unique}** and `code`"))
    link = share(alice_client, conversation)
    assert renderers["markdown"].call_count >= 1 and renderers["turn_payload"].call_count == 1
    stored = ShareLink.objects.get()
    page_html = share_links.stored_page(stored)
    assert stored.rendered is not None and f"<strong>{unique}</strong>" in page_html
    # Kept in the media storage (the object store when configured), not in the database.
    assert stored.content.name.startswith("shares/") and not stored.html and not stored.snapshot

    for mocked in renderers.values():
        mocked.reset_mock()
    anonymous = Client()
    with django_assert_num_queries(1):  # the link, its conversation and owner: one join
        page = anonymous.get(path_of(link["url"]))
    assert page.status_code == 200 and page_html in page.content.decode()
    assert all(m.call_count == 0 for m in renderers.values())

    # What is served is what was stored.
    with stored.content.open("rb") as file:
        content = json.loads(file.read())
    content["html"] = "<p>stored, not rendered</p>"
    with stored.content.storage.open(stored.content.name, "wb") as file:
        file.write(json.dumps(content).encode())
    assert "<p>stored, not rendered</p>" in anonymous.get(path_of(link["url"])).content.decode()
    assert all(m.call_count == 0 for m in renderers.values())


def test_a_link_made_before_pages_were_stored_renders_on_its_first_view_only(
    alice_client: Client, tree: dict[str, Any], renderers: dict[str, mock.MagicMock]
) -> None:
    link = share(alice_client, tree["conversation"], tree["a"])
    made = ShareLink.objects.get()
    snapshot = share_links.frozen_turns(made)
    # A link as migration 0007 left them: its snapshot in the database, no page, no file.
    made.content.delete(save=False)
    ShareLink.objects.update(html="", files=[], rendered=None, content="", snapshot=snapshot)
    renderers["turn_payload"].reset_mock()
    base = path_of(link["url"])
    image = f"{base}/files/{tree['image_a'].uuid}"
    assert Client().get(image).status_code == 200  # a file request renders it too
    first = Client().get(base).content.decode()
    assert "alpha answer" in first and f'src="{image}"' in first
    assert renderers["turn_payload"].call_count == 2  # the root and A, once
    assert Client().get(base).content.decode() == first
    assert renderers["turn_payload"].call_count == 2
    assert ShareLink.objects.get().files == [str(tree["image_a"].uuid)]


def test_an_oversized_share_is_refused(
    alice_client: Client, alice: Any, settings: Any, renderers: dict[str, mock.MagicMock]
) -> None:
    settings.SHARE_MAX_BYTES = 20_000
    conversation = Conversation.objects.create(owner=alice, title="Long", model="m")
    root = add_turn(conversation, None, "short", steps=answer("fits"))
    # Text alone over the cap: refused before anything is rendered.
    huge = add_turn(conversation, root, "long", steps=answer("x" * 30_000))
    response = alice_client.post(f"/c/{conversation.pk}/share", {"leaf": huge.pk})
    assert response.status_code == 413
    assert "too large to share" in response.json()["error"]
    assert "at most 19.5 KB" in response.json()["error"]
    assert renderers["turn_payload"].call_count == 0
    # Small text whose page grows over the cap: the rendering stops at the cap.
    table = "|a|b|\n|-|-|\n" + "|1|2|\n" * 1000  # 6 characters a row, about 36 of HTML
    rich = [add_turn(conversation, root, "table", steps=answer(table))]
    for i in range(3):
        rich.append(add_turn(conversation, rich[-1], f"more {i}", steps=answer("ok")))
    assert sum(len(t.answer_text) for t in rich) < 20_000
    response = alice_client.post(f"/c/{conversation.pk}/share", {"leaf": rich[-1].pk})
    assert response.status_code == 413 and "too large" in response.json()["error"]
    assert 0 < renderers["turn_payload"].call_count < 5  # rendered, stopped at the cap
    assert not ShareLink.objects.exists()
    # A branch under the cap is shared as usual.
    assert alice_client.post(f"/c/{conversation.pk}/share", {"leaf": root.pk}).status_code == 201


@pytest.fixture
def clock(monkeypatch: Any) -> types.SimpleNamespace:
    """The throttle's clock, fixed at the start of a minute and moved by hand."""
    now = types.SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: now.value))
    return now


def test_anonymous_views_are_throttled_per_address(
    alice_client: Client, tree: dict[str, Any], settings: Any, clock: types.SimpleNamespace
) -> None:
    settings.SHARE_VIEWS_PER_MINUTE = 3
    base = path_of(share(alice_client, tree["conversation"], tree["a"])["url"])
    visitor = Client(REMOTE_ADDR="203.0.113.7")
    assert [visitor.get(base).status_code for _ in range(3)] == [200, 200, 200]
    clock.value += 15
    refused = visitor.get(base)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert "Too many requests" in refused.content.decode()
    assert "alpha" not in refused.content.decode()
    assert refused["X-Robots-Tag"] == "noindex, nofollow" and "no-store" in refused["Cache-Control"]
    # Unknown tokens count too: guessing links costs as much as reading them.
    assert visitor.get("/s/" + "x" * 32).status_code == 429
    # Another address, and signed-in people, are not held back.
    assert Client(REMOTE_ADDR="203.0.113.8").get(base).status_code == 200
    assert alice_client.get(base).status_code == 200
    # The next minute starts a new count.
    clock.value += 45
    assert visitor.get(base).status_code == 200


def test_ipv6_visitors_are_counted_per_64(
    alice_client: Client, tree: dict[str, Any], settings: Any, clock: types.SimpleNamespace
) -> None:
    settings.SHARE_VIEWS_PER_MINUTE = 2
    base = path_of(share(alice_client, tree["conversation"], tree["a"])["url"])
    assert Client(REMOTE_ADDR="2001:db8:1:2::1").get(base).status_code == 200
    assert Client(REMOTE_ADDR="2001:db8:1:2::ffff").get(base).status_code == 200
    assert Client(REMOTE_ADDR="2001:db8:1:2:aaaa::9").get(base).status_code == 429
    assert Client(REMOTE_ADDR="2001:db8:1:3::1").get(base).status_code == 200


def test_the_throttle_can_be_turned_off(
    alice_client: Client, tree: dict[str, Any], settings: Any
) -> None:
    settings.SHARE_VIEWS_PER_MINUTE = 0
    base = path_of(share(alice_client, tree["conversation"], tree["a"])["url"])
    assert {Client().get(base).status_code for _ in range(5)} == {200}


def test_anonymous_downloads_of_shared_files_are_throttled_by_bytes(
    alice_client: Client, tree: dict[str, Any], settings: Any, monkeypatch: Any
) -> None:
    now = types.SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: now.value))
    settings.SHARE_DOWNLOAD_MB_PER_MINUTE = 200
    image = tree["image_a"]
    image.size = 150 * 2**20  # counted by its recorded size, as a real 150 MB video would be
    image.save(update_fields=["size"])
    base = path_of(share(alice_client, tree["conversation"], tree["a"])["url"])
    url = f"{base}/files/{image.uuid}"
    visitor = Client(REMOTE_ADDR="203.0.113.7")
    assert visitor.get(url).status_code == 200
    refused = visitor.get(url)
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert Client(REMOTE_ADDR="203.0.113.8").get(url).status_code == 200
    assert alice_client.get(url).status_code == 200  # signed-in people are not counted
    now.value += 60
    assert visitor.get(url).status_code == 200
    # A file bigger than the whole budget still gets through, once a minute.
    image.size = 500 * 2**20
    image.save(update_fields=["size"])
    now.value += 60
    assert visitor.get(url).status_code == 200
    assert visitor.get(url).status_code == 429
