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
