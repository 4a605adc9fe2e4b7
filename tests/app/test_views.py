"""Pages: first run, sign-in, the chat page, the sidebar and conversation actions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatapp.models import Conversation, Turn

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_a_fresh_install_asks_for_the_admin_account(client: Client) -> None:
    assert client.get("/").url == "/setup/"
    page = client.get("/setup/")
    assert b"Create the admin account" in page.content
    response = client.post(
        "/setup/",
        {"username": "root", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 302
    admin = get_user_model().objects.get(username="root")
    assert admin.is_superuser and admin.is_staff
    assert client.get("/").status_code == 200
    # Once there is a user, setup is gone.
    assert client.get("/setup/").url == "/"


def test_pages_need_a_signed_in_user(client: Client, alice: Any) -> None:
    for url in ("/", "/sidebar/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")
    assert (
        client.post("/login/", {"username": "alice", "password": "pw-alice-123"}).status_code == 302
    )
    assert client.get("/").status_code == 200


def test_open_signup_is_off_by_default(client: Client, alice: Any, settings: Any) -> None:
    assert client.get("/signup/").status_code == 404
    settings.OPEN_SIGNUP = True
    response = client.post(
        "/signup/",
        {"username": "carol", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert (
        response.status_code == 302 and get_user_model().objects.filter(username="carol").exists()
    )


def test_password_change(alice_client: Client) -> None:
    response = alice_client.post(
        "/password/",
        {
            "old_password": "pw-alice-123",
            "new_password1": "another-long-pass",
            "new_password2": "another-long-pass",
        },
    )
    assert response.status_code == 302
    assert Client().login(username="alice", password="another-long-pass")


def make_chain(owner: Any, turns: int, title: str = "Long chat") -> Conversation:
    conversation = Conversation.objects.create(owner=owner, title=title, model="gemini-3.5-flash")
    parent = None
    step = {
        "type": "model_output",
        "content": [{"type": "text", "text": "An **answer** with `code`."}],
    }
    for i in range(turns):
        parent = Turn.objects.create(
            conversation=conversation,
            parent=parent,
            model="gemini-3.5-flash",
            status="completed",
            user_input=[{"type": "text", "text": f"question {i}"}],
            user_text=f"question {i}",
            steps=[{"type": "thought", "signature": "c2ln"}, step],
            usage={"total_tokens": 10},
        )
    return conversation


def test_the_conversation_page_renders_500_turns_in_constant_queries(
    alice_client: Client, alice: Any
) -> None:
    small = make_chain(alice, 5)
    large = make_chain(alice, 500)
    alice_client.get(small.get_absolute_url())  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(small.get_absolute_url())
    with CaptureQueriesContext(connection) as many:
        response = alice_client.get(large.get_absolute_url())
    assert response.status_code == 200
    assert response.content.count(b'class="turn ') == 500
    assert b"question 499" in response.content and b"<strong>answer</strong>" in response.content
    assert len(many) == len(few)


def test_the_page_shows_the_remembered_branch(alice_client: Client, alice: Any) -> None:
    conversation = make_chain(alice, 2)
    first, second = Turn.objects.filter(conversation=conversation).order_by("pk")
    other = Turn.objects.create(
        conversation=conversation,
        parent=first,
        model="m",
        user_text="other branch",
        status="completed",
    )
    page = alice_client.get(conversation.get_absolute_url()).content.decode()
    assert "other branch" in page and "question 1" not in page and "2/2" in page
    page = alice_client.get(f"{conversation.get_absolute_url()}?turn={second.pk}").content.decode()
    assert "question 1" in page and "other branch" not in page and "1/2" in page
    conversation.refresh_from_db()
    assert conversation.current_turn_id == second.pk
    assert other.pk


def test_another_users_conversation_is_a_404(alice_client: Client, bob: Any) -> None:
    theirs = make_chain(bob, 1, title="Bob's secret")
    assert alice_client.get(theirs.get_absolute_url()).status_code == 404
    for action in ("rename", "pin", "archive", "delete", "settings"):
        assert alice_client.post(f"/c/{theirs.pk}/{action}", {"title": "x"}).status_code == 404
    assert Conversation.objects.filter(pk=theirs.pk, title="Bob's secret").exists()
    assert b"Bob&#x27;s secret" not in alice_client.get("/sidebar/").content


def test_the_sidebar_pages_searches_and_puts_pinned_first(alice_client: Client, alice: Any) -> None:
    now = timezone.now()
    for i in range(120):
        Conversation.objects.create(
            owner=alice,
            title=f"chat {i:03}",
            model="m",
            updated=now - timezone.timedelta(minutes=i),
        )
    pinned = Conversation.objects.create(
        owner=alice,
        title="pinned old one",
        model="m",
        pinned=True,
        updated=now - timezone.timedelta(days=9),
    )
    first = alice_client.get("/sidebar/").content.decode()
    assert first.count('class="conv-item') == 50
    assert first.index("pinned old one") < first.index("chat 000") < first.index("chat 001")
    assert 'data-more="2"' in first
    third = alice_client.get("/sidebar/?page=3").content.decode()
    assert third.count('class="conv-item') == 21 and "data-more" not in third
    chat = make_chain(alice, 1, title="Untitled")
    Turn.objects.filter(conversation=chat).update(answer_text="the avocado answer")
    found = alice_client.get("/sidebar/?q=avocado").content.decode()
    assert found.count('class="conv-item') == 1 and "Untitled" in found
    assert (
        "No conversation matches"
        in alice_client.get("/sidebar/?q=nothing-like-this").content.decode()
    )
    assert pinned.pinned


def test_rename_pin_archive_and_delete(alice_client: Client, alice: Any) -> None:
    conversation = make_chain(alice, 1)
    url = f"/c/{conversation.pk}"
    assert (
        alice_client.post(
            f"{url}/rename", {"title": "  Renamed  "}, HTTP_ACCEPT="application/json"
        ).json()["title"]
        == "Renamed"
    )
    assert alice_client.post(f"{url}/rename", {"title": " "}).status_code == 400
    alice_client.post(f"{url}/pin")
    conversation.refresh_from_db()
    assert conversation.pinned and conversation.title == "Renamed"
    alice_client.post(f"{url}/archive")
    assert b"Renamed" not in alice_client.get("/sidebar/").content
    assert b"Renamed" in alice_client.get("/sidebar/?archived=1").content
    assert alice_client.post(f"{url}/delete").status_code == 302
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Turn.objects.filter(conversation_id=conversation.pk).exists()


def test_actions_need_post_and_csrf(alice: Any) -> None:
    conversation = make_chain(alice, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(f"/c/{conversation.pk}/delete").status_code == 405
    assert client.post(f"/c/{conversation.pk}/delete").status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_settings_are_validated(alice_client: Client, alice: Any) -> None:
    conversation = make_chain(alice, 1)
    url = f"/c/{conversation.pk}/settings"
    good = {
        "model": "gemini-3.1-flash-image",
        "system_instruction": "Be brief.",
        "temperature": "0.4",
        "thinking_level": "low",
        "stateless": "on",
    }
    assert alice_client.post(url, good).json() == {"ok": True}
    conversation.refresh_from_db()
    assert (conversation.model, conversation.temperature, conversation.stateless) == (
        "gemini-3.1-flash-image",
        0.4,
        True,
    )
    for bad in ({"model": "gpt-9"}, {"temperature": "7"}, {"thinking_level": "extreme"}):
        response = alice_client.post(url, {**good, **bad})
        assert response.status_code == 400, bad
    created = alice_client.post("/c/new", {**good, "model": "gemini-3.5-flash"}).json()
    assert Conversation.objects.get(pk=created["id"], owner=alice).system_instruction == "Be brief."


def test_the_settings_panel_shows_each_setting_as_it_is(alice_client: Client, alice: Any) -> None:
    conversation = Conversation.objects.create(
        owner=alice,
        title="Configured",
        model="gemini-3.1-pro-preview",
        system_instruction="Be <b>brief</b>.",
        temperature=0.4,
        thinking_level="low",
        stateless=True,
        url_context=True,
        tools=["calculator"],
        response_schema={"type": "object"},
    )
    html = alice_client.get(f"/c/{conversation.pk}/").content.decode()

    def tag(pattern: str) -> str:
        found = re.search(pattern, html)
        assert found, pattern
        return found.group(0)

    assert "selected" in tag(r'<option value="gemini-3.1-pro-preview"[^>]*>')
    assert "selected" not in tag(r'<option value="gemini-3.5-flash"[^>]*>')
    assert "selected" in tag(r'<option value="low"[^>]*>')
    assert 'value="0.4"' in tag(r'<input[^>]*name="temperature"[^>]*>')
    assert "Be &lt;b&gt;brief&lt;/b&gt;." in html
    for name, on in (("stateless", True), ("url_context", True), ("google_search", False)):
        assert ("checked" in tag(rf'<input[^>]*name="{name}"[^>]*>')) is on, name
    assert "checked" in tag(r'<input[^>]*name="tools" value="calculator"[^>]*>')
    assert "checked" not in tag(r'<input[^>]*name="tools" value="current_datetime"[^>]*>')
    assert "{\n  &quot;type&quot;: &quot;object&quot;\n}" in html
    # A new chat starts from the server's default model.
    new = alice_client.get("/").content.decode()
    assert re.search(r'<option value="gemini-3.5-flash" selected>', new)


def test_nul_characters_in_titles_and_settings_are_refused(
    alice_client: Client, alice: Any
) -> None:
    """PostgreSQL refuses NUL in text: each form answers 400 before the database sees one
    (tests/security/test_postgres_nul.py runs the same requests on PostgreSQL)."""
    conversation = make_chain(alice, 1, title="Kept")
    url = f"/c/{conversation.pk}"
    renamed = alice_client.post(
        f"{url}/rename", {"title": "a\x00b"}, HTTP_ACCEPT="application/json"
    )
    assert renamed.status_code == 400
    message = "A title cannot contain NUL characters."
    assert renamed.json() == {"error": message, "errors": {"title": [message]}}
    good = {"model": "gemini-3.5-flash", "system_instruction": "Be brief."}
    for field, value in (
        ("system_instruction", "Be\x00 brief."),
        ("model", "gemini-3.5-flash\x00"),
        ("response_schema", '{"type": "object\x00"}'),
        ("thinking_level", "low\x00"),
    ):
        for target in (f"{url}/settings", "/c/new"):
            response = alice_client.post(target, {**good, field: value})
            assert response.status_code == 400, (target, field)
            assert field in response.json()["errors"]
    conversation.refresh_from_db()
    assert (conversation.title, conversation.system_instruction) == ("Kept", "")
    assert Conversation.objects.count() == 1
    # A search for a NUL is a search for nothing else.
    assert alice_client.get("/sidebar/?q=Ke%00pt").status_code == 200


def test_model_output_is_rendered_safely_on_the_page(alice_client: Client, alice: Any) -> None:
    conversation = Conversation.objects.create(
        owner=alice, title="<img src=x onerror=alert(1)>", model="m"
    )
    Turn.objects.create(
        conversation=conversation,
        model="m",
        status="completed",
        user_text="<script>alert(1)</script>",
        steps=[
            {
                "type": "model_output",
                "content": [
                    {"type": "text", "text": "<script>alert(2)</script> [x](javascript:alert(3))"}
                ],
            }
        ],
    )
    page = alice_client.get(conversation.get_absolute_url()).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert 'href="javascript:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_healthz_and_readyz(client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": True, "channel_layer": True, "upstream": True, "accepting": True},
    }
    monkeypatch.setattr("chatapp.views.get_channel_layer", lambda: None)
    broken = client.get("/readyz")
    assert broken.status_code == 503 and broken.json()["checks"]["channel_layer"] is False
    monkeypatch.undo()
    # A worker that is stopping (SIGTERM) sends the proxy elsewhere.
    monkeypatch.setattr("chatapp.shutdown._draining", True)
    stopping = client.get("/readyz")
    assert stopping.status_code == 503 and stopping.json()["checks"]["accepting"] is False


def test_metrics_need_the_token(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = "scrape-me"
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    for name in (
        "chat_open_sockets",
        "chat_active_generations",
        "chat_time_to_first_delta_seconds",
        "chat_deltas_total",
        "chat_upstream_errors_total",
    ):
        assert name in body
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "scrape-me"}):
        assert client.get("/metrics", **header).status_code == 404


def test_metrics_are_closed_without_a_token_unless_debugging(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    response = client.get("/metrics")
    assert response.status_code == 404 and b"chat_" not in response.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.DEBUG = True  # `make run`: open, for development
    assert b"chat_deltas_total" in client.get("/metrics").content


def test_an_odd_turn_parameter_is_ignored(alice_client: Client, alice: Any) -> None:
    conversation = make_chain(alice, 2)
    for value in ("²", "-1", "abc", "99999999"):
        response = alice_client.get(f"{conversation.get_absolute_url()}?turn={value}")
        assert response.status_code == 200 and b"question 1" in response.content
