"""The chat websocket: page → server frames in `chatapp.protocol`, the answers in `frames`.

The consumer stays thin: it checks the user, validates each frame, calls the turns service
(one database hop) and starts the generation without awaiting it, and maps errors to error
frames. Frames reach the socket through its `delivery.Subscriber`, in order.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import nullcontext
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext

from . import (
    delivery,
    frames,
    languages,
    metrics,
    relay,
    revocation,
    socket_cap,
    tracing,
    turns,
    workers,
)
from .protocol import ClientError, Edit, Regenerate, Retry, Select, Send, Stop, Subscribe, parse
from .protocol import client_id as _client_id

log = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401  # the page signs in again
CLOSE_TOO_MANY = 4429  # the page says so, and does not reconnect by itself
RECHECK_DELAY_SECONDS = 1.0


class ChatConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        """Only signed-in users; the origin was checked by the ASGI stack."""
        self.user = self.scope.get("user")
        self.subscriber: delivery.Subscriber | None = None
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        # Error frames and the turns started here speak the person's (or browser's) language.
        headers = self.scope.get("headers", [])
        self.language = await sync_to_async(languages.for_socket)(self.user.pk, headers)
        await self.accept()
        name = f"{workers.WORKER_ID}|{self.channel_name}"
        if not await socket_cap.acquire(self.user.pk, name):
            await self.close(code=CLOSE_TOO_MANY)
            return
        metrics.OPEN_SOCKETS.inc()
        self.subscriber = delivery.Subscriber(name, lambda text: self.send(text_data=text))
        self.session_key = self.scope["session"].session_key or ""
        # Notifications about the user's background answers, and closing on revocation.
        self.groups_joined = [frames.user_group(self.user.pk)]
        if self.session_key:
            self.groups_joined.append(frames.session_group(self.session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.expiry = asyncio.get_running_loop().create_task(self._close_when_expired())

    async def disconnect(self, code: int) -> None:
        if self.subscriber is None:
            return
        await socket_cap.release(self.user.pk, self.subscriber.name)
        metrics.OPEN_SOCKETS.dec()
        self.subscriber.close()
        self.subscriber = None
        self.expiry.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse and validate one frame; anything wrong gets an error frame back."""
        with languages.speaking(getattr(self, "language", settings.LANGUAGE_CODE)):
            await self._receive(text_data)

    async def _receive(self, text_data: str | None) -> None:
        try:
            await self.dispatch_frame(parse(text_data))
        except workers.ConversationBusy:
            message = gettext("An answer is still being written in this conversation.")
            await self.send_json(frames.error_body("busy", message, _client_id(text_data)))
        except ClientError as exc:
            await self.send_json(frames.error_body(exc.code, exc.message, _client_id(text_data)))

    async def dispatch_frame(self, frame: Any) -> None:
        name = f"chat.{frame.type}"
        with tracing.tracer.start_as_current_span(name, attributes={"enduser.id": self.user.pk}):
            await self._dispatch_frame(frame)

    async def _dispatch_frame(self, frame: Any) -> None:
        if not await self._session_valid():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        worker = await workers.channel()
        if isinstance(frame, Subscribe):
            await self.subscribe(frame.conversation)
        elif isinstance(frame, Send):
            await self.send_message(frame, worker)
        elif isinstance(frame, Edit | Regenerate | Retry):
            await self.rerun(frame, worker)
        elif isinstance(frame, Stop):
            turn = await sync_to_async(turns.owned_turn)(self.user, frame.turn)
            if not workers.stop(turn.pk) and turn.is_active:
                # Running in another worker: that worker stops it.
                if not await workers.ask(turn, {"type": "relay.stop"}):
                    raise ClientError("not_running", gettext("That answer is not running anymore."))
        elif isinstance(frame, Select):
            await sync_to_async(turns.select)(self.user, frame.conversation, frame.turn)

    async def rerun(self, frame: Edit | Regenerate | Retry, worker: str) -> None:
        """An edit, a regeneration (new sibling turns) or a retry (the same turn again)."""
        turn = await sync_to_async(turns.owned_turn)(self.user, frame.turn)
        if self.subscriber and self.subscriber.conversation != turn.conversation_id:
            await self.subscribe(turn.conversation_id)  # before the new turn exists
        with workers.reserving(turn.conversation_id):
            if isinstance(frame, Edit):
                started = await sync_to_async(turns.edit)(self.user, turn.pk, frame.text, worker)
            elif isinstance(frame, Regenerate):
                started = await sync_to_async(turns.regenerate)(self.user, turn.pk, worker)
            else:
                started = await sync_to_async(turns.retry)(self.user, turn.pk, worker)
            if started.renamed:  # an edited first message renamed the conversation
                delivery.publish(frames.conversation_frame(started.conversation))
            relay.start(started)

    async def subscribe(self, conversation_id: int) -> None:
        """Follow a conversation: live frames from now on, and a snapshot of each active turn."""
        assert self.subscriber is not None
        conversation = await sync_to_async(turns.owned_conversation)(self.user, conversation_id)
        # Join before taking snapshots, so nothing falls between a snapshot and live frames.
        await self.subscriber.watch(conversation.pk)
        for generation in workers.running_in(conversation.pk):
            self.subscriber.put(generation.snapshot())
        for turn, siblings in await sync_to_async(turns.visible)(conversation):
            if workers.running(turn.pk):
                continue
            request = {
                "type": "relay.snapshot",
                "reply": self.subscriber.name,
                "language": self.language,
            }
            if turn.is_active and await workers.ask(turn, request):
                continue  # the worker running it answers this socket
            flags = "snapshot" if turn.is_active else "final"
            self.subscriber.put(frames.turn_frame(turn, siblings, 0, flags=flags))

    async def send_message(self, frame: Send, worker: str) -> None:
        assert self.subscriber is not None
        if frame.conversation and self.subscriber.conversation != frame.conversation:
            await self.subscribe(frame.conversation)
        hold = workers.reserving(frame.conversation) if frame.conversation else nullcontext()
        with hold:
            started = await sync_to_async(turns.send)(self.user, frame, worker)
            conversation = started.conversation
            if started.conversation_created:
                await self.subscriber.watch(conversation.pk)
                self.subscriber.put(frames.conversation_frame(conversation, frame.client_id))
            if started.renamed:
                delivery.publish(frames.conversation_frame(conversation))
            relay.start(started)

    # --- channel-layer messages ---

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Notifications straight to the socket, without Channels' database-thread hop
        (`close_old_connections`) that every other handler gets first."""
        if message.get("type") == "chat.frame":
            await self.chat_frame(message)
        else:
            await super().dispatch(message)

    async def chat_frame(self, message: dict[str, Any]) -> None:
        await self.send_json(message["frame"])

    async def chat_close(self, message: dict[str, Any]) -> None:
        """The user lost access, or signed out this session: see chatapp.revocation."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def chat_recheck(self, message: dict[str, Any]) -> None:
        """The password changed: the sessions it ended close (this one, renewed, stays)."""
        # The session that changed it is renewed just after the change is saved.
        await asyncio.sleep(RECHECK_DELAY_SECONDS)
        if not await self._session_valid():
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _session_valid(self) -> bool:
        return await revocation.session_valid(self.session_key, self.user.pk)

    async def _close_when_expired(self) -> None:
        await revocation.until_expired(self.session_key, self.user.pk)
        await self.close(code=CLOSE_UNAUTHENTICATED)
