"""The chat websocket. The message protocol is documented in `chatapp.protocol`.

The consumer stays thin: it checks the user, validates each frame, and hands work to the
relay without awaiting a generation (Channels handles one message at a time per socket).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from . import limits, metrics, relay, usage
from .branches import Tree
from .models import Attachment, Conversation, Turn
from .payloads import conversation_payload, turn_payload
from .protocol import (
    KNOWN_TYPES,
    MAX_FRAME_BYTES,
    ClientError,
    Edit,
    Regenerate,
    Retry,
    Select,
    Send,
    Stop,
    Subscribe,
    client_frame,
)
from .titles import title_from
from .uploads import UploadError, media_url_content, resolve

log = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401


class ChatConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        """Only signed-in users; the origin was checked by the ASGI stack."""
        self.user = self.scope.get("user")
        self.conversation_id: int | None = None
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        metrics.OPEN_SOCKETS.inc()
        self.counted = True
        # Notifications about the user's background answers, whatever page is open.
        await self.channel_layer.group_add(f"user.{self.user.pk}", self.channel_name)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            metrics.OPEN_SOCKETS.dec()
            self.counted = False
        user = getattr(self, "user", None)
        if self.channel_layer is None or user is None or not user.is_authenticated:
            return
        await self.channel_layer.group_discard(f"user.{user.pk}", self.channel_name)
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(
                f"conv.{self.conversation_id}", self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse and validate one frame; anything wrong gets an error frame back."""
        try:
            if text_data is None:
                raise ClientError("bad_frame", "Frames must be JSON text.")
            if len(text_data.encode()) > MAX_FRAME_BYTES:
                raise ClientError("too_large", "That message is too large.")
            try:
                raw = json.loads(text_data)
            except (ValueError, RecursionError):
                # Also numbers past Python's digit limit and absurdly deep nesting.
                raise ClientError("bad_json", "That frame is not valid JSON.") from None
            kind = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(kind, str) or kind not in KNOWN_TYPES:
                raise ClientError("unknown_type", "Unknown frame type.")
            try:
                frame = client_frame.validate_python(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
                raise ClientError("invalid", f"Invalid {where}: {first['msg']}") from None
            await self.dispatch_frame(frame)
        except relay.ConversationBusy:
            await self.send_json(
                {
                    "type": "error",
                    "code": "busy",
                    "message": "An answer is still being written in this conversation.",
                    "client_id": _client_id(text_data),
                }
            )
        except ClientError as exc:
            await self.send_json(
                {
                    "type": "error",
                    "code": exc.code,
                    "message": exc.message,
                    "client_id": _client_id(text_data),
                }
            )

    async def dispatch_frame(self, frame: Any) -> None:
        if isinstance(frame, Subscribe):
            await self.subscribe(frame.conversation)
        elif isinstance(frame, Send):
            await self.send_message(frame)
        elif isinstance(frame, Edit):
            await self._check_limits()  # admin-set limits (chatapp.limits)
            turn = await self._turn(frame.turn)
            with relay.reserving(turn.conversation_id):
                await self._start(await _sibling(turn, text=frame.text))
        elif isinstance(frame, Regenerate):
            await self._check_limits()  # admin-set limits (chatapp.limits)
            turn = await self._turn(frame.turn)
            with relay.reserving(turn.conversation_id):
                await self._start(await _sibling(turn, text=None))
        elif isinstance(frame, Retry):
            await self.retry(await self._turn(frame.turn))
        elif isinstance(frame, Stop):
            turn = await self._turn(frame.turn)
            if not relay.stop(turn.pk) and turn.is_active:
                # Running in another worker: that worker stops it.
                if not await relay.ask_worker(turn, {"type": "relay.stop"}):
                    raise ClientError("not_running", "That answer is not running anymore.")
        elif isinstance(frame, Select):
            await self.select(frame)

    # --- handlers ---

    async def subscribe(self, conversation_id: int) -> None:
        conversation = await self._conversation(conversation_id)
        if self.conversation_id is not None and self.conversation_id != conversation.pk:
            await self.channel_layer.group_discard(
                f"conv.{self.conversation_id}", self.channel_name
            )
        self.conversation_id = conversation.pk
        # Join before taking snapshots, so nothing falls between a snapshot and live frames.
        await self.channel_layer.group_add(conversation.group_name, self.channel_name)
        turns = [t async for t in Turn.objects.filter(conversation=conversation)]
        tree = Tree.of(turns)
        for turn in turns:
            generation = relay.running(turn.pk)
            if generation is not None:
                view = generation.view()
                payload = turn_payload(
                    turn, tree.siblings(turn), steps=view["steps"], open_steps=view["open_steps"]
                )
                payload["status"] = Turn.Status.IN_PROGRESS
                await self.send_json({"type": "turn", "seq": view["seq"], "turn": payload})
            elif turn.is_active and await relay.ask_worker(
                turn, {"type": "relay.snapshot", "reply": self.channel_name}
            ):
                continue  # the worker running it answers this socket directly
            elif turn.is_active or _recent(turn):
                await self.send_json(
                    {
                        "type": "turn",
                        "seq": relay.FINAL_SEQ if not turn.is_active else 0,
                        "turn": turn_payload(turn, tree.siblings(turn)),
                    }
                )

    async def send_message(self, frame: Send) -> None:
        await self._check_limits()  # admin-set limits (chatapp.limits)
        text = frame.text.strip()
        if not text and not frame.attachments and not frame.media_urls:
            raise ClientError("empty", "Write a message first.")
        if frame.conversation is None and frame.parent is not None:
            # A new conversation has no earlier message to answer.
            raise ClientError("not_found", "No such message.")
        files, media = await _attachments(self.user, frame.attachments, frame.media_urls)
        if frame.conversation is None:
            conversation = await _new_conversation(self.user, text or "Attachment")
            await self.subscribe(conversation.pk)
            await self.send_json(
                {
                    "type": "conversation",
                    "client_id": frame.client_id,
                    "conversation": conversation_payload(conversation),
                }
            )
        else:
            conversation = await self._conversation(frame.conversation)
            if self.conversation_id != conversation.pk:
                await self.subscribe(conversation.pk)
            if not conversation.title:
                # Created from the settings panel: its first message names it.
                conversation.title = title_from(text or "Attachment")
                await Conversation.objects.filter(pk=conversation.pk).aupdate(
                    title=conversation.title
                )
                await relay.broadcast(
                    conversation.group_name,
                    {"type": "conversation", "conversation": conversation_payload(conversation)},
                )
        parent = None
        if frame.parent is not None:
            parent = await self._turn(frame.parent)
            if parent.conversation_id != conversation.pk:
                raise ClientError("not_found", "No such message.")
        user_input = [{"type": "text", "text": text}] if text else []
        user_input += [
            {"type": a.kind, "attachment": str(a.uuid), "mime_type": a.mime_type, "name": a.name}
            for a in files
        ]
        with relay.reserving(conversation.pk):
            turn = await Turn.objects.acreate(
                conversation=conversation,
                parent=parent,
                model=conversation.model,
                user_input=user_input + media,
                user_text=text,
                worker=relay.WORKER_ID,
                heartbeat=timezone.now(),
            )
            if files:
                await Attachment.objects.filter(pk__in=[a.pk for a in files]).aupdate(turn=turn)
            await self._start(turn)

    async def retry(self, turn: Turn) -> None:
        await self._check_limits()  # admin-set limits (chatapp.limits)
        if turn.is_active:
            raise ClientError("busy", "That answer is still running.")
        with relay.reserving(turn.conversation_id):
            await self._rerun(turn)

    async def _rerun(self, turn: Turn) -> None:
        await usage.retire(turn)  # the replaced answer's tokens still count (chatapp.usage)
        await Turn.objects.filter(pk=turn.pk).aupdate(
            status=Turn.Status.QUEUED,
            steps=[],
            error=None,
            usage=None,
            interaction_id="",
            last_event_id="",
            finished=None,
            worker=relay.WORKER_ID,
            heartbeat=timezone.now(),
        )
        # Announce the turn empty: the new answer replaces the old one on every tab.
        turn.status = Turn.Status.QUEUED
        turn.steps, turn.error, turn.usage, turn.structured = [], None, None, None
        await self._start(turn)

    async def select(self, frame: Select) -> None:
        conversation = await self._conversation(frame.conversation)
        turn = await self._turn(frame.turn)
        if turn.conversation_id != conversation.pk:
            raise ClientError("not_found", "No such message.")
        await Conversation.objects.filter(pk=conversation.pk).aupdate(current_turn=turn)

    async def _start(self, turn: Turn) -> None:
        """Announce and run a turn; the caller holds `relay.reserving` for its conversation."""
        await Conversation.objects.filter(pk=turn.conversation_id).aupdate(
            current_turn=turn, updated=timezone.now()
        )
        if self.conversation_id != turn.conversation_id:
            await self.subscribe(turn.conversation_id)
        siblings = [
            t
            async for t in Turn.objects.filter(
                conversation_id=turn.conversation_id, parent_id=turn.parent_id
            ).order_by("created", "pk")
        ]
        # Announce the turn before any of its deltas can be broadcast.
        await relay.broadcast(
            f"conv.{turn.conversation_id}",
            {"type": "turn", "seq": 0, "reset": True, "turn": turn_payload(turn, siblings)},
        )
        relay.start(turn)

    async def _check_limits(self) -> None:
        """Refuse before anything is created or sent upstream (limits set in the admin)."""
        try:
            await limits.check(self.user)
        except limits.LimitExceeded as exc:
            raise ClientError("limit", exc.message) from None

    # --- ownership: anything not the user's own is "not found" ---

    async def _conversation(self, pk: int) -> Conversation:
        conversation = await Conversation.objects.filter(pk=pk, owner=self.user).afirst()
        if conversation is None:
            raise ClientError("not_found", "No such conversation.")
        return conversation

    async def _turn(self, pk: int) -> Turn:
        turn = await Turn.objects.filter(pk=pk, conversation__owner=self.user).afirst()
        if turn is None:
            raise ClientError("not_found", "No such message.")
        return turn

    # --- group messages ---

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Relay frames straight to the socket.

        Channels runs `close_old_connections` in the shared database thread before every
        handler; for a frame that touches no database that put each delta of every tab in
        line behind the database writes (bench/relay.py: lag p50 5.9 s -> 1.8 s at N=100).
        """
        if message.get("type") == "chat.frame":
            await self.chat_frame(message)
        else:
            await super().dispatch(message)

    async def chat_frame(self, message: dict[str, Any]) -> None:
        await self.send_json(message["frame"])

    async def chat_close(self, message: dict[str, Any]) -> None:
        """The user lost access (deactivated, a permission removed): see chatapp.revocation."""
        await self.close(code=CLOSE_UNAUTHENTICATED)


def _client_id(text_data: str | None) -> str:
    try:
        raw = json.loads(text_data or "")
        value = raw.get("client_id", "") if isinstance(raw, dict) else ""
        return value[:64] if isinstance(value, str) else ""
    except (ValueError, RecursionError, AttributeError):
        return ""


def _recent(turn: Turn) -> bool:
    """A turn that finished in the last minutes: a reconnecting tab may have missed its end."""
    return turn.finished is not None and (timezone.now() - turn.finished).total_seconds() < 600


@sync_to_async
def _new_conversation(user: Any, text: str) -> Conversation:
    from django.conf import settings

    with transaction.atomic():
        return Conversation.objects.create(
            owner=user, title=title_from(text), model=settings.DEFAULT_MODEL
        )


@sync_to_async
def _attachments(
    user: Any, ids: list[str], urls: list[str]
) -> tuple[list[Any], list[dict[str, Any]]]:
    try:
        files = resolve(user, ids) if ids else []
        media = [media_url_content(url) for url in urls]
    except UploadError as exc:
        raise ClientError("attachment", str(exc)) from None
    return files, media


async def _sibling(turn: Turn, *, text: str | None) -> Turn:
    """A new turn beside `turn`: same parent, same input unless edited (files are kept)."""
    if text is not None and not text.strip():
        raise ClientError("empty", "Write a message first.")
    user_input = turn.user_input
    if text is not None:
        files = [item for item in turn.user_input if item.get("type") != "text"]
        user_input = [{"type": "text", "text": text.strip()}, *files]
    conversation = await Conversation.objects.aget(pk=turn.conversation_id)
    return await Turn.objects.acreate(
        conversation_id=turn.conversation_id,
        parent_id=turn.parent_id,
        model=conversation.model,
        user_input=user_input,
        user_text=text.strip() if text is not None else turn.user_text,
        worker=relay.WORKER_ID,
        heartbeat=timezone.now(),
    )
