"""Taking access away closes the person's open websockets at once (chatapp.revocation)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, Permission

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED = {"type": "websocket.close", "code": 4401}


async def open_ready(connect: Any, user: Any) -> Any:
    """A connected socket whose consumer has finished `connect` (and joined `user.<pk>`)."""
    sock = await connect(user)
    assert sock.connected
    await sock.send({"type": "subscribe", "conversation": 999_999})
    assert (await sock.receive())["code"] == "not_found"
    return sock


async def assert_closed(sock: Any, timeout: float = 3) -> None:
    # Poll rather than `receive_output(timeout)`, which cancels the app on timeout and breaks
    # the `connect` fixture's teardown: a failure here stays one clear failure.
    for _ in range(int(timeout / 0.05)):
        if not await sock.comm.receive_nothing(timeout=0.05):
            break
    else:
        pytest.fail("the socket is still open")
    assert await sock.comm.receive_output() == CLOSED


async def assert_open(sock: Any) -> None:
    await sock.send({"type": "subscribe", "conversation": 999_999})
    assert (await sock.receive())["code"] == "not_found"


@sync_to_async
def permission(codename: str = "view_conversation") -> Permission:
    return Permission.objects.get(codename=codename)


async def test_deactivating_a_user_closes_their_sockets_and_they_cannot_reconnect(
    connect: Any, alice: Any, bob: Any
) -> None:
    alice_tabs = [await open_ready(connect, alice), await open_ready(connect, alice)]
    bob_tab = await open_ready(connect, bob)

    alice.is_active = False
    await sync_to_async(alice.save)()

    for tab in alice_tabs:
        await assert_closed(tab)
    await assert_open(bob_tab)
    again = await connect(alice)
    assert not again.connected and again.close_code == 4401


async def test_other_changes_to_the_user_close_nothing(connect: Any, alice: Any) -> None:
    tab = await open_ready(connect, alice)
    alice.first_name = "Alice"
    await sync_to_async(alice.save)()
    await sync_to_async(alice.user_permissions.add)(await permission())
    group = await Group.objects.acreate(name="team")
    await sync_to_async(alice.groups.add)(group)
    alice.is_staff = True
    await sync_to_async(alice.save)()
    assert await tab.comm.receive_nothing(timeout=0.3)
    await assert_open(tab)


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
async def test_revoking_staff_or_superuser_closes_their_sockets(
    connect: Any, alice: Any, bob: Any, flag: str
) -> None:
    setattr(alice, flag, True)
    await sync_to_async(alice.save)()
    tab, bob_tab = await open_ready(connect, alice), await open_ready(connect, bob)
    setattr(alice, flag, False)
    await sync_to_async(alice.save)()
    await assert_closed(tab)
    await assert_open(bob_tab)
    assert (await open_ready(connect, alice)).connected  # still active: the tab signs in again


async def test_removing_a_permission_closes_their_sockets(
    connect: Any, alice: Any, bob: Any
) -> None:
    perm = await permission()
    for user in (alice, bob):
        await sync_to_async(user.user_permissions.add)(perm)
    tab, bob_tab = await open_ready(connect, alice), await open_ready(connect, bob)
    await sync_to_async(alice.user_permissions.remove)(perm)
    await assert_closed(tab)
    await assert_open(bob_tab)


@pytest.mark.parametrize(
    "take_away",
    [
        pytest.param(lambda alice, group, perm: alice.groups.remove(group), id="user.groups"),
        pytest.param(lambda alice, group, perm: alice.groups.clear(), id="user.groups.clear"),
        pytest.param(lambda alice, group, perm: group.user_set.remove(alice), id="group.users"),
        pytest.param(lambda alice, group, perm: group.user_set.clear(), id="group.users.clear"),
        pytest.param(lambda alice, group, perm: group.permissions.remove(perm), id="group.perms"),
        pytest.param(lambda alice, group, perm: perm.group_set.clear(), id="perm.groups.clear"),
        pytest.param(lambda alice, group, perm: group.delete(), id="group.delete"),
    ],
)
async def test_losing_a_group_or_a_group_permission_closes_their_sockets(
    connect: Any, alice: Any, bob: Any, take_away: Any
) -> None:
    perm = await permission()

    @sync_to_async
    def setup() -> Group:
        group = Group.objects.create(name="team")
        group.permissions.add(perm)
        alice.groups.add(group)
        return group

    group = await setup()
    tab, bob_tab = await open_ready(connect, alice), await open_ready(connect, bob)
    await sync_to_async(take_away)(alice, group, perm)
    await assert_closed(tab)
    await assert_open(bob_tab)


async def test_deleting_a_user_closes_their_sockets(connect: Any, alice: Any, bob: Any) -> None:
    tab, bob_tab = await open_ready(connect, alice), await open_ready(connect, bob)
    await sync_to_async(alice.delete)()
    await assert_closed(tab)
    await assert_open(bob_tab)


async def test_a_change_rolled_back_closes_nothing(connect: Any, alice: Any) -> None:
    from django.db import transaction

    tab = await open_ready(connect, alice)

    @sync_to_async
    def deactivate_then_roll_back() -> None:
        with transaction.atomic():
            alice.is_active = False
            alice.save()
            transaction.set_rollback(True)

    await deactivate_then_roll_back()
    assert await tab.comm.receive_nothing(timeout=0.3)
    await assert_open(tab)


# --- a socket ends with its session ---


def signed_in(user: Any) -> Any:
    """A browser's HTTP client with its own session of `user`."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


