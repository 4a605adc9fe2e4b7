"""Administration: per-user limits, the usage page, sign-in throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from chatapp import limits, usage
from chatapp.models import ArchivedUsage, AuditEvent, Conversation, Turn, UserLimits

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clean_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def posts(upstream: Any) -> int:
    return sum(1 for r in upstream.app.requests if r["method"] == "POST")


async def send(sock: Any, text: str, conversation: int | None = None) -> dict[str, Any]:
    """Send a message; the answer's final frame, or the error frame."""
    await sock.send({"type": "send", "conversation": conversation, "parent": None, "text": text})
    return await sock.until(
        lambda f: f["type"] == "error" or (f["type"] == "turn" and f.get("final"))
    )


def turn_with(owner: Any, *, tokens: int = 0, when: datetime | None = None, **fields: Any) -> Turn:
    """A turn this server ran (it has a worker), with the usage the relay would write."""
    conversation = fields.pop("conversation", None) or Conversation.objects.create(
        owner=owner, model="gemini-3.5-flash"
    )
    when = when or timezone.now()
    fields.setdefault("worker", "test-worker")
    return Turn.objects.create(
        conversation=conversation,
        model="gemini-3.5-flash",
        user_text="a secret question",
        answer_text="a secret answer",
        status="completed",
        created=when,
        finished=when + timedelta(seconds=5),
        usage={
            "total_input_tokens": tokens // 4,
            "total_output_tokens": tokens - tokens // 4,
            "total_tokens": tokens,
        }
        if tokens
        else None,
        **fields,
    )


# --- messages per minute and tokens per day, through the websocket ---


async def test_over_the_message_limit_nothing_is_created_or_sent(
    connect: Any, alice: Any, upstream: Any
) -> None:
    await UserLimits.objects.acreate(user=alice, messages_per_minute=2, tokens_per_day=None)
    sock = await connect(alice)
    for n in range(2):
        assert (await send(sock, f"message {n}"))["turn"]["status"] == "completed"
    requests, turns = posts(upstream), await Turn.objects.acount()
    error = await send(sock, "one too many")
    assert error["type"] == "error" and error["code"] == "limit"
    assert error["message"].startswith("You can send 2 messages per minute; try again in ")
    wait = int(error["message"].rsplit(" ", 2)[-2])
    assert 1 <= wait <= 60 and error["message"].endswith(" s.")
    assert await Turn.objects.acount() == turns and posts(upstream) == requests


