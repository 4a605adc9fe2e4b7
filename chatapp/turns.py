"""The turns service: the only code that creates or changes `Turn` rows for a person.

Each action is one synchronous function, run in one database-thread hop: it checks ownership
and limits, writes the turn, and prepares the upstream request, so a generation starts with
everything it needs and touches the database again only when a step finishes. User errors
are `ClientError`s (the consumer turns them into error frames).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import folders, limits, titles, usage
from .branches import Tree
from .composer import new_chat_settings
from .db_retry import with_retries
from .history import build_request
from .media import Expander
from .models import Attachment, Conversation, Turn
from .protocol import ClientError, Send
from .remote_tools import with_location
from .research import remember_start, started_research
from .titles import title_from
from .uploads import UploadError, media_url_content, resolve

log = logging.getLogger(__name__)

# A finished turn a reconnecting tab may have missed the end of.
RECENT_SECONDS = 600


@dataclass
class Started:
    """A turn ready to run: its row, its siblings, the branch and the upstream request."""

    turn: Turn
    siblings: list[Turn]
    path: list[Turn]
    request: dict[str, Any]
    expand: Any
    conversation_created: bool = False
    renamed: bool = False

    @property
    def conversation(self) -> Conversation:
        conversation: Conversation = self.turn.conversation
        return conversation


def owned_conversation(user: Any, pk: int) -> Conversation:
    conversation: Conversation | None = Conversation.objects.filter(pk=pk, owner=user).first()
    if conversation is None:
        raise ClientError("not_found", _("No such conversation."))
    return conversation


def owned_turn(user: Any, pk: int) -> Turn:
    turn = Turn.objects.select_related("conversation").filter(pk=pk, conversation__owner=user)
    found: Turn | None = turn.first()
    if found is None:
        raise ClientError("not_found", _("No such message."))
    return found


def send(user: Any, frame: Send, worker: str) -> Started:
    """A new message after `frame.parent`, in a new conversation when it names none."""
    _check_limits(user)
    text = frame.text.strip()
    if not text and not frame.attachments and not frame.media_urls:
        raise ClientError("empty", _("Write a message first."))
    if frame.conversation is None and frame.parent is not None:
        # A new conversation has no earlier message to answer.
        raise ClientError("not_found", _("No such message."))
    try:
        files = resolve(user, frame.attachments) if frame.attachments else []
        media = [media_url_content(url) for url in frame.media_urls]
    except UploadError as exc:
        raise ClientError("attachment", str(exc)) from None
    user_input = [{"type": "text", "text": text}] if text else []
    user_input += [
        {"type": a.kind, "attachment": str(a.uuid), "mime_type": a.mime_type, "name": a.name}
        for a in files
    ]
    with transaction.atomic():
        created = renamed = False
        if frame.conversation is None:
            conversation = Conversation(
                owner=user, title=title_from(text or "Attachment"), **new_chat_settings(user)
            )
            if (folder := folders.owned_folder(user, frame.folder)) is not None:
                folders.apply_defaults(conversation, folder)
            conversation.save()
            created = True
        else:
            conversation = owned_conversation(user, frame.conversation)
            _check_idle(conversation.pk)
            if not conversation.title:
                # Created from the settings panel: its first message names it.
                conversation.title = title_from(text or "Attachment")
                Conversation.objects.filter(pk=conversation.pk).update(title=conversation.title)
                renamed = True
        parent = None
        if frame.parent is not None:
            parent = Turn.objects.filter(pk=frame.parent, conversation=conversation).first()
            if parent is None:
                raise ClientError("not_found", _("No such message."))
        turn = _new_turn(
            conversation, parent.pk if parent else None, worker, user_input + media, text
        )
        if files:
            Attachment.objects.filter(pk__in=[a.pk for a in files]).update(turn=turn)
        remember_start(turn, frame.start_research)
        started = _prepare(turn, conversation)
    if frame.location is not None:
        with_location(started.request, frame.location.latitude, frame.location.longitude)
    started.conversation_created, started.renamed = created, renamed
    return started


def edit(user: Any, turn_id: int, text: str, worker: str) -> Started:
    """A sibling of the turn with new text (its files are kept)."""
    if not text.strip():
        raise ClientError("empty", _("Write a message first."))
    return _sibling(user, turn_id, worker, text=text.strip())


def regenerate(user: Any, turn_id: int, worker: str) -> Started:
    """A sibling of the turn with the same message."""
    return _sibling(user, turn_id, worker, text=None)


def retry(user: Any, turn_id: int, worker: str) -> Started:
    """Run a finished (failed, stopped, …) turn again in place."""
    _check_limits(user)
    original = owned_turn(user, turn_id)
    if original.is_active:
        raise ClientError("busy", _("That answer is still running."))
    usage.retire(original)  # the replaced answer's tokens still count (chatapp.usage)
    with transaction.atomic():
        _check_idle(original.conversation_id)
        turn = Turn.objects.select_for_update().get(pk=original.pk)
        turn.status = Turn.Status.QUEUED
        turn.steps, turn.error, turn.usage, turn.structured = [], None, None, None
        turn.interaction_id = turn.last_event_id = ""
        turn.finished = None
        turn.worker, turn.heartbeat = worker, timezone.now()
        turn.stored = not original.conversation.stateless
        turn.answer_text = ""
        turn.save()
        return _prepare(turn, original.conversation)


def select(user: Any, conversation_id: int, turn_id: int) -> None:
    """Remember the branch on screen."""
    updated = Conversation.objects.filter(pk=conversation_id, owner=user, turns__pk=turn_id).update(
        current_turn_id=turn_id
    )
    if not updated:
        raise ClientError("not_found", _("No such message."))


def visible(conversation: Conversation) -> list[tuple[Turn, list[Turn]]]:
    """Turns a subscribing tab must be told about: active ones and those just finished."""
    turns = list(Turn.objects.filter(conversation=conversation))
    tree = Tree.of(turns)
    since = timezone.now() - timedelta(seconds=RECENT_SECONDS)
    return [
        (turn, tree.siblings(turn))
        for turn in turns
        if turn.is_active or (turn.finished is not None and turn.finished > since)
    ]


def siblings(turn: Turn) -> list[Turn]:
    """The versions of a message, oldest first (edits and regenerations)."""
    return list(
        Turn.objects.filter(
            conversation_id=turn.conversation_id, parent_id=turn.parent_id
        ).order_by("created", "pk")
    )


class Writes:
    """A generation's writes to its own turn: in order, and off the stream's path."""

    def __init__(self, turn_id: int) -> None:
        self.turn_id = turn_id
        self._last: asyncio.Task[None] | None = None

    def save(self, **fields: Any) -> None:
        previous = self._last

        async def write() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await with_retries(
                lambda: Turn.objects.filter(pk=self.turn_id).aupdate(**fields),
                f"saving turn {self.turn_id}",
            )

        self._last = asyncio.get_running_loop().create_task(write())

    async def done(self) -> None:
        """Wait for every write so far; a failed one is logged (the final write follows)."""
        if self._last is not None:
            (result,) = await asyncio.gather(self._last, return_exceptions=True)
            if isinstance(result, BaseException):
                log.warning("turn %s: saving a step failed: %r", self.turn_id, result)


# --- helpers ---


def _check_limits(user: Any) -> None:
    """Refuse before anything is created or sent upstream (limits set in the admin)."""
    try:
        limits.check(user)
    except limits.LimitExceeded as exc:
        raise ClientError("limit", exc.message) from None


def _check_idle(conversation_id: int) -> None:
    """No answer is being written in this conversation by any worker (fresh heartbeat)."""
    fresh = timezone.now() - timedelta(seconds=settings.CHAT_RECOVERY_STALE_SECONDS)
    if Turn.objects.filter(
        conversation_id=conversation_id, status__in=Turn.ACTIVE, heartbeat__gte=fresh
    ).exists():
        raise ClientError("busy", _("An answer is still being written in this conversation."))


def _sibling(user: Any, turn_id: int, worker: str, *, text: str | None) -> Started:
    _check_limits(user)
    original = owned_turn(user, turn_id)
    with transaction.atomic():
        _check_idle(original.conversation_id)
        user_input, user_text = original.user_input, original.user_text
        if text is not None:
            files = [item for item in original.user_input if item.get("type") != "text"]
            user_input, user_text = [{"type": "text", "text": text}, *files], text
        conversation = original.conversation
        turn = _new_turn(conversation, original.parent_id, worker, user_input, user_text)
        remember_start(turn, started_research(original))
        # An edited first message names the conversation, as the first message did.
        renamed = text is not None and original.parent_id is None
        renamed = renamed and titles.follow_edit(conversation, text or "")
        started = _prepare(turn, conversation)
    started.renamed = renamed
    return started


def _new_turn(
    conversation: Conversation,
    parent_id: int | None,
    worker: str,
    user_input: list[dict[str, Any]],
    user_text: str,
) -> Turn:
    turn: Turn = Turn.objects.create(
        conversation=conversation,
        parent_id=parent_id,
        user_input=user_input,
        user_text=user_text,
        model=conversation.model,
        worker=worker,
        heartbeat=timezone.now(),
        stored=not conversation.stateless,
    )
    return turn


def _prepare(turn: Turn, conversation: Conversation) -> Started:
    """Select the new turn, and build its upstream request from the branch it ends."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(current_turn=turn, updated=now)
    conversation.updated = now
    turn.conversation = conversation
    turns = list(Turn.objects.filter(conversation=conversation))
    tree = Tree.of(turns)
    mine = tree.by_id[turn.pk]
    path = tree.path_to(mine)
    path[-1] = turn
    expand = Expander(conversation.owner_id, path)
    request = build_request(conversation, path, expand=expand)
    return Started(turn, tree.siblings(mine), path, request, expand)
