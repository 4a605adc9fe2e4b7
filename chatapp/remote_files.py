"""Large media through Gemini's Files API: uploaded once from our copy, then used by `uri`.

Small images go inline (`chatapp.uploads.upstream_content`). A video, or any upload of
FILES_API_MIN_BYTES or more, is uploaded with the resumable protocol (the client streams it
from disk in chunks, reading in a thread), waited for until ACTIVE, and its upstream name,
uri and expiry are kept on the Attachment, so later turns reuse it. Only an ACTIVE file is
recorded: an upload that fails or is stopped is cancelled or deleted upstream, never left
half-registered. Gemini forgets files after 48 hours: an expired record, or a 403 for its
uri, uploads it again from our copy. Files we uploaded are deleted upstream with their
Attachment (a signal, so a deleted conversation takes its files along).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy

from interactions_client import (
    AsyncClient,
    InteractionsError,
    NotFoundError,
    PermissionDeniedError,
)

from . import upstream
from .history import build_request
from .models import Attachment

if TYPE_CHECKING:
    from .turns import Started

log = logging.getLogger(__name__)

# Gemini keeps a file 48 hours; one about to expire is uploaded again rather than risked.
LIFETIME = timedelta(hours=48)
MARGIN = timedelta(hours=1)
_UPLOADING = {
    "video": gettext_lazy("Uploading video to Gemini… %s%%"),
    "audio": gettext_lazy("Uploading audio to Gemini… %s%%"),
    "image": gettext_lazy("Uploading image to Gemini… %s%%"),
    "document": gettext_lazy("Uploading document to Gemini… %s%%"),
    "file": gettext_lazy("Uploading file to Gemini… %s%%"),
}
_PROCESSING = {
    "video": gettext_lazy("Processing video…"),
    "audio": gettext_lazy("Processing audio…"),
    "image": gettext_lazy("Processing image…"),
    "document": gettext_lazy("Processing document…"),
    "file": gettext_lazy("Processing file…"),
}

# Told, in words for the page, what the turn waits for ("Processing video…").
Report = Callable[[str], Awaitable[None]]


def uses_files_api(attachment: Attachment) -> bool:
    """Whether an attachment goes by Files API uri rather than inline data."""
    if attachment.generated:
        return False  # generated media is replayed as it was received
    return attachment.kind == "video" or attachment.size >= settings.FILES_API_MIN_BYTES


def is_fresh(attachment: Attachment) -> bool:
    expires = attachment.upstream_expires
    if not attachment.upstream_uri or expires is None:
        return False
    return expires > timezone.now() + MARGIN


def uri_content(attachment: Attachment) -> dict[str, Any]:
    kind, uri, mime_type = attachment.kind, attachment.upstream_uri, attachment.mime_type
    return {"type": kind, "uri": uri, "mime_type": mime_type}


async def ensure(
    client: AsyncClient,
    attachments: Iterable[Attachment],
    report: Report,
    *,
    again: bool = False,
) -> None:
    """Every attachment uploaded and ACTIVE upstream, its record updated in place.

    `again`: upload even those that look fresh (the API said their uri is gone).
    """
    for attachment in attachments:
        async with _lock(attachment.pk):
            if again:
                if await _still_active(client, attachment):
                    continue
            else:
                await attachment.arefresh_from_db(
                    fields=["upstream_name", "upstream_uri", "upstream_expires"]
                )
                if is_fresh(attachment):
                    continue
            stale = attachment.upstream_name
            await _upload(client, attachment, report)
            if stale and stale != attachment.upstream_name:
                await _delete_quietly(client, stale)


async def ready(started: Started, client: AsyncClient, report: Report) -> dict[str, Any]:
    """The turn's request, once the large media it names are ACTIVE upstream."""
    if not started.expand.remote:
        return started.request
    await ensure(client, started.expand.remote, report)
    await report("")  # ready: the page stops showing what it waited for
    conversation, path = started.conversation, started.path
    return await sync_to_async(build_request)(conversation, path, expand=started.expand)