async def test_over_the_token_limit_send_edit_regenerate_and_retry_are_refused(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    final = await send(sock, "Explain how AI works")
    spent = final["turn"]["usage"]["total_tokens"]
    assert spent > 0 and await sync_to_async(usage.tokens_today)(alice.pk) == spent
    await UserLimits.objects.acreate(user=alice, tokens_per_day=spent)
    turn = await Turn.objects.aget()
    requests = posts(upstream)
    frames = [
        {"type": "send", "conversation": turn.conversation_id, "parent": turn.pk, "text": "more"},
        {"type": "edit", "turn": turn.pk, "text": "edited"},
        {"type": "regenerate", "turn": turn.pk},
        {"type": "retry", "turn": turn.pk},
    ]
    for frame in frames:
        await sock.send(frame)
        error = await sock.until(lambda f: f["type"] == "error")
        assert error["code"] == "limit", frame
        assert error["message"] == (
            f"You have used your {spent:,} tokens for today; the limit resets at midnight UTC."
        )
    assert posts(upstream) == requests and await Turn.objects.acount() == 1
    turn_now = await Turn.objects.aget()
    assert turn_now.usage == turn.usage and turn_now.status == "completed"  # retry did nothing


async def test_users_without_limits_get_the_server_defaults(
    connect: Any, alice: Any, bob: Any, upstream: Any, settings: Any
) -> None:
    settings.DEFAULT_MESSAGES_PER_MINUTE = 1
    # bob's row says "no limit": an explicit empty value is not the default.
    await UserLimits.objects.acreate(user=bob, messages_per_minute=None, tokens_per_day=None)
    alice_sock, bob_sock = await connect(alice), await connect(bob)
    assert (await send(alice_sock, "first"))["type"] == "turn"
    error = await send(alice_sock, "second")
    assert error["code"] == "limit" and "1 message per minute" in error["message"]
    for n in range(3):
        assert (await send(bob_sock, f"bob {n}"))["type"] == "turn"


def test_a_new_limits_row_starts_from_the_defaults(alice: Any, settings: Any) -> None:
    settings.DEFAULT_MESSAGES_PER_MINUTE = 7
    settings.DEFAULT_TOKENS_PER_DAY = None
    row = UserLimits.objects.create(user=alice)
    assert (row.messages_per_minute, row.tokens_per_day) == (7, None)


async def test_the_wait_is_until_the_oldest_counted_message_is_a_minute_old(alice: Any) -> None:
    await UserLimits.objects.acreate(user=alice, messages_per_minute=2)
    now = timezone.now()
    await sync_to_async(turn_with)(alice, when=now - timedelta(seconds=50))
    await sync_to_async(turn_with)(alice, when=now - timedelta(seconds=70))  # too old to count
    await sync_to_async(limits.check)(alice)
    await sync_to_async(turn_with)(alice, when=now - timedelta(seconds=5))
    with pytest.raises(limits.LimitExceeded) as refused:
        await sync_to_async(limits.check)(alice)
    # The turn of 50 s ago leaves the window in 10 s.
    message = refused.value.message
    assert message.startswith("You can send 2 messages per minute; try again in ")
    assert 8 <= int(message.rsplit(" ", 2)[-2]) <= 10


# --- what counts toward the daily tokens ---


async def test_a_retry_or_a_deleted_conversation_does_not_give_tokens_back(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    first = await send(sock, "Explain how AI works")
    spent = first["turn"]["usage"]["total_tokens"]
    await sock.send({"type": "retry", "turn": first["turn"]["id"]})
    again = await sock.until(
        lambda f: f["type"] == "turn" and f.get("final") and f["turn"]["status"] == "completed"
    )
    both = spent + again["turn"]["usage"]["total_tokens"]
    assert await sync_to_async(usage.tokens_today)(alice.pk) == both
    conversation = await Conversation.objects.aget(pk=first["turn"]["conversation"])
    await sync_to_async(conversation.delete)()  # as the sidebar's Delete does
    assert await Turn.objects.acount() == 0
    assert await sync_to_async(usage.tokens_today)(alice.pk) == both


def test_imported_turns_count_for_nothing(alice: Any) -> None:
    # An imported turn has no worker; its usage is only what the import file said.
    turn_with(alice, tokens=-(10**9), worker="")
    turn_with(alice, tokens=10**9, worker="")
    turn_with(alice, tokens=100)
    assert usage.report().rows[0].total_tokens == 100
    assert usage.report().rows[0].messages == 1


def test_deleting_a_user_takes_their_usage_along(alice: Any) -> None:
    turn_with(alice, tokens=100)
    alice.delete()
    assert not ArchivedUsage.objects.exists() and not Turn.objects.exists()


# --- the usage page ---


@pytest.fixture
def staff(db: Any) -> Client:
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client = Client()
    client.force_login(admin)
    return client


def test_the_usage_page_sums_per_user_per_day(staff: Client, alice: Any, bob: Any) -> None:
    today = timezone.now().astimezone(UTC).replace(hour=12, minute=0)
    yesterday = today - timedelta(days=1)
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    turn_with(alice, tokens=1000, when=today, conversation=conversation)
    turn_with(alice, tokens=400, when=today, conversation=conversation)
    turn_with(alice, tokens=200, when=yesterday)
    turn_with(bob, tokens=80, when=yesterday)
    turn_with(bob, when=today - timedelta(days=40))  # outside the 30 days
    # A message yesterday whose answer finished today: message yesterday, tokens today.
    late = turn_with(bob, tokens=8, when=yesterday)
    Turn.objects.filter(pk=late.pk).update(finished=today)
    ArchivedUsage.objects.create(
        user=bob, day=today.date(), messages=2, input_tokens=5, output_tokens=7, total_tokens=12
    )

    response = staff.get("/admin/usage/")
    assert response.status_code == 200
    rows = {
        (r.day, r.username): (r.messages, r.input_tokens, r.output_tokens, r.total_tokens)
        for r in response.context["report"].rows
    }
    assert rows == {
        (today.date(), "alice"): (2, 250 + 100, 750 + 300, 1400),
        (today.date(), "bob"): (2, 5 + 2, 7 + 6, 12 + 8),
        (yesterday.date(), "alice"): (1, 50, 150, 200),
        (yesterday.date(), "bob"): (2, 20, 60, 80),
    }
    totals = response.context["report"].totals
    assert len(totals) == 30 and totals[today.date()] == 1420 and totals[yesterday.date()] == 280
    html = response.content.decode()
    assert "<svg" in html and html.count("<rect") == 30 and "1,420 tokens" in html
    assert "1,400" in html and "secret" not in html
    # Linked from the admin index.
    assert b'href="/admin/usage/"' in staff.get("/admin/").content


def test_the_usage_page_is_for_staff_only(alice: Any) -> None:
    anonymous = Client().get("/admin/usage/")
    assert anonymous.status_code == 302 and anonymous.url.startswith("/admin/login/")
    client = Client()
    client.force_login(alice)
    response = client.get("/admin/usage/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_an_empty_usage_page(staff: Client) -> None:
    response = staff.get("/admin/usage/")
    assert response.status_code == 200 and b"No messages in the last 30 days." in response.content


# --- limits on the admin's user page ---


def test_limits_are_edited_inline_on_the_user_page(staff: Client, alice: Any) -> None:
    url = f"/admin/auth/user/{alice.pk}/change/"
    page = staff.get(url)
    assert page.status_code == 200 and b"chat_limits-0-messages_per_minute" in page.content
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name != "password"
    }
    data.update(
        {
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": alice.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": alice.date_joined.strftime("%H:%M:%S"),
            "is_active": "on",
            "chat_limits-TOTAL_FORMS": "1",
            "chat_limits-INITIAL_FORMS": "0",
            "chat_limits-MIN_NUM_FORMS": "0",
            "chat_limits-MAX_NUM_FORMS": "1",
            "chat_limits-0-messages_per_minute": "3",
            "chat_limits-0-tokens_per_day": "50000",
            "chat_limits-0-user": str(alice.pk),
        }
    )
    data.pop("groups", None)
    data.pop("user_permissions", None)
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    limits_row = UserLimits.objects.get(user=alice)
    assert (limits_row.messages_per_minute, limits_row.tokens_per_day) == (3, 50000)
    event = AuditEvent.objects.get(action="admin.change")
    assert event.actor_name == "root" and event.target == f"auth.user {alice.pk}: alice"
    assert "chat limits" in str(event.details["changes"])
    listing = staff.get("/admin/chatapp/userlimits/")
    assert listing.status_code == 200 and b"50000" in listing.content


# --- sign-in throttling ---


def sign_in(username: str, password: str, ip: str = "10.0.0.1", url: str = "/login/") -> Any:
    return Client(REMOTE_ADDR=ip).post(url, {"username": username, "password": password})


THROTTLED = "Too many failed sign-in attempts. Try again in 15 minutes."


def throttled(response: Any) -> bool:
    return response.status_code == 200 and THROTTLED in response.content.decode()


def test_after_five_failures_that_username_is_refused_from_that_address(alice: Any) -> None:
    for _ in range(5):
        response = sign_in("alice", "wrong")
        assert response.status_code == 200 and not throttled(response)
    refused = sign_in("alice", "pw-alice-123")
    assert throttled(refused) and "_auth_user_id" not in refused.wsgi_request.session
    # No password was checked: the refused attempt is not a failure of its own.
    assert AuditEvent.objects.filter(action="login.failed").count() == 5
    # The account itself is not locked: from anywhere else its owner signs in.
    assert sign_in("alice", "pw-alice-123", ip="10.9.9.9").status_code == 302


def test_a_stranger_cannot_lock_anyone_out(alice: Any) -> None:
    """The hostile tester's report: five wrong passwords locked an account, the admin's too."""
    get_user_model().objects.create_superuser("root", password="pw-root-123")
    for n in range(4):
        for _ in range(5):
            for url in ("/login/", "/admin/login/"):
                sign_in("root", "wrong", ip=f"10.66.0.{n}", url=url)
                sign_in("alice", "wrong", ip=f"10.66.0.{n}", url=url)
    assert throttled(sign_in("root", "pw-root-123", ip="10.66.0.1"))
    assert sign_in("root", "pw-root-123", ip="10.0.0.2", url="/admin/login/").status_code == 302
    assert sign_in("root", "pw-root-123", ip="10.0.0.2").status_code == 302
    assert sign_in("alice", "pw-alice-123", ip="10.0.0.3").status_code == 302


def test_failures_per_address_across_usernames(alice: Any, settings: Any) -> None:
    assert settings.SIGNIN_MAX_FAILURES_PER_ADDRESS == 20
    for n in range(20):
        response = sign_in(f"user{n}", "guess", ip="10.0.0.7")
        assert not throttled(response), n
    # Twenty names tried from one address: that address may not try any more.
    assert throttled(sign_in("alice", "pw-alice-123", ip="10.0.0.7"))
    assert sign_in("alice", "pw-alice-123", ip="10.0.0.8").status_code == 302
    settings.SIGNIN_MAX_FAILURES_PER_ADDRESS = 0  # off; the pairs still count
    assert sign_in("alice", "pw-alice-123", ip="10.0.0.7").status_code == 302


def test_an_ipv6_client_counts_as_its_64(alice: Any) -> None:
    for n in range(1, 6):
        sign_in("alice", "wrong", ip=f"2001:db8:1:2::{n:x}")
    assert throttled(sign_in("alice", "pw-alice-123", ip="2001:db8:1:2:ffff::1"))
    assert sign_in("alice", "pw-alice-123", ip="2001:db8:1:3::1").status_code == 302
    # An IPv4 client seen through an IPv6 socket is that IPv4 address.
    for _ in range(5):
        sign_in("alice", "wrong", ip="::ffff:10.0.8.1")
    assert throttled(sign_in("alice", "pw-alice-123", ip="10.0.8.1"))


def test_a_successful_sign_in_resets_its_pairs_count(alice: Any) -> None:
    for _ in range(4):
        sign_in("alice", "wrong", ip="10.0.1.1")
    assert sign_in("alice", "pw-alice-123", ip="10.0.1.1").status_code == 302
    for _ in range(4):
        sign_in("alice", "wrong", ip="10.0.1.1")
    # Eight failures in all, but only four since the last success.
    assert sign_in("alice", "pw-alice-123", ip="10.0.1.1").status_code == 302


def test_the_usernames_case_does_not_get_around_it(alice: Any) -> None:
    for name in ("alice", "Alice", "ALICE", "alicE", " alice"):
        sign_in(name, "wrong", ip="10.0.5.1")
    assert throttled(sign_in("alice", "pw-alice-123", ip="10.0.5.1"))


def test_the_admin_sign_in_is_throttled_too(alice: Any) -> None:
    get_user_model().objects.create_superuser("root", password="pw-root-123")
    for _ in range(5):
        sign_in("root", "wrong", ip="10.0.6.1", url="/admin/login/")
    assert throttled(sign_in("root", "pw-root-123", ip="10.0.6.1", url="/admin/login/"))
    assert throttled(sign_in("root", "pw-root-123", ip="10.0.6.1"))  # one count for both forms


def test_the_wait_is_shown_in_minutes(alice: Any, settings: Any) -> None:
    settings.SIGNIN_MAX_FAILURES = 2
    settings.SIGNIN_WINDOW_MINUTES = 1
    sign_in("alice", "wrong")
    sign_in("alice", "wrong")
    response = sign_in("alice", "pw-alice-123")
    assert "Too many failed sign-in attempts. Try again in 1 minute." in response.content.decode()
    settings.SIGNIN_MAX_FAILURES = 0  # off
    assert sign_in("alice", "pw-alice-123").status_code == 302
