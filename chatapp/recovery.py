"""Crash recovery: turns left active by a worker that died are taken over, once each.

Every live generation refreshes its turn's heartbeat. A turn still active whose heartbeat
went quiet belonged to a dead worker; each worker looks for such turns at start-up and then
now and again, and claims one with a compare-and-set update, so only one worker recovers it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import relay, shutdown, workers
from .db_retry import every
from .models import Turn

log = logging.getLogger(__name__)

_started = False


def _orphans(stale_after: float) -> Q:
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    return Q(status__in=Turn.ACTIVE) & (Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True))


async def recover_orphans(stale_after: float | None = None) -> list[int]:
    """Claim and resume every orphaned turn; returns the ids this worker took."""
    stale = settings.CHAT_RECOVERY_STALE_SECONDS if stale_after is None else stale_after
    claimed: list[int] = []
    if shutdown.draining():
        return claimed  # this worker is handing its own turns over
    worker = await workers.channel()
    orphans = Turn.objects.filter(_orphans(stale)).select_related("conversation").order_by("pk")
    async for turn in orphans:
        if workers.running(turn.pk):
            continue
        won = await Turn.objects.filter(Q(pk=turn.pk) & _orphans(stale)).aupdate(
            worker=worker, heartbeat=timezone.now()
        )
        if won:
            log.info("recovering turn %s left by %s", turn.pk, turn.worker or "an unknown worker")
            relay.resume(turn)
            claimed.append(turn.pk)
    return claimed


async def _loop(interval: float) -> None:
    wake = asyncio.Event()
    # Another worker handing its turns over (a rolling restart) asks for a pass now.
    workers.on_recovery_request(wake.set)
    await workers.channel()  # listen to the other workers from the start
    await every(interval, recover_orphans, "crash recovery", wake)


def ensure_started() -> None:
    """Start this worker's recovery loop once, from inside its event loop."""
    global _started
    interval = settings.CHAT_RECOVERY_INTERVAL_SECONDS
    if _started or interval <= 0:
        return
    _started = True
    asyncio.get_running_loop().create_task(_loop(interval), name="crash-recovery")
