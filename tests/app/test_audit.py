"""The audit log: sign-ins, admin changes and share links, read-only in the admin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from chatapp import audit
from chatapp.models import AuditEvent, Conversation, Turn

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def root(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", password="pw-root-123")


@pytest.fixture
def staff(root: Any) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(root)
    AuditEvent.objects.all().delete()  # force_login signs in too
    return client


def events() -> list[tuple[str, str, str, str | None]]:
    return [
        (e.action, e.actor_name, e.target, e.ip)
        for e in AuditEvent.objects.order_by("created", "pk")
    ]


def test_sign_in_failure_and_sign_out_are_recorded(alice: Any) -> None:
    client = Client(REMOTE_ADDR="203.0.113.5")
    client.post("/login/", {"username": "alice", "password": "not-her-password"})
    client.post("/login/", {"username": "alice", "password": "pw-alice-123"})
    client.post("/logout/")
    assert events() == [
        ("login.failed", "", "alice", "203.0.113.5"),
        ("login", "alice", "alice", "203.0.113.5"),
        ("logout", "alice", "alice", "203.0.113.5"),
    ]
    failed, signed_in = AuditEvent.objects.order_by("pk")[:2]
    assert failed.actor is None and signed_in.actor == alice
    # The password is never stored, not even masked.
    stored = json.dumps([[e.target, e.details] for e in AuditEvent.objects.all()])
    assert "not-her-password" not in stored and "****" not in stored


def test_admin_changes_are_recorded_with_the_admins_address(
    staff: Client, alice: Any, bob: Any
) -> None:
    conversation = Conversation.objects.create(
        owner=alice, title="Alice's private plans", model="gemini-3.5-flash"
    )
    response = staff.post(
        f"/admin/chatapp/conversation/{conversation.pk}/change/",
        {"title": "renamed", "model": "gemini-3.5-flash", "archived": "on"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.change")
    assert (event.actor_name, event.ip) == ("root", "192.0.2.10")
    # The conversation's title is what someone wrote: only the id is kept.
    assert event.target == f"chatapp.conversation {conversation.pk}"
    assert "private plans" not in json.dumps(event.details) and "renamed" not in event.target
    assert event.details["changes"] == [{"changed": {"fields": ["Title", "Archived"]}}]

    # A bulk delete writes one event per object (Django writes its LogEntries in bulk).
    response = staff.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [alice.pk, bob.pk], "post": "yes"},
    )
    assert response.status_code == 302 and not get_user_model().objects.filter(
        username__in=["alice", "bob"]
    )
    deleted = AuditEvent.objects.filter(action="admin.delete").order_by("target")
    assert [e.target for e in deleted] == [
        f"auth.user {alice.pk}: alice",
        f"auth.user {bob.pk}: bob",
    ]

    staff.post("/admin/auth/group/add/", {"name": "reviewers"})
    assert AuditEvent.objects.filter(action="admin.add", target__endswith=": reviewers").exists()


def test_share_links_are_recorded(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    conversation = Conversation.objects.create(owner=alice, title="t", model="gemini-3.5-flash")
    Turn.objects.create(
        conversation=conversation, model="gemini-3.5-flash", user_text="hi", status="completed"
    )
    link = client.post(f"/c/{conversation.pk}/share", HTTP_ACCEPT="application/json").json()
    client.post(f"/s/{link['token']}/revoke")
    shares = AuditEvent.objects.filter(action__startswith="share.").order_by("pk")
    assert [(e.action, e.actor, e.details) for e in shares] == [
        ("share.create", alice, {"conversation": conversation.pk}),
        ("share.revoke", alice, {"conversation": conversation.pk}),
    ]
    assert all(link["token"] not in e.target for e in shares)  # the secret stays out of the log


def test_record_takes_anyone(alice: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    event = audit.record(AnonymousUser(), "export", "conversation 3", fmt="json")
    assert (event.actor, event.actor_name, event.ip, event.details) == (
        None,
        "",
        None,
        {"fmt": "json"},
    )
    event = audit.record(alice, "x" * 100, "y" * 500)
    assert len(event.action) == 40 and len(event.target) == 255 and event.actor == alice


def test_a_deleted_actor_keeps_their_name(alice: Any) -> None:
    audit.record(alice, "login", "alice")
    alice.delete()
    event = AuditEvent.objects.get()
    assert event.actor is None and event.actor_name == "alice"


def test_the_audit_log_is_read_only_in_the_admin(staff: Client, alice: Any) -> None:
    event = audit.record(alice, "login", "alice")
    listing = staff.get("/admin/chatapp/auditevent/")
    assert listing.status_code == 200 and b"alice" in listing.content
    assert b'name="_selected_action"' not in listing.content  # no bulk actions
    assert staff.get("/admin/chatapp/auditevent/add/").status_code == 403
    page = staff.get(f"/admin/chatapp/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert (
        staff.post(
            f"/admin/chatapp/auditevent/{event.pk}/change/", {"action": "forged"}
        ).status_code
        == 403
    )
    assert (
        staff.post(f"/admin/chatapp/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "login"
