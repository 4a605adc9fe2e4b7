"""Schedules of agent conversations run by the API's triggers, not by the app's scheduler.

Saving, pausing, resuming or deleting such a schedule creates, pauses, resumes or deletes
its API trigger (`client.triggers`; a trigger's schedule cannot be edited, so an edit makes
a new one). Each worker looks for finished executions now and again (at once when a webhook
names an interaction it does not know) and lands each one once (a `TriggerRun` row with the
execution's unique id) as an answer in the conversation: the report, or the failure with its
reason, with the unseen dot and a notification. Everything is in the database, so restarts
lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from zoneinfo import ZoneInfo

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext

from interactions_client import InteractionsError, NotFoundError
from interactions_client.types.automation import TriggerExecution

from . import delivery, frames, schedules, turns, upstream
from .db_retry import every
from .history import is_agent, settings_fields
from .models import AgentTrigger, Conversation, Schedule, TriggerRun, Turn
from .rendering import plain_text

log = logging.getLogger(__name__)

ENDED = frozenset({"completed", "failed", "timed_out"})
_look: asyncio.Event | None = None
_started = False


def uses_trigger(schedule: Schedule) -> bool:
    return is_agent(schedule.conversation)


def cron_of(schedule: Schedule) -> str:
    """The schedule as a cron expression in its own time zone (what a trigger takes)."""
    if schedule.kind == Schedule.Kind.CRON:
        return schedule.cron
    local = schedule.at.astimezone(ZoneInfo(schedule.time_zone))
    day = {
        Schedule.Kind.DAILY: "* * *",
        Schedule.Kind.WEEKDAYS: "* * 1-5",
        Schedule.Kind.WEEKLY: f"* * {local.isoweekday() % 7}",
        Schedule.Kind.ONCE: f"{local.day} {local.month} *",  # its trigger goes after one run
    }[Schedule.Kind(schedule.kind)]
    return f"{local.minute} {local.hour} {day}"


def interaction_body(schedule: Schedule) -> dict[str, Any]:
    """What each run sends: the conversation's agent settings and the prompt."""
    conversation = schedule.conversation
    fields = settings_fields(conversation)
    for unused in ("background", "store"):  # every run is a stored background interaction
        fields.pop(unused, None)
    if conversation.model.startswith("deep-research"):
        fields.pop("environment", None)
        # Nobody is there to confirm a plan: a scheduled research runs straight away.
        fields["agent_config"] = {
            "type": "deep-research",
            "thinking_summaries": "auto",
            "collaborative_planning": False,
        }
    fields["input"] = schedule.prompt
    return fields


# --- keeping the trigger in step with the schedule ---


def sync(schedule: Schedule) -> None:
    """After the schedule was saved, paused or resumed (from a view: a sync context)."""
    async_to_sync(_sync)(schedule.pk)


def remove(schedule: Schedule) -> None:
    """Before the schedule is deleted."""
    async_to_sync(_remove)(schedule.pk)


async def _sync(schedule_pk: int) -> None:
    schedule = await Schedule.objects.select_related("conversation").aget(pk=schedule_pk)
    linked = await AgentTrigger.objects.filter(schedule=schedule).afirst()
    api = upstream.client(schedule_pk).triggers
    try:
        if not uses_trigger(schedule):
            await _remove(schedule_pk)
            return
        body = await sync_to_async(interaction_body)(schedule)
        if linked is not None and await _same(api, linked.trigger_id, schedule, body):
            status = "paused" if schedule.paused else "active"
            await api.update(linked.trigger_id, status=status)
            return
        await _remove(schedule_pk)
        trigger = await api.create(
            interaction=body,
            schedule=cron_of(schedule),
            time_zone=schedule.time_zone,
            display_name=schedule.prompt[:60],
            max_consecutive_failures=schedules.MAX_FAILURES,
        )
        await AgentTrigger.objects.acreate(schedule=schedule, trigger_id=str(trigger.id))
        if schedule.paused:
            await api.update(str(trigger.id), status="paused")
    except InteractionsError as exc:
        log.warning("schedule %s: trigger not set up: %r", schedule_pk, exc)
        await Schedule.objects.filter(pk=schedule_pk).aupdate(
            paused=True, last_error=(gettext("The API refused the trigger: %s") % exc)[:500]
        )


async def _same(api: Any, trigger_id: str, schedule: Schedule, body: dict[str, Any]) -> bool:
    """Whether the trigger still runs this prompt on this schedule."""
    try:
        trigger = await api.get(trigger_id)
    except NotFoundError:
        return False
    return bool(
        trigger.schedule == cron_of(schedule)
        and trigger.time_zone == schedule.time_zone
        and trigger.interaction == body
    )


async def _remove(schedule_pk: int) -> None:
    linked = await AgentTrigger.objects.filter(schedule_id=schedule_pk).afirst()
    if linked is None:
        return
    with contextlib.suppress(NotFoundError):
        await upstream.client(schedule_pk).triggers.delete(linked.trigger_id)
    await AgentTrigger.objects.filter(pk=linked.pk).adelete()


@receiver(post_delete, sender=AgentTrigger)
def _forget_trigger(sender: Any, instance: AgentTrigger, **kwargs: Any) -> None:
    """A deleted conversation or schedule takes its API trigger along, once committed."""
    trigger_id, key = instance.trigger_id, instance.schedule_id
    transaction.on_commit(lambda: _run_delete(trigger_id, key))