async def test_signing_out_closes_that_sessions_sockets_only(connect: Any, alice: Any) -> None:
    browser, other = await sync_to_async(signed_in)(alice), await sync_to_async(signed_in)(alice)
    tab = await connect(alice, cookie=browser.cookies["sessionid"].value)
    await assert_open(tab)
    elsewhere = await connect(alice, cookie=other.cookies["sessionid"].value)
    await assert_open(elsewhere)
    await sync_to_async(browser.post)("/logout/")
    await assert_closed(tab)
    await assert_open(elsewhere)


async def test_a_password_change_closes_the_other_sessions_sockets(
    connect: Any, alice: Any
) -> None:
    browser, other = await sync_to_async(signed_in)(alice), await sync_to_async(signed_in)(alice)
    tab = await connect(alice, cookie=browser.cookies["sessionid"].value)
    elsewhere = await connect(alice, cookie=other.cookies["sessionid"].value)
    await assert_open(tab)
    await assert_open(elsewhere)
    form = {
        "old_password": "pw-alice-123",
        "new_password1": "A-new-Passw0rd-42",
        "new_password2": "A-new-Passw0rd-42",
    }
    answer = await sync_to_async(browser.post)("/password/", form)
    assert answer.status_code == 302
    await assert_closed(elsewhere)
    again = await connect(alice, cookie=other.cookies["sessionid"].value)
    assert not again.connected and again.close_code == 4401
    # The session that changed it goes on under a new key (Django cycles it): its page
    # reconnects with the new cookie.
    await assert_closed(tab)
    renewed = await connect(alice, cookie=browser.cookies["sessionid"].value)
    await assert_open(renewed)


async def test_a_socket_checks_its_session_before_acting_on_a_frame(
    connect: Any, alice: Any
) -> None:
    from django.contrib.sessions.models import Session

    from chatapp.models import Conversation

    browser = await sync_to_async(signed_in)(alice)
    key = browser.cookies["sessionid"].value
    tab = await connect(alice, cookie=key)
    await assert_open(tab)
    await Session.objects.filter(session_key=key).adelete()  # ended without any signal
    await tab.send({"type": "send", "conversation": None, "parent": None, "text": "hello"})
    await assert_closed(tab)
    assert await Conversation.objects.acount() == 0


async def test_a_socket_closes_when_its_session_expires(
    connect: Any, alice: Any, settings: Any
) -> None:
    def expiring_soon() -> Any:
        browser = signed_in(alice)
        session = browser.session
        session.set_expiry(2)
        session.save()
        return browser

    browser = await sync_to_async(expiring_soon)()
    tab = await connect(alice, cookie=browser.cookies["sessionid"].value)
    await assert_open(tab)
    await assert_closed(tab, timeout=6)


async def test_sockets_per_user_are_capped_with_a_close_code_the_page_explains(
    connect: Any, alice: Any, bob: Any, settings: Any
) -> None:
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    tabs = [await open_ready(connect, alice), await open_ready(connect, alice)]
    third = await connect(alice)
    assert third.connected
    assert await third.comm.receive_output() == {"type": "websocket.close", "code": 4429}
    await assert_open(await open_ready(connect, bob))  # others are not affected
    await tabs[0].close()
    await assert_open(await open_ready(connect, alice))
