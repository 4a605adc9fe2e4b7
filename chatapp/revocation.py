"""Closing the websockets of people who lose access, the moment they lose it.

A socket checks its user once, when it connects. So when an admin deactivates someone, revokes
staff or superuser, removes a permission or a group (or a permission from one of their groups,
or the group itself), or deletes the account, every open socket of theirs gets
`{"type": "chat.close"}` through the channel layer group `user.<pk>`; the consumer closes it
with 4401 and the page signs in again, which a deactivated user no longer can (Django's
backends refuse inactive users, on the websocket too).

A socket also ends with its session: signing out closes the sockets of that session
(`{"type": "chat.close"}` to the group of the session), a password change makes every socket
of the user recheck its session (`chat.recheck`: the other sessions are no longer valid), a
socket closes when its session expires, and it rechecks its session before acting on a frame.

Messages go once the change is committed, so a reconnecting tab sees the new state. Changes
that bypass signals (`QuerySet.update`, raw SQL) close nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.utils import timezone

from .frames import session_group, user_group

log = logging.getLogger(__name__)

CLOSE = {"type": "chat.close"}
RECHECK = {"type": "chat.recheck"}
# Flags whose change from True to False takes access away.
FLAGS = ("is_active", "is_staff", "is_superuser")


def close_sockets(user_pks: Iterable[Any]) -> None:
    """Close every open socket of these users once the current transaction commits."""
    groups = [user_group(pk) for pk in sorted({pk for pk in user_pks if pk is not None})]
    if groups:
        transaction.on_commit(lambda: _send(groups, CLOSE), robust=True)


def session_user(session_key: str | None) -> Any:
    """The signed-in user of a session as stored now (anonymous if it ended, expired, was
    flushed by a password change elsewhere, or its user was deactivated)."""
    engine = import_module(settings.SESSION_ENGINE)
    request = SimpleNamespace(session=engine.SessionStore(session_key))
    return auth.get_user(request)  # type: ignore[arg-type]


async def session_valid(session_key: str, user_pk: Any) -> bool:
    user = await sync_to_async(session_user)(session_key)
    return bool(user.is_authenticated and user.pk == user_pk)


async def until_expired(session_key: str, user_pk: Any) -> None:
    """Return once the session has expired or ended (checked at its expiry: it may be renewed)."""
    engine = import_module(settings.SESSION_ENGINE)
    while True:
        store = engine.SessionStore(session_key)
        expires = await sync_to_async(store.get_expiry_date)()
        await asyncio.sleep(min(3600.0, max(1.0, (expires - timezone.now()).total_seconds())))
        if not await session_valid(session_key, user_pk):
            return


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            try:
                await layer.group_send(group, message)
            except Exception:
                # The change itself is saved; a socket left open is logged, not fatal.
                log.exception("Could not reach the sockets of %s", group)

    async_to_sync(send_all)()


# --- sessions ---


def close_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        _send([session_group(key)], CLOSE)


def recheck_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Other sessions of the user end with their old password (Django's session hash)."""
    if instance.__dict__.pop("_password_changed", False):
        groups = [user_group(instance.pk)]
        transaction.on_commit(lambda: _send(groups, RECHECK), robust=True)


# --- the user's own flags ---


def remember_flags(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Before a user is saved, read the flags as stored (the instance may be stale)."""
    instance.__dict__.pop("_flags_before", None)
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & {*FLAGS, "password"}:
        return  # e.g. last_login on every sign-in: no query
    before = sender._default_manager.filter(pk=instance.pk).values(*FLAGS, "password").first()
    if before is not None:
        instance.__dict__["_password_changed"] = before.pop("password") != instance.password
    instance.__dict__["_flags_before"] = before


def close_on_lost_flag(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    before = instance.__dict__.pop("_flags_before", None)
    if raw or not before:
        return
    if any(before[flag] and not getattr(instance, flag) for flag in FLAGS):
        close_sockets([instance.pk])


def close_on_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    close_sockets([instance.pk])


# --- permissions and groups ---


def close_on_lost_permission(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    """A permission or group taken away, from whichever side of the relation."""
    if action not in ("post_remove", "pre_clear"):
        return  # additions take nothing away; a clear is measured before it happens
    user_model = get_user_model()
    user_groups = user_model.groups.through
    if sender in (user_groups, user_model.user_permissions.through):
        if not reverse:
            close_sockets([instance.pk])
        elif pk_set is not None:
            close_sockets(pk_set)
        else:  # group.user_set.clear(), permission.user_set.clear()
            other = "group" if sender is user_groups else "permission"
            linked = sender.objects.filter(**{other: instance})
            close_sockets(linked.values_list("user_id", flat=True))
    elif sender is Group.permissions.through:
        if not reverse:
            groups: Any = [instance.pk]
        elif pk_set is not None:
            groups = pk_set
        else:  # permission.group_set.clear()
            groups = sender.objects.filter(permission=instance).values_list("group_id", flat=True)
        close_sockets(_members(groups))


def close_on_group_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    # The memberships and the group's permissions go by cascade, without m2m signals.
    close_sockets(_members([instance.pk]))


def _members(group_pks: Iterable[Any]) -> list[Any]:
    through = get_user_model().groups.through
    return list(
        through.objects.filter(group_id__in=list(group_pks)).values_list("user_id", flat=True)
    )


def connect() -> None:
    """Connect the handlers; called from `ChatappConfig.ready()`."""
    user_model = get_user_model()
    pre_save.connect(remember_flags, sender=user_model, dispatch_uid="revocation.flags.pre")
    post_save.connect(close_on_lost_flag, sender=user_model, dispatch_uid="revocation.flags")
    post_save.connect(
        recheck_on_password_change, sender=user_model, dispatch_uid="revocation.password"
    )
    user_logged_out.connect(close_on_logout, dispatch_uid="revocation.logout")
    pre_delete.connect(close_on_delete, sender=user_model, dispatch_uid="revocation.delete")
    pre_delete.connect(close_on_group_delete, sender=Group, dispatch_uid="revocation.group")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            close_on_lost_permission,
            sender=through,
            dispatch_uid=f"revocation.m2m.{through._meta.label}",
        )