async def _delete_upstream(trigger_id: str, key: int) -> None:
    try:
        await upstream.client(key).triggers.delete(trigger_id)
    except NotFoundError:
        pass  # already gone (`_remove` deleted it first)
    except InteractionsError as exc:
        log.warning("trigger %s not deleted upstream: %r", trigger_id, exc)


def _run_delete(trigger_id: str, key: int) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(_delete_upstream)(trigger_id, key)  # a sync view or command: wait
    else:  # deleted from async code: do not block its loop
        task = loop.create_task(_delete_upstream(trigger_id, key))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()


# --- landing the results ---


async def collect() -> list[int]:
    """One pass over every trigger: land the runs that ended; the ids of the new turns."""
    landed: list[int] = []
    linked = AgentTrigger.objects.select_related("schedule__conversation__owner")
    async for link in linked:
        api = upstream.client(link.schedule_id).triggers
        try:
            page = await api.list_executions(link.trigger_id, page_size=20)
        except NotFoundError:
            continue
        for execution in reversed(page.trigger_executions):  # oldest first
            if execution.status in ENDED and execution.id:
                turn = await _land(link, execution)
                if turn is not None:
                    landed.append(turn.pk)
    return landed


async def _land(link: AgentTrigger, execution: TriggerExecution) -> Turn | None:
    schedule = link.schedule
    claimed = await sync_to_async(_claim)(str(execution.id), schedule)
    if not claimed:
        return None
    interaction = None
    if execution.status == "completed" and execution.interaction_id:
        try:
            api = upstream.client(schedule.pk).interactions
            interaction = await api.get(execution.interaction_id)
        except InteractionsError as exc:
            execution.status = "failed"
            execution.error = gettext("The result of the run was not found: %s") % exc
    turn = await sync_to_async(_turn_of)(schedule, execution, interaction)
    await TriggerRun.objects.filter(execution_id=str(execution.id)).aupdate(turn=turn)
    await _after(schedule, link, turn)
    return turn


def _claim(execution_id: str, schedule: Schedule) -> bool:
    try:
        with transaction.atomic():
            TriggerRun.objects.create(execution_id=execution_id[:200], schedule=schedule)
    except IntegrityError:
        return False  # another worker (or an earlier pass) landed it
    return True


def _turn_of(schedule: Schedule, execution: TriggerExecution, interaction: Any) -> Turn:
    conversation = Conversation.objects.get(pk=schedule.conversation_id)
    parent = conversation.current_turn_id or (
        conversation.turns.order_by("-pk").values_list("pk", flat=True).first()
    )
    steps: list[dict[str, Any]] = []
    usage = None
    if interaction is not None:
        data = interaction.model_dump(mode="json", exclude_none=True)
        steps = [s for s in data.get("steps") or [] if s.get("type") != "user_input"]
        usage = data.get("usage")
    completed = execution.status == "completed" and interaction is not None
    error = None
    if not completed:
        reason = execution.error or gettext("The scheduled run ended: %s.") % execution.status
        error = {"message": str(reason), "code": str(execution.status)}
    turn: Turn = Turn.objects.create(
        conversation=conversation,
        parent_id=parent,
        user_input=[{"type": "text", "text": schedule.prompt}],
        user_text=schedule.prompt,
        model=conversation.model,
        interaction_id=execution.interaction_id or "",
        steps=steps,
        answer_text=plain_text(steps),
        status=Turn.Status.COMPLETED if completed else Turn.Status.FAILED,
        usage=usage,
        error=error,
        finished=timezone.now(),
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        current_turn=turn, unseen=True, updated=timezone.now()
    )
    return turn


async def _after(schedule: Schedule, link: AgentTrigger, turn: Turn) -> None:
    """The schedule's bookkeeping, the open tabs and the notification."""
    if turn.status == Turn.Status.COMPLETED:
        await Schedule.objects.filter(pk=schedule.pk).aupdate(
            failures=0, last_error="", last_turn=turn, last_run=turn.finished
        )
    else:
        await Schedule.objects.filter(pk=schedule.pk).aupdate(last_turn=turn)
        await schedules.failed(schedule, str((turn.error or {}).get("message")))
        if schedule.failures >= schedules.MAX_FAILURES:
            await _sync(schedule.pk)  # paused here: paused there too
    if schedule.kind == Schedule.Kind.ONCE:
        await Schedule.objects.filter(pk=schedule.pk).aupdate(next_run=None)
        await _remove(schedule.pk)
    else:  # what the schedules page shows; the API keeps the real clock
        following = schedules.next_run(schedule, timezone.now())
        await Schedule.objects.filter(pk=schedule.pk).aupdate(next_run=following)
    conversation = await Conversation.objects.aget(pk=schedule.conversation_id)
    siblings = await sync_to_async(turns.siblings)(turn)
    delivery.publish(frames.turn_frame(turn, siblings, 1, flags="final"))
    await frames.notify(conversation, str(turn.status))


# --- the loop ---


def look_now() -> None:
    """Look for trigger results at once (a webhook named an interaction we do not know)."""
    if _look is not None:
        _look.set()


async def _loop(interval: float) -> None:
    global _look
    _look = asyncio.Event()
    await every(interval, collect, "agent trigger results", _look)


def ensure_started() -> None:
    """Start this worker's trigger results loop once, from inside its event loop."""
    global _started
    interval = settings.AGENT_TRIGGER_POLL_SECONDS
    if _started or interval <= 0:
        return
    _started = True
    asyncio.get_running_loop().create_task(_loop(interval), name="agent-triggers")
