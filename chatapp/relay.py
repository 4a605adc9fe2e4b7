"""Generations: one turn's upstream calls, from the prepared request to the saved answer.

A Generation runs as an asyncio task that does not depend on any socket: closing a tab does
not stop it; Stop cancels it. It folds every upstream call of the turn (continuation hops and
tool rounds alike) into one `Accumulator`, publishes each streamed delta as a numbered frame
(`chatapp.frames`, delivered by `chatapp.delivery`), and writes the turn to the database once
per finished step, in order and off the stream's path, and once at the end. It knows the client
and the frames module; it renders no HTML and no template.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from interactions_client import (
    Accumulator,
    InteractionsError,
    NotFoundError,
    PermissionDeniedError,
    StreamEvent,
)

from . import delivery, frames, metrics, remote_files, tracing, turn_hooks, turns, upstream, workers
from .agent_env import learn_environment
from .background import recovered, wait_background
from .db_retry import with_retries
from .errors import TooManyRounds, Unrecoverable, describe, error_label, outcome
from .history import continuation_request
from .languages import as_owner
from .logs import log_generation
from .media import save_generated
from .models import Conversation, Turn
from .rendering import plain_text
from .thinking_time import ThinkingClock
from .turns import Started

log = logging.getLogger(__name__)

RUNNING = frozenset({"queued", "in_progress"})


def start(started: Started) -> Generation:
    """Run a prepared turn (from the turns service); its first frame resets it on every tab."""
    generation = Generation(started.turn, started.siblings)
    generation.started_turn = started
    return _run(generation)


def resume(turn: Turn) -> Generation:
    """Take over a turn whose worker died (crash recovery)."""
    return _run(Generation(turn, None, resume=True))


def _run(generation: Generation) -> Generation:
    attributes = tracing.turn_attributes(generation.turn, resume=generation.resume)
    run = as_owner(generation.conversation_id, generation.run())  # the owner's language
    run = tracing.traced("chat.generation", run, attributes)
    generation.task = asyncio.create_task(run, name=f"generation-{generation.turn_id}")
    workers.register(generation.turn_id, generation)
    return generation


class Generation:
    def __init__(self, turn: Turn, siblings: list[Turn] | None, *, resume: bool = False) -> None:
        self.turn = turn
        self.turn_id = turn.pk
        self.conversation_id = turn.conversation_id
        self.siblings = siblings
        self.resume = resume
        self.started_turn: Started | None = None
        self.seq = 0
        self.acc = Accumulator()
        self.open_steps: set[int] = set()
        self.task: asyncio.Task[None] | None = None
        self.started = time.monotonic()
        self.first_delta_at: float | None = None
        self.writes = turns.Writes(turn.pk)
        self.taken_over = False  # set by `workers` when another worker took the turn
        self.wake = asyncio.Event()  # set when a webhook says the background interaction ended
        self.thinking = ThinkingClock((turn.thinking_ms or 0) if resume else 0)

    # --- frames ---

    def snapshot(self) -> frames.Frame:
        """Everything so far at the current seq, for one socket that subscribes mid-stream."""
        return self._turn_frame("snapshot")

    def _turn_frame(self, flags: str) -> frames.Frame:
        # A copy: the fold goes on while the frame renders in a thread.
        steps = copy.deepcopy(self.acc.steps)
        return frames.turn_frame(
            self.turn,
            self.siblings or [self.turn],
            self.seq,
            flags=flags,
            steps=steps,
            open_steps=set(self.open_steps),
        )

    # --- the run ---

    async def run(self) -> None:
        status, error_info = Turn.Status.FAILED, None
        try:
            if self.resume:
                await self._reattach()
            else:
                await self._generate()
            status, error_info = outcome(self.acc)
        except asyncio.CancelledError:
            if self.taken_over:
                return  # another worker runs this turn now: leave it to that one
            status = Turn.Status.STOPPED
            await self._cancel_background()
        except InteractionsError as exc:
            log.warning("generation %s failed: %r", self.turn_id, exc)
            error_info = describe(exc)
            metrics.UPSTREAM_ERRORS.labels(status=error_label(exc)).inc()
        except Exception as exc:  # the turn must end whatever happened
            log.exception("generation %s crashed", self.turn_id)
            error_info = describe(exc)
        await self._finish(status, error_info)

    async def _generate(self) -> None:
        started = self.started_turn
        assert started is not None
        delivery.publish(self._turn_frame("reset"))
        self.turn.status = Turn.Status.IN_PROGRESS
        await self._status()
        client = upstream.client(self.turn_id)
        request = await remote_files.ready(started, client, self._status)
        try:
            await self._call(request)
        except (NotFoundError, PermissionDeniedError) as exc:
            if self.acc.last_event_id:
                raise
            # The chained interaction or a file expired upstream: replay from our copy.
            request = await remote_files.replay(exc, request, started, client, self._status)
            log.info("turn %s: %r upstream, history replayed", self.turn_id, exc)
            self.acc = Accumulator()
            await self._call(request)
        await self._tool_rounds(started)
        await learn_environment(self.turn.conversation, self.acc, self.turn_id)

    async def _status(self, detail: str = "") -> None:
        self.seq += 1
        where = (self.conversation_id, self.turn_id, self.seq)
        delivery.publish(frames.status_frame(*where, "in_progress", detail))

    async def _tool_rounds(self, started: Started) -> None:
        from .tools import function_result_step, run_tool

        rounds = 0
        while self.acc.data.get("status") == "requires_action":
            calls = self._pending_calls()
            if not calls:
                return
            rounds += 1
            if rounds > settings.TOOL_MAX_ROUNDS:
                raise TooManyRounds(
                    f"Stopped after {settings.TOOL_MAX_ROUNDS} rounds of tool calls."
                )
            results = []
            enabled = started.conversation.tools
            for call in calls:
                result, is_error = await run_tool(
                    str(call.get("name")), call.get("arguments") or {}, enabled=enabled
                )
                results.append(function_result_step(call, result, is_error))
            previous = copy.deepcopy(self.acc.steps)
            interaction_id = self.acc.data.get("id")
            self.acc.begin_round(results)
            for index in range(len(self.acc.steps) - len(results), len(self.acc.steps)):
                self._publish_step(index)
            request = await sync_to_async(continuation_request)(
                self.turn.conversation,
                started.path,
                previous,
                results,
                interaction_id,
                started.expand,
            )
            await self._call(request)

    async def _call(self, request: dict[str, Any]) -> None:
        api = upstream.client(self.turn_id).interactions
        with tracing.tracer.start_as_current_span("gemini.interaction") as span:
            if request.get("background"):
                await self._background(request)
            else:
                await self._consume(await api.create(stream=True, accumulator=self.acc, **request))
            tracing.set_attributes(span, **{"gemini.interaction": self.acc.data.get("id")})

    async def _background(self, request: dict[str, Any]) -> None:
        """Start a background interaction, then follow its stream, or poll until it is done."""
        api = upstream.client(self.turn_id).interactions
        started = await api.create(**request)
        self.acc.feed_interaction(started)
        self.writes.save(interaction_id=started.id or "")
        if started.status not in RUNNING or not started.id:
            return
        try:
            await self._consume(await api.get(started.id, stream=True, accumulator=self.acc))
            if self.acc.data.get("status") not in RUNNING:
                return
        except InteractionsError as exc:
            log.info("turn %s: background stream unavailable (%r), polling", self.turn_id, exc)
        finished = await wait_background(api, started.id, self.wake)
        self.acc.feed_interaction(finished)
        for index in range(self.acc.round_start, len(self.acc.steps)):
            self._publish_step(index)

    async def _cancel_background(self) -> None:
        interaction_id = self.acc.data.get("id")
        if (
            interaction_id
            and self.acc.data.get("status") in RUNNING
            and self.turn.conversation.background
        ):
            try:
                await asyncio.shield(
                    upstream.client(self.turn_id).interactions.cancel(interaction_id)
                )
            except InteractionsError:
                pass

    async def _reattach(self) -> None:
        """Recovery after a dead worker: re-attach to the upstream stream, else fetch it whole."""
        turn = self.turn
        self.siblings = await sync_to_async(turns.siblings)(turn)
        # The last call of the turn starts after its last tool results (its round).
        last_round = max(
            (i + 1 for i, s in enumerate(turn.steps) if s.get("type") == "function_result"),
            default=0,
        )
        cursor = turn.last_event_id or None
        kept = turn.steps if cursor else turn.steps[:last_round]
        self.acc.restore({"id": turn.interaction_id, "steps": kept}, cursor, round_start=last_round)
        # Tabs had the dead worker's frames: this run starts again from this snapshot.
        delivery.publish(self._turn_frame("reset"))
        if not (turn.interaction_id and turn.stored):
            raise Unrecoverable
        self.writes.save(worker=await workers.channel())
        api = upstream.client(self.turn_id).interactions
        try:
            stream = await api.get(
                turn.interaction_id, stream=True, last_event_id=cursor, accumulator=self.acc
            )
        except InteractionsError:
            try:
                interaction = await recovered(api, turn, self.wake)
            except NotFoundError:
                # The upstream no longer knows it (e.g. the built-in simulator died too).
                raise Unrecoverable from None
            self.acc.restore({"steps": turn.steps[:last_round]}, cursor, round_start=last_round)
            self.acc.feed_interaction(interaction)
            return
        await self._consume(stream)

    # --- the stream ---

    async def _consume(self, stream: Any) -> None:
        async with stream:
            async for event in self.thinking.watch(stream):
                self._on_event(event)
                if event.event_type == "step.stop" and event.index is not None:
                    await self._on_step_stop(self.acc.position(event.index))

    def _on_event(self, event: StreamEvent) -> None:
        kind: str | None = event.event_type
        if kind == "interaction.created" and event.interaction and event.interaction.id:
            self.writes.save(interaction_id=event.interaction.id, status=Turn.Status.IN_PROGRESS)
        elif kind == "step.start" and event.index is not None:
            self.open_steps.add(self.acc.position(event.index))
        elif kind == "step.delta" and event.index is not None and event.delta is not None:
            kind = getattr(event.delta, "type", "")
            item = event.delta if kind == "text" else getattr(event.delta, "content", None)
            text = getattr(item, "text", None) if kind in ("text", "thought_summary") else None
            if text:
                self._on_text(self.acc.position(event.index), kind, text)

    def _on_text(self, index: int, kind: str, text: str) -> None:
        self.seq += 1
        metrics.DELTAS.inc()
        if self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
            metrics.FIRST_DELTA_SECONDS.observe(self.first_delta_at - self.started)
        frame = frames.delta_frame(
            self.conversation_id, self.turn_id, self.seq, self.acc.steps, index, kind, text
        )
        delivery.publish(frame)

    async def _on_step_stop(self, index: int) -> None:
        if index < len(self.acc.steps):
            step = self.acc.steps[index]
            if any(i.get("data") for i in step.get("content") or [] if isinstance(i, dict)):
                self.acc.steps[index] = await sync_to_async(save_generated)(self.turn, step)
        self._publish_step(index)
        self.writes.save(
            steps=copy.deepcopy(self.acc.steps),
            last_event_id=self.acc.last_event_id or "",
            heartbeat=timezone.now(),
        )

    def _publish_step(self, index: int) -> None:
        self.open_steps.discard(index)
        if index >= len(self.acc.steps):
            return
        self.seq += 1
        steps = copy.deepcopy(self.acc.steps)  # it renders in a thread while the fold goes on
        delivery.publish(
            frames.step_frame(self.conversation_id, self.turn_id, self.seq, steps, index)
        )

    def _pending_calls(self) -> list[dict[str, Any]]:
        steps = self.acc.steps
        answered = {s.get("call_id") for s in steps if s.get("type") == "function_result"}
        return [
            s for s in steps if s.get("type") == "function_call" and s.get("id") not in answered
        ]

    # --- the end ---

    async def _finish(self, status: str, error_info: dict[str, Any] | None) -> None:
        snapshot = self.acc.snapshot()
        tracing.outcome(status, snapshot.get("usage"), error_info)
        steps = snapshot["steps"]
        fields: dict[str, Any] = {
            "status": status,
            "steps": steps,
            "answer_text": plain_text(steps),
            "usage": snapshot.get("usage"),
            "error": error_info,
            "thinking_ms": self.thinking.ms or None,
            "last_event_id": self.acc.last_event_id or "",
            "finished": timezone.now(),
            "heartbeat": None,
        }
        if snapshot.get("id"):
            fields["interaction_id"] = snapshot["id"]
        conversation = self.turn.conversation
        if conversation.response_schema and status == Turn.Status.COMPLETED:
            from .structured import check_answer

            check = check_answer(fields["answer_text"], conversation.response_schema)
            fields["structured"] = {"valid": check["valid"], "errors": check["errors"]}
        await self.writes.done()
        await with_retries(
            lambda: Turn.objects.filter(pk=self.turn_id).aupdate(**fields),
            f"finishing turn {self.turn_id}",
        )
        first_delta = None if self.first_delta_at is None else self.first_delta_at - self.started
        log_generation(
            conversation,
            self.turn_id,
            status,
            fields["usage"],
            error_info,
            duration=time.monotonic() - self.started,
            first_delta=first_delta,
        )
        updates: dict[str, Any] = {"updated": timezone.now(), "unseen": conversation.background}
        if snapshot.get("environment_id"):
            updates["environment_id"] = snapshot["environment_id"]
        await with_retries(
            lambda: Conversation.objects.filter(pk=self.conversation_id).aupdate(**updates),
            f"updating conversation {self.conversation_id}",
        )
        for name, value in fields.items():
            setattr(self.turn, name, value)
        if self.siblings is None:
            self.siblings = await with_retries(
                lambda: sync_to_async(turns.siblings)(self.turn), "reading siblings"
            )
        self.open_steps.clear()
        self.seq += 1
        delivery.publish(frames.turn_frame(self.turn, self.siblings, self.seq, flags="final"))
        if conversation.background:
            await frames.notify(conversation, status)
        await turn_hooks.finished(conversation, self.turn)
