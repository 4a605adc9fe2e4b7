"""This worker's running generations, the reservation of a conversation, and requests
between workers (a snapshot for a socket connected elsewhere, Stop, a webhook's wake).

Requests travel on the channel layer to a channel per worker (named `...relay.<id>`), which is
recorded in `Turn.worker` while a generation runs; answers travel as frames (`delivery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone, translation

from . import delivery, metrics, streams
from .backoff import pause_after_failure
from .db_retry import forget_broken_connections
from .frames import Frame
from .languages import supported
from .models import Turn

log = logging.getLogger(__name__)

# This process, as the delivery streams name it too (defined there: delivery imports nothing
# from here).
WORKER_ID = streams.WORKER_ID


class Running(Protocol):
    conversation_id: int
    task: asyncio.Task[None] | None
    taken_over: bool

    def snapshot(self) -> Frame: ...


_generations: dict[int, Running] = {}
# Conversations whose next turn is being created right now (see `reserving`).
_reserved: set[int] = set()
_channel: str | None = None
_opening: asyncio.Task[None] | None = None
CHANNEL_PREFIX = "relay."
# Every worker's channel is in this group: a worker that hands turns over asks all to recover.
WORKERS_GROUP = "relay.workers"
_recovery_hook: Callable[[], None] | None = None
_beating: asyncio.Task[None] | None = None
HEARTBEAT_SECONDS = 5.0


def running(turn_id: int) -> Running | None:
    return _generations.get(turn_id)


def all_running() -> list[Running]:
    return list(_generations.values())


def running_in(conversation_id: int) -> list[Running]:
    return [g for g in _generations.values() if g.conversation_id == conversation_id]


def register(turn_id: int, generation: Running) -> None:
    global _beating
    _generations[turn_id] = generation
    metrics.ACTIVE_GENERATIONS.inc()
    assert generation.task is not None
    generation.task.add_done_callback(lambda task: _forget(turn_id, task))
    loop = asyncio.get_running_loop()
    if _beating is None or _beating.done() or _beating.get_loop() is not loop:
        _beating = loop.create_task(_heartbeats(), name="heartbeats")


async def _heartbeats() -> None:
    """Show that this worker's generations are alive: one query for all of them.

    A turn another worker took over (this one stalled past the staleness limit) is no
    longer this worker's: its generation stops at once, saving and sending nothing more.
    """
    interval = min(HEARTBEAT_SECONDS, max(0.2, settings.CHAT_RECOVERY_STALE_SECONDS / 4))
    while True:
        await asyncio.sleep(interval)
        ids = list(_generations)
        if not ids:
            continue
        try:
            lost = await sync_to_async(_beat)(ids, await channel())
        except Exception as exc:  # a database hiccup: the next beat tries again
            log.warning("heartbeat failed: %s", exc)
            await forget_broken_connections()
            continue
        for turn_id in lost:
            generation = _generations.get(turn_id)
            if generation is not None and generation.task is not None:
                log.warning("turn %s was taken over by another worker: stopping here", turn_id)
                generation.taken_over = True
                generation.task.cancel()


def _beat(ids: list[int], worker: str) -> list[int]:
    """Refresh the heartbeat of these turns where this worker still owns them; the rest."""
    mine = Turn.objects.filter(pk__in=ids, worker=worker, status__in=Turn.ACTIVE)
    mine.update(heartbeat=timezone.now())
    owned = set(mine.values_list("pk", flat=True))
    taken = Turn.objects.filter(pk__in=ids, status__in=Turn.ACTIVE).exclude(worker=worker)
    return [pk for pk in taken.values_list("pk", flat=True) if pk not in owned]


def _forget(turn_id: int, task: asyncio.Task[None]) -> None:
    # A retry may already have registered a new generation for this turn: keep that one.
    if (current := _generations.get(turn_id)) is not None and current.task is task:
        del _generations[turn_id]
    metrics.ACTIVE_GENERATIONS.dec()
    if not task.cancelled() and task.exception() is not None:
        log.error("generation %s crashed", turn_id, exc_info=task.exception())


def stop(turn_id: int) -> bool:
    generation = _generations.get(turn_id)
    if generation is None or generation.task is None:
        return False
    generation.task.cancel()
    return True


class ConversationBusy(Exception):
    """An answer is already being written in this conversation."""


def busy(conversation_id: int) -> bool:
    return conversation_id in _reserved or bool(running_in(conversation_id))


@contextlib.contextmanager
def reserving(conversation_id: int) -> Iterator[None]:
    """Hold a conversation while its next turn is created and started.

    The check and the hold happen with no await between them, so two messages racing in one
    conversation on this worker cannot both pass; the turns service checks other workers.
    """
    if busy(conversation_id):
        raise ConversationBusy
    _reserved.add(conversation_id)
    try:
        yield
    finally:
        _reserved.discard(conversation_id)


# --- requests between workers ---


async def channel() -> str:
    """This worker's address on the channel layer, listened to from first use."""
    global _channel, _opening
    layer = get_channel_layer()
    if layer is None:
        return WORKER_ID
    if _channel is None:
        if _opening is None or _opening.get_loop() is not asyncio.get_running_loop():
            _opening = asyncio.get_running_loop().create_task(_open(layer))
        await asyncio.shield(_opening)
    assert _channel is not None
    return _channel


async def _open(layer: Any) -> None:
    """A channel of the layer's own making (the pub/sub layer subscribes to it at once, and
    only such channels may join groups), with its listener."""
    global _channel
    name = await layer.new_channel(CHANNEL_PREFIX)
    asyncio.get_running_loop().create_task(_listen(name), name="worker-listener")
    _channel = name


async def _listen(name: str) -> None:
    """Answer other workers about the generations this one runs."""
    layer = get_channel_layer()
    failures = 0
    joined = False
    while True:
        try:
            if not joined:
                await layer.group_add(WORKERS_GROUP, name)
                joined = True
            message = await layer.receive(name)
            failures = 0
            if message.get("type") == "relay.recover":
                if _recovery_hook is not None:
                    _recovery_hook()
                continue
            generation = running(int(message.get("turn", 0)))
            if generation is None:
                continue
            if message.get("type") == "relay.stop" and generation.task:
                generation.task.cancel()
            elif message.get("type") == "relay.snapshot":
                # In the asking socket's language, not this worker's default.
                language = supported(message.get("language")) or settings.LANGUAGE_CODE
                with translation.override(language):
                    delivery.send_to(str(message["reply"]), generation.snapshot())
            elif message.get("type") == "relay.wake" and hasattr(generation, "wake"):
                generation.wake.set()  # a webhook said its background interaction ended
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad message, or Redis away for a moment: wait and go on
            failures += 1
            await pause_after_failure(failures, "the worker listener")


async def ask(turn: Turn, message: dict[str, Any]) -> bool:
    """Send a request to the worker that runs `turn`; False when no other worker is known."""
    layer = get_channel_layer()
    if layer is None or CHANNEL_PREFIX not in turn.worker or turn.worker == _channel:
        return False
    try:
        await layer.send(turn.worker, {**message, "turn": turn.pk})
    except Exception as exc:  # Redis away: the caller does without (a snapshot from the DB)
        log.warning("asking %s failed: %s", turn.worker, exc)
        return False
    return True


def on_recovery_request(hook: Callable[[], None]) -> None:
    """What to do when a worker asks all to look for turns to recover (`chatapp.recovery`)."""
    global _recovery_hook
    _recovery_hook = hook


async def ask_all_to_recover() -> None:
    """Ask every worker to look for released or orphaned turns now."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(WORKERS_GROUP, {"type": "relay.recover"})
