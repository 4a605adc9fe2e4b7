"""Scheduled prompts: when each runs next, and what a run's end means (the unseen dot, a
notification, failures counted with their reason; MAX_FAILURES in a row pause the schedule).
The runs themselves are started by `chatapp.scheduler`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext

from . import frames
from .models import Conversation, Schedule, Turn

log = logging.getLogger(__name__)

MAX_FAILURES = 3
# turn id -> schedule id, for the runs this worker started (`chatapp.scheduler`)
running: dict[int, int] = {}


def next_run(schedule: Schedule, after: datetime) -> datetime | None:
    """The first run strictly after `after` (UTC), or None when there is none."""
    kind = schedule.kind
    if kind == Schedule.Kind.ONCE:
        return schedule.at if schedule.at > after else None
    zone = ZoneInfo(schedule.time_zone)
    if kind == Schedule.Kind.CRON:
        from croniter import croniter

        found: datetime = croniter(schedule.cron, after.astimezone(zone)).get_next(datetime)
        return found.astimezone(UTC)
    at = schedule.at.astimezone(zone)
    day = after.astimezone(zone).date()
    for offset in range(8):
        date = day + timedelta(days=offset)
        candidate = datetime.combine(date, at.time().replace(tzinfo=None), tzinfo=zone)
        if candidate <= after:
            continue
        if kind == Schedule.Kind.WEEKDAYS and date.weekday() >= 5:
            continue
        if kind == Schedule.Kind.WEEKLY and date.weekday() != at.weekday():
            continue
        return candidate.astimezone(UTC)
    return None


def valid_cron(expression: str) -> bool:
    from croniter import croniter

    return bool(expression.strip()) and croniter.is_valid(expression)


async def failed(schedule: Schedule, reason: str) -> None:
    failures = schedule.failures + 1
    await Schedule.objects.filter(pk=schedule.pk).aupdate(
        failures=failures, last_error=reason, paused=failures >= MAX_FAILURES
    )
    schedule.failures = failures
    log.info("schedule %s failed (%s in a row): %s", schedule.pk, failures, reason)


async def after_run(conversation: Conversation, turn: Turn) -> None:
    """A scheduled run ended: mark the conversation unseen, notify, and count failures."""
    schedule_id = running.pop(turn.pk, None)
    if schedule_id is None:
        return
    schedule = await Schedule.objects.filter(pk=schedule_id).afirst()
    if schedule is None:
        return
    if turn.status == Turn.Status.COMPLETED:
        await Schedule.objects.filter(pk=schedule_id).aupdate(failures=0, last_error="")
    else:
        message = (turn.error or {}).get("message") or gettext("The answer ended %s.") % turn.status
        await failed(schedule, str(message))
    await Conversation.objects.filter(pk=conversation.pk).aupdate(unseen=True)
    conversation.unseen = True
    await frames.notify(conversation, str(turn.status))


def describe(schedule: Schedule) -> dict[str, Any]:
    """What the schedules page shows of one schedule."""
    return {
        "schedule": schedule,
        "next": schedule.next_run.astimezone(ZoneInfo(schedule.time_zone))
        if schedule.next_run and not schedule.paused
        else None,
    }
