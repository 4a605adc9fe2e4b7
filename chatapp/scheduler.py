"""The scheduler: every worker looks for due scheduled prompts now and again and starts
them, with no browser open. A run is claimed by moving the schedule's `next_run` with a
compare-and-set update, so it happens exactly once however many workers look, and nothing
is lost in a restart (the times are in the database)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from . import relay, schedules, turns, workers
from .db_retry import every
from .languages import as_owner
from .models import Conversation, Schedule
from .protocol import ClientError, Send

_started = False


async def run_due(now: datetime | None = None) -> list[int]:
    """Claim and start every due run; the ids of the schedules this worker ran."""
    now = now or timezone.now()
    ran: list[int] = []
    due = (
        Schedule.objects.filter(paused=False, next_run__lte=now)
        # An agent's schedules run as API triggers (chatapp.agent_triggers).
        .exclude(conversation__model__in=settings.CHAT_MODELS["Agents"])
        .select_related("conversation__owner")
    )
    async for schedule in due:
        following = schedules.next_run(schedule, max(now, schedule.next_run or now))
        won = await Schedule.objects.filter(
            pk=schedule.pk, next_run=schedule.next_run, paused=False
        ).aupdate(next_run=following, last_run=now)
        if won:
            await as_owner(schedule.conversation_id, _fire(schedule))  # in the owner's language
            ran.append(schedule.pk)
    return ran


async def _fire(schedule: Schedule) -> None:
    conversation = schedule.conversation
    owner = conversation.owner
    if not owner.is_active:
        await schedules.failed(schedule, gettext("Its owner's account is deactivated."))
        return
    leaf = conversation.current_turn_id or await _last_turn(conversation)
    frame = Send(type="send", conversation=conversation.pk, parent=leaf, text=schedule.prompt)
    try:
        with workers.reserving(conversation.pk):
            started = await sync_to_async(turns.send)(owner, frame, await workers.channel())
            relay.start(started)
    except workers.ConversationBusy:
        await schedules.failed(
            schedule, gettext("An answer was still being written in the conversation.")
        )
        return
    except ClientError as error:
        await schedules.failed(schedule, error.message)
        return
    schedules.running[started.turn.pk] = schedule.pk
    await Schedule.objects.filter(pk=schedule.pk).aupdate(last_turn=started.turn)


async def _last_turn(conversation: Conversation) -> int | None:
    last = await conversation.turns.order_by("-pk").values_list("pk", flat=True).afirst()
    return int(last) if last is not None else None


def ensure_started() -> None:
    """Start this worker's scheduler once, from inside its event loop."""
    global _started
    interval = settings.CHAT_SCHEDULE_INTERVAL_SECONDS
    if _started or interval <= 0:
        return
    _started = True
    loop = every(interval, run_due, "scheduled prompts", asyncio.Event())
    asyncio.get_running_loop().create_task(loop, name="scheduled-prompts")
