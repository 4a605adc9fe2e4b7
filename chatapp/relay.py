"""Generations: one turn's upstream calls, fanned out to every open tab.

A Generation runs as an asyncio task that does not depend on any socket: closing a tab does
not stop it; Stop cancels it. It folds upstream events into steps, sends each streamed delta
to the conversation's channel-layer group (numbered by `seq`), and writes the turn to the
database once per finished step and at the end, never per delta. It runs the function-calling
loop itself, and follows background interactions until they finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from interactions_client import (
    Accumulator,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    InteractionsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamEvent,
    sum_usage,
)

from . import metrics, upstream
from .branches import Tree
from .history import build_request, continuation_request
from .media import expander, save_generated
from .models import Conversation, Turn
from .payloads import render_step, turn_payload
from .rendering import plain_text, render_steps

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
HEARTBEAT_SECONDS = 5.0
# A turn's final frame: later frames of that turn are stale by definition.
FINAL_SEQ = 2**31
# Deltas worth showing while they stream; the rest appear when their step finishes.
LIVE_DELTAS = frozenset({"text", "thought_summary"})
# Upstream statuses that end a turn, and what the turn shows.
TURN_STATUS = {
    "completed": Turn.Status.COMPLETED,
    "incomplete": Turn.Status.INCOMPLETE,
    "requires_action": Turn.Status.REQUIRES_ACTION,
    "failed": Turn.Status.FAILED,
    "cancelled": Turn.Status.STOPPED,
    "budget_exceeded": Turn.Status.INCOMPLETE,
}
RUNNING = frozenset({"queued", "in_progress"})

_generations: dict[int, Generation] = {}
# Conversations whose next turn is being created right now (see `reserving`).
_reserved: set[int] = set()
# This worker's own channel-layer address: other workers ask it for snapshots and stops.
_worker_channel: str | None = None
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def client() -> AsyncClient:
    """One upstream client per event loop (its connection pool belongs to that loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = upstream.make_client()
    return _clients[loop]


async def broadcast(group: str, frame: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, {"type": "chat.frame", "frame": frame})


def running(turn_id: int) -> Generation | None:
    return _generations.get(turn_id)


async def worker_channel() -> str:
    """This worker's address on the channel layer, listened to from first use."""
    global _worker_channel
    layer = get_channel_layer()
    if _worker_channel is None and layer is not None:
        # A plain (not process-specific "!") channel: channels_redis serialises receives on
        # "!" channels through one lock, and a second long-lived receiver there stalls the
        # consumers of this process.
        _worker_channel = f"relay.{uuid.uuid4().hex}"
        asyncio.get_running_loop().create_task(_listen(_worker_channel), name="relay-listener")
    return _worker_channel or WORKER_ID


async def _listen(channel: str) -> None:
    """Answer other workers about the generations this one runs."""
    layer = get_channel_layer()
    while True:
        try:
            message = await layer.receive(channel)
            generation = running(int(message.get("turn", 0)))
            if message.get("type") == "relay.stop" and generation and generation.task:
                generation.task.cancel()
            elif message.get("type") == "relay.snapshot" and generation is not None:
                frame = await generation.snapshot_frame()
                await layer.send(str(message["reply"]), {"type": "chat.frame", "frame": frame})
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad message must not stop the listener
            log.exception("relay listener failed on a message")


async def ask_worker(turn: Turn, message: dict[str, Any]) -> bool:
    """Send a request to the worker that runs `turn`; False when no worker is known."""
    layer = get_channel_layer()
    if layer is None or not turn.worker.startswith("relay."):
        return False
    await layer.send(turn.worker, {**message, "turn": turn.pk})
    return True


def busy(conversation_id: int) -> bool:
    return conversation_id in _reserved or any(
        g.conversation_id == conversation_id for g in _generations.values()
    )


@contextlib.contextmanager
def reserving(conversation_id: int) -> Iterator[None]:
    """Hold a conversation while its next turn is created and started.

    The check and the hold happen with no await between them, so two messages racing in one
    conversation cannot both pass; the loser gets a clear "busy" error.
    """
    if busy(conversation_id):
        raise ConversationBusy
    _reserved.add(conversation_id)
    try:
        yield
    finally:
        _reserved.discard(conversation_id)


class ConversationBusy(Exception):
    """An answer is already being written in this conversation."""


def start(turn: Turn, *, resume: bool = False) -> Generation:
    generation = Generation(turn.pk, turn.conversation_id, resume=resume)
    _generations[turn.pk] = generation
    generation.task = asyncio.create_task(generation.run(), name=f"generation-{turn.pk}")
    generation.task.add_done_callback(lambda task, pk=turn.pk: _forget(pk, task))
    metrics.ACTIVE_GENERATIONS.inc()
    return generation


def stop(turn_id: int) -> bool:
    generation = _generations.get(turn_id)
    if generation is None or generation.task is None:
        return False
    generation.task.cancel()
    return True


def _forget(turn_id: int, task: asyncio.Task[None]) -> None:
    # A retry may already have registered a new generation for this turn: keep that one.
    if (current := _generations.get(turn_id)) is not None and current.task is task:
        del _generations[turn_id]
    metrics.ACTIVE_GENERATIONS.dec()
    if not task.cancelled() and task.exception() is not None:
        log.error("generation %s crashed", turn_id, exc_info=task.exception())


class _Unrecoverable(InteractionsError):
    """A turn that died before the upstream stored anything to re-attach to."""


class _TooManyRounds(InteractionsError):
    """The model kept calling tools past the configured number of rounds."""


def describe(exc: BaseException) -> dict[str, Any]:
    """A clear message for the turn; never the key, never a stack trace."""
    if isinstance(exc, _Unrecoverable):
        return _error("interrupted", "The server restarted before this answer was saved.")
    if isinstance(exc, _TooManyRounds):
        return _error("tool_rounds", str(exc))
    if isinstance(exc, RateLimitError):
        return _error("rate_limited", "Gemini is rate-limiting requests right now (429).")
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return _error("auth", "The server's Gemini API key was refused.", retryable=False)
    if isinstance(exc, BadRequestError):
        return _error("bad_request", f"Gemini refused the request: {exc.message}", retryable=False)
    if isinstance(exc, APIStatusError):
        return _error("upstream", f"Gemini answered with an error ({exc.status_code}).")
    if isinstance(exc, APITimeoutError):
        return _error("timeout", "Gemini did not answer in time.")
    if isinstance(exc, APIConnectionError):
        return _error("connection", "The connection to Gemini was lost.")
    return _error("internal", "Something went wrong while generating this answer.")


def _error_label(exc: BaseException) -> str:
    if isinstance(exc, APIStatusError):
        return str(exc.status_code)
    if isinstance(exc, APITimeoutError):
        return "timeout"
    if isinstance(exc, APIConnectionError):
        return "connection"
    return "other"


def _error(code: str, message: str, *, retryable: bool = True) -> dict[str, Any]:
    return {"code": code, "message": message, "retryable": retryable}


class Generation:
    def __init__(self, turn_id: int, conversation_id: int, *, resume: bool = False) -> None:
        self.turn_id = turn_id
        self.conversation_id = conversation_id
        self.group = f"conv.{conversation_id}"
        self.resume = resume
        self.seq = 0
        self.acc = Accumulator()
        # Steps of earlier rounds of a function-calling loop, and the tool results sent.
        self.prefix: list[dict[str, Any]] = []
        self.usage: dict[str, Any] | None = None
        self.open_steps: set[int] = set()
        self.task: asyncio.Task[None] | None = None
        self.turn: Turn | None = None
        self.started = time.monotonic()
        self.first_delta_at: float | None = None

    def steps(self) -> list[dict[str, Any]]:
        return self.prefix + self.acc.snapshot()["steps"]

    def view(self) -> dict[str, Any]:
        """The turn so far, for a tab that subscribes mid-stream."""
        return {"steps": self.steps(), "open_steps": set(self.open_steps), "seq": self.seq}

    async def snapshot_frame(self) -> dict[str, Any]:
        """A `turn` frame with everything so far, at the current seq."""
        turn = await Turn.objects.aget(pk=self.turn_id)
        siblings = [
            t
            async for t in Turn.objects.filter(
                conversation_id=turn.conversation_id, parent_id=turn.parent_id
            ).order_by("created", "pk")
        ]
        view = self.view()  # taken after the awaits: nothing can slip in before it is sent
        payload = await sync_to_async(turn_payload)(
            turn, siblings, steps=view["steps"], open_steps=view["open_steps"]
        )
        payload["status"] = Turn.Status.IN_PROGRESS
        return {"type": "turn", "seq": view["seq"], "turn": payload}

    async def run(self) -> None:
        status, error = Turn.Status.FAILED, None
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            self.turn = await Turn.objects.select_related("conversation").aget(pk=self.turn_id)
            if self.resume:
                await self._reattach(self.turn)
            else:
                await self._generate(self.turn)
            upstream_status = str(self.acc.data.get("status"))
            status = TURN_STATUS.get(upstream_status, Turn.Status.FAILED)
            if self.acc.error is not None:
                status = Turn.Status.FAILED
                error = _error("stream", f"Gemini stopped with an error: {self.acc.error.message}")
            elif upstream_status not in TURN_STATUS:
                # The stream ended without a final status: the answer was cut off, not done.
                error = _error("interrupted", "The answer was interrupted before it finished.")
            elif status == Turn.Status.FAILED:
                error = _error("failed", self._upstream_failure())
        except asyncio.CancelledError:
            status = Turn.Status.STOPPED
            await self._cancel_background()
        except InteractionsError as exc:
            log.warning("generation %s failed: %r", self.turn_id, exc)
            error = describe(exc)
            metrics.UPSTREAM_ERRORS.labels(status=_error_label(exc)).inc()
        except Exception as exc:  # the turn must end whatever happened
            log.exception("generation %s crashed", self.turn_id)
            error = describe(exc)
        finally:
            heartbeat.cancel()
        await self._finish(status, error)

    # --- one turn: first call, fallbacks, tool rounds ---

    async def _generate(self, turn: Turn) -> None:
        conversation = turn.conversation
        path = await self._path(turn)
        expand = await sync_to_async(expander)(conversation.owner_id, path)
        request = await sync_to_async(build_request)(conversation, path, expand=expand)
        await Turn.objects.filter(pk=turn.pk).aupdate(
            status=Turn.Status.IN_PROGRESS,
            worker=await worker_channel(),
            heartbeat=timezone.now(),
            stored=not conversation.stateless,
        )
        self.seq += 1
        await broadcast(
            self.group,
            {"type": "status", "turn": self.turn_id, "seq": self.seq, "status": "in_progress"},
        )
        try:
            await self._call(request)
        except NotFoundError:
            if "previous_interaction_id" not in request or self.acc.last_event_id:
                raise
            # The chained interaction expired upstream: replay the branch from our copy.
            log.info("turn %s: previous interaction gone, replaying history", turn.pk)
            self.acc = Accumulator()
            request = await sync_to_async(build_request)(
                conversation, path, force_replay=True, expand=expand
            )
            await self._call(request)
        rounds = 0
        while self.acc.data.get("status") == "requires_action":
            calls = self._pending_calls()
            if not calls:
                return
            rounds += 1
            if rounds > settings.TOOL_MAX_ROUNDS:
                raise _TooManyRounds(
                    f"Stopped after {settings.TOOL_MAX_ROUNDS} rounds of tool calls."
                )
            results = [await self._run_tool(call) for call in calls]
            previous = self.steps()
            interaction_id = self.acc.data.get("id")
            self._next_round(results)
            first_result = len(self.prefix) - len(results)
            for index in range(first_result, len(self.prefix)):
                await self._publish_step(index)
            request = await sync_to_async(continuation_request)(
                conversation, path, previous, results, interaction_id, expand
            )
            await self._call(request)

    async def _call(self, request: dict[str, Any]) -> None:
        if request.get("background"):
            await self._background(request)
        else:
            await self._consume(await client().interactions.create(stream=True, **request))

    async def _background(self, request: dict[str, Any]) -> None:
        """Start a background interaction, then follow its stream, or poll until it is done."""
        started = await client().interactions.create(**request)
        self.acc.restore(started.model_dump(mode="json"), None)
        await Turn.objects.filter(pk=self.turn_id).aupdate(interaction_id=started.id or "")
        if started.status not in RUNNING:
            return
        try:
            await self._consume(await client().interactions.get(started.id, stream=True))
            if self.acc.data.get("status") not in RUNNING:
                return
        except InteractionsError as exc:
            log.info("turn %s: background stream unavailable (%r), polling", self.turn_id, exc)
        finished = await client().interactions.wait(
            started.id, poll_interval=settings.BACKGROUND_POLL_SECONDS, max_interval=15.0
        )
        data = finished.model_dump(mode="json")
        data["steps"] = [s for s in data.get("steps") or [] if s.get("type") != "user_input"]
        self.acc.restore(data, self.acc.last_event_id)
        for index in range(len(self.acc.steps)):
            await self._publish_step(len(self.prefix) + index)

    async def _cancel_background(self) -> None:
        interaction_id = self.acc.data.get("id")
        if interaction_id and self.acc.data.get("status") in RUNNING and self._is_background():
            try:
                await asyncio.shield(client().interactions.cancel(interaction_id))
            except InteractionsError:
                pass

    def _is_background(self) -> bool:
        return bool(self.turn and self.turn.conversation.background)

    async def _reattach(self, turn: Turn) -> None:
        """Recovery after a dead worker: re-attach to the upstream stream, else fetch it whole."""
        if not (turn.interaction_id and turn.stored):
            raise _Unrecoverable
        await Turn.objects.filter(pk=turn.pk).aupdate(worker=await worker_channel())
        self.acc.restore({"id": turn.interaction_id, "steps": turn.steps}, turn.last_event_id)
        try:
            stream = await client().interactions.get(
                turn.interaction_id, stream=True, last_event_id=turn.last_event_id or None
            )
        except InteractionsError:
            try:
                interaction = await client().interactions.get(turn.interaction_id)
            except NotFoundError:
                # The upstream no longer knows it (e.g. the built-in simulator died too).
                raise _Unrecoverable from None
            data = interaction.model_dump(mode="json")
            # The stored view starts with the user's input; the turn keeps model steps only.
            data["steps"] = [s for s in data.get("steps") or [] if s.get("type") != "user_input"]
            self.acc.restore(data, turn.last_event_id)
            return
        if not turn.last_event_id:
            self.acc = Accumulator()
        await self._consume(stream)

    # --- the stream ---

    async def _consume(self, stream: Any) -> None:
        stream.accumulator = self.acc
        async with stream:
            async for event in stream:
                await self._on_event(event)

    def _index(self, event_index: int) -> int:
        return len(self.prefix) + self.acc.position(event_index)

    async def _on_event(self, event: StreamEvent) -> None:
        kind = event.event_type
        if kind == "interaction.created" and event.interaction and event.interaction.id:
            await Turn.objects.filter(pk=self.turn_id).aupdate(interaction_id=event.interaction.id)
        elif kind == "step.start" and event.index is not None:
            self.open_steps.add(self._index(event.index))
        elif kind == "step.delta" and event.index is not None and event.delta is not None:
            await self._on_delta(self._index(event.index), event.delta.model_dump(mode="json"))
        elif kind == "step.stop" and event.index is not None:
            position = self.acc.position(event.index)
            if position < len(self.acc.steps) and self.turn is not None:
                step = self.acc.steps[position]
                if any(i.get("data") for i in step.get("content") or [] if isinstance(i, dict)):
                    self.acc.steps[position] = await sync_to_async(save_generated)(self.turn, step)
            await self._publish_step(self._index(event.index))
            await Turn.objects.filter(pk=self.turn_id).aupdate(
                steps=self.steps(),
                last_event_id=self.acc.last_event_id or "",
                heartbeat=timezone.now(),
            )

    async def _on_delta(self, index: int, delta: dict[str, Any]) -> None:
        if delta.get("type") not in LIVE_DELTAS:
            return
        if delta["type"] == "text":
            text = delta.get("text")
        else:
            text = (delta.get("content") or {}).get("text")
        if not text:
            return
        self.seq += 1
        metrics.DELTAS.inc()
        if self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
            metrics.FIRST_DELTA_SECONDS.observe(self.first_delta_at - self.started)
        frame = {"type": "delta", "turn": self.turn_id, "seq": self.seq, "index": index}
        await broadcast(self.group, {**frame, "delta": {"type": delta["type"], "text": text}})

    async def _publish_step(self, index: int) -> None:
        self.open_steps.discard(index)
        steps = self.steps()
        if index >= len(steps):
            return
        self.seq += 1
        parts = render_steps([steps[index]])
        html = render_step({"index": index, "type": steps[index].get("type"), "parts": parts})
        frame = {"type": "step", "turn": self.turn_id, "seq": self.seq, "index": index}
        await broadcast(self.group, {**frame, "html": html})

    # --- tools ---

    def _pending_calls(self) -> list[dict[str, Any]]:
        answered = {s.get("call_id") for s in self.acc.steps if s.get("type") == "function_result"}
        return [
            s
            for s in self.acc.steps
            if s.get("type") == "function_call" and s.get("id") not in answered
        ]

    async def _run_tool(self, call: dict[str, Any]) -> dict[str, Any]:
        from .tools import function_result_step, run_tool

        result, is_error = await run_tool(str(call.get("name")), call.get("arguments") or {})
        return function_result_step(call, result, is_error)

    def _next_round(self, results: list[dict[str, Any]]) -> None:
        """Keep this round's steps and the tool results; the next call starts a new fold."""
        self.usage = sum_usage(self.usage, self.acc.data.get("usage"))
        self.prefix = self.steps() + results
        last_event_id = self.acc.last_event_id
        self.acc = Accumulator()
        self.acc.last_event_id = last_event_id

    # --- the end ---

    async def _finish(self, status: str, error: dict[str, Any] | None) -> None:
        snapshot = self.acc.snapshot()
        steps = self.steps()
        fields: dict[str, Any] = {
            "status": status,
            "steps": steps,
            "answer_text": plain_text(steps),
            "usage": sum_usage(self.usage, snapshot.get("usage")),
            "error": error,
            "last_event_id": self.acc.last_event_id or "",
            "finished": timezone.now(),
            "heartbeat": None,
        }
        if snapshot.get("id"):
            fields["interaction_id"] = snapshot["id"]
        turn = self.turn or await Turn.objects.select_related("conversation").aget(pk=self.turn_id)
        conversation = turn.conversation
        if conversation.response_schema and status == Turn.Status.COMPLETED:
            from .structured import check_answer

            check = check_answer(fields["answer_text"], conversation.response_schema)
            fields["structured"] = {"valid": check["valid"], "errors": check["errors"]}
        await Turn.objects.filter(pk=self.turn_id).aupdate(**fields)
        self._log_outcome(conversation, status, fields["usage"], error)
        updates: dict[str, Any] = {"updated": timezone.now(), "unseen": conversation.background}
        if snapshot.get("environment_id"):
            updates["environment_id"] = snapshot["environment_id"]
        await Conversation.objects.filter(pk=self.conversation_id).aupdate(**updates)
        turn = await Turn.objects.select_related("conversation").aget(pk=self.turn_id)
        siblings = [
            t
            async for t in Turn.objects.filter(
                conversation_id=turn.conversation_id, parent_id=turn.parent_id
            ).order_by("created", "pk")
        ]
        self.open_steps.clear()
        payload = await sync_to_async(turn_payload)(turn, siblings)
        await broadcast(self.group, {"type": "turn", "seq": FINAL_SEQ, "turn": payload})
        if conversation.background:
            await broadcast(
                f"user.{conversation.owner_id}",
                {
                    "type": "notify",
                    "conversation": conversation.pk,
                    "title": conversation.title or "New chat",
                    "status": status,
                    "url": conversation.get_absolute_url(),
                },
            )

    def _log_outcome(
        self,
        conversation: Conversation,
        status: str,
        usage: dict[str, Any] | None,
        error: dict[str, Any] | None,
    ) -> None:
        """One structured line per generation: who, where, how much, how it ended; no text."""
        metrics.GENERATIONS.labels(outcome=status).inc()
        log.info(
            "generation finished",
            extra={
                "event": "generation",
                "user": conversation.owner_id,
                "conversation": conversation.pk,
                "turn": self.turn_id,
                "model": conversation.model,
                "tokens": (usage or {}).get("total_tokens"),
                "duration_ms": round((time.monotonic() - self.started) * 1000),
                "first_delta_ms": None
                if self.first_delta_at is None
                else round((self.first_delta_at - self.started) * 1000),
                "outcome": status,
                "error": (error or {}).get("code"),
            },
        )

    async def _heartbeat(self) -> None:
        # Well inside the staleness limit, or another worker would take a live turn over.
        interval = min(HEARTBEAT_SECONDS, max(0.2, settings.CHAT_RECOVERY_STALE_SECONDS / 4))
        while True:
            await asyncio.sleep(interval)
            await Turn.objects.filter(pk=self.turn_id).aupdate(heartbeat=timezone.now())

    async def _path(self, turn: Turn) -> list[Turn]:
        turns = [t async for t in Turn.objects.filter(conversation_id=turn.conversation_id)]
        return Tree.of(turns).path_to(next(t for t in turns if t.pk == turn.pk))

    def _upstream_failure(self) -> str:
        errors = self.acc.data.get("errors") or []
        message = errors[0].get("message") if errors and isinstance(errors[0], dict) else None
        if message:
            return f"Gemini could not finish this answer: {message}"
        return "Gemini could not finish this answer."
