"""A worker asked to stop (SIGTERM, Ctrl-C) drains before it exits: a rolling restart loses
no answer.

Daphne closes the worker's sockets at once (the pages reconnect, to another worker behind the
proxy) while this drain runs beside it, as a Twisted "before shutdown" trigger that the
reactor waits for:

1. From the signal on, the worker takes no new sockets and `/readyz` says 503, so the proxy
   and the pages go elsewhere.
2. Running generations get CHAT_SHUTDOWN_GRACE_SECONDS to finish (their frames still reach
   the pages on other workers through Redis).
3. Those still running then are handed over: stopped without a word, their last writes
   awaited, their turns released (no worker, no heartbeat) for another worker's recovery,
   which is asked to look at once. It re-attaches to the upstream stream where the saved
   answer ends, as after a crash, only without waiting for the heartbeat to go stale.
4. The frames published so far are flushed to Redis.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from django.conf import settings

from . import delivery, workers
from .models import Turn

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
_draining = False


def draining() -> bool:
    return _draining


def install() -> None:
    """Run `drain` before Daphne's reactor shuts down (only under Daphne, which installs its
    reactor before it loads the application: importing it elsewhere would install another)."""
    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor

    # Twisted types the reactor by its zope interface, whose methods are declared without
    # `self`: mypy reads "before" as self and shifts every argument by one.
    reactor.addSystemEventTrigger("before", "shutdown", _drain_deferred)  # type: ignore[arg-type]


def _drain_deferred() -> Any:
    from twisted.internet import defer

    future = asyncio.ensure_future(drain(settings.CHAT_SHUTDOWN_GRACE_SECONDS))
    deferred = defer.Deferred.fromFuture(future)
    deferred.addErrback(lambda failure: log.error("drain failed: %s", failure.value))
    return deferred


async def drain(grace: float) -> None:
    global _draining
    _draining = True
    running = workers.all_running()
    if running:
        log.info("stopping: waiting up to %.0fs for %d answer(s)", grace, len(running))
        tasks = [g.task for g in running if g.task is not None]
        await asyncio.wait(tasks, timeout=grace)
        left = [g for g in running if g.task is not None and not g.task.done()]
        if left:
            await hand_over(left)
    try:
        async with asyncio.timeout(FLUSH_SECONDS):
            await delivery.flush()
    except TimeoutError:
        log.warning("stopping: some frames did not reach Redis")


async def hand_over(generations: list[Any]) -> None:
    """Stop these generations here and leave their turns to another worker."""
    for generation in generations:
        generation.taken_over = True  # stops without writing an ending
        generation.task.cancel()
    await asyncio.gather(*(g.task for g in generations), return_exceptions=True)
    for generation in generations:
        await generation.writes.done()  # the released turn holds everything saved so far
    ids = [g.turn_id for g in generations]
    released = await Turn.objects.filter(
        pk__in=ids, worker=await workers.channel(), status__in=Turn.ACTIVE
    ).aupdate(worker="", heartbeat=None)
    log.info("stopping: handed over %d answer(s) to the other workers", released)
    await workers.ask_all_to_recover()
