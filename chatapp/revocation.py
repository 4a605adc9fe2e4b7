"""Closing the websockets of people who lose access, the moment they lose it.

A socket checks its user once, when it connects. So when an admin deactivates someone, revokes
staff or superuser, removes a permission or a group (or a permission from one of their groups,
or the group itself), or deletes the account, every open socket of theirs gets
`{"type": "chat.close"}` through the channel layer group `user.<pk>`; the consumer closes it
with 4401 and the page signs in again, which a deactivated user no longer can (Django's
backends refuse inactive users, on the websocket too).

Messages go once the change is committed, so a reconnecting tab sees the new state. Changes
that bypass signals (`QuerySet.update`, raw SQL) close nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save

log = logging.getLogger(__name__)

CLOSE = {"type": "chat.close"}
# Flags whose change from True to False takes access away.
FLAGS = ("is_active", "is_staff", "is_superuser")


def close_sockets(user_pks: Iterable[Any]) -> None:
    """Close every open socket of these users once the current transaction commits."""
    pks = sorted({pk for pk in user_pks if pk is not None})
    if pks:
        transaction.on_commit(lambda: _send(pks), robust=True)


def _send(pks: list[Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for pk in pks:
            try:
                await layer.group_send(f"user.{pk}", CLOSE)
            except Exception:
                # The change itself is saved; a socket left open is logged, not fatal.
                log.exception("Could not close the sockets of user %s", pk)

    async_to_sync(send_all)()


# --- the user's own flags ---


def remember_flags(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Before a user is saved, read the flags as stored (the instance may be stale)."""
    instance.__dict__.pop("_flags_before", None)
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        return  # e.g. last_login on every sign-in: no query
    before = sender._default_manager.filter(pk=instance.pk).values(*FLAGS).first()
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