async def replay(
    exc: Exception, request: dict[str, Any], started: Started, client: AsyncClient, report: Report
) -> dict[str, Any]:
    """The request again as a whole replay, after the upstream lost what it named: the
    chained interaction (404), or a file (403: uploaded again). Else `exc` is raised."""
    lost_chain = (
        isinstance(exc, NotFoundError)
        and "previous_interaction_id" in request
        and "filesearchstore" not in exc.message.lower()  # a deleted knowledge base
    )
    lost_file = isinstance(exc, PermissionDeniedError) and bool(started.expand.remote)
    if not (lost_chain or lost_file):
        raise exc
    if lost_file:
        await ensure(client, started.expand.remote, report, again=True)
    conversation, path, expand = started.conversation, started.path, started.expand
    return await sync_to_async(build_request)(conversation, path, force_replay=True, expand=expand)


async def _still_active(client: AsyncClient, attachment: Attachment) -> bool:
    """Whether the upstream still has our file (after a 403 naming some file of the turn)."""
    if not attachment.upstream_name:
        return False
    try:
        found = await client.files.get(attachment.upstream_name)
    except InteractionsError:
        return False
    return found.state == "ACTIVE" and found.uri == attachment.upstream_uri


_locks: dict[int, asyncio.Lock] = {}


def _lock(pk: int) -> asyncio.Lock:
    # Two turns of one worker needing the same file upload it once (the second finds it fresh).
    return _locks.setdefault(pk, asyncio.Lock())


async def _upload(client: AsyncClient, attachment: Attachment, report: Report) -> None:
    handle: IO[bytes] = await asyncio.to_thread(
        attachment.file.storage.open, attachment.file.name, "rb"
    )
    uploaded = None
    kind = attachment.kind if attachment.kind in _UPLOADING else "file"
    shown = -1
    try:

        async def progress(sent: int, total: int) -> None:
            nonlocal shown
            percent = sent * 100 // total if total else 100
            if percent // 5 > shown // 5:  # a frame every 5 %, not every chunk
                shown = percent
                await report(str(_UPLOADING[kind]) % percent)

        await progress(0, attachment.size)

        uploaded = await client.files.upload(
            handle,
            mime_type=attachment.mime_type,
            display_name=attachment.name or None,
            on_progress=progress,
        )
        await report(str(_PROCESSING[kind]))
        active = await client.files.wait_active(
            str(uploaded.name), timeout=settings.FILES_API_ACTIVE_TIMEOUT_SECONDS
        )
    except BaseException:
        # Not recorded, so not ours to keep: nothing half-registered stays upstream.
        if uploaded is not None and uploaded.name:
            await asyncio.shield(_delete_quietly(client, uploaded.name))
        raise
    finally:
        await asyncio.to_thread(handle.close)
    attachment.upstream_name = str(active.name)
    attachment.upstream_uri = str(active.uri)
    attachment.upstream_expires = active.expiration_time or timezone.now() + LIFETIME
    await Attachment.objects.filter(pk=attachment.pk).aupdate(
        upstream_name=attachment.upstream_name,
        upstream_uri=attachment.upstream_uri,
        upstream_expires=attachment.upstream_expires,
    )


async def _delete_quietly(client: AsyncClient, name: str) -> None:
    try:
        await client.files.delete(name)
    except InteractionsError as exc:  # already expired, or the API is away: it expires anyway
        log.info("deleting upstream file %s: %r", name, exc)


async def delete_upstream(names: list[str]) -> None:
    client = upstream.client()
    for name in names:
        await _delete_quietly(client, name)


@receiver(post_delete, sender=Attachment)
def _forget_upstream(sender: Any, instance: Attachment, **kwargs: Any) -> None:
    """A deleted attachment (or conversation) takes its Files API copy along, once committed."""
    if instance.upstream_name:
        name = instance.upstream_name
        transaction.on_commit(lambda: _run_delete([name]))


def _run_delete(names: list[str]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(delete_upstream)(names)  # a sync view or command: wait for it
    else:
        # Deleted from async code: do not block its loop.
        task = asyncio.get_running_loop().create_task(delete_upstream(names))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()
