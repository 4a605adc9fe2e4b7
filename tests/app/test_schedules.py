"""Scheduled prompts: when they run, that they run once, what a run leaves behind, and the
page that manages them (chatapp.schedules, chatapp.scheduler, chatapp.schedule_views)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from chatapp import scheduler, schedules, workers
from chatapp.models import Conversation, Schedule, Turn

pytestmark = pytest.mark.django_db(transaction=True)
ROME = ZoneInfo("Europe/Rome")


def at(text: str, zone: ZoneInfo = ROME) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("kind", "after", "expected"),
    [
        # Friday 10:00 in Rome, a schedule at 09:30 local time.
        ("daily", "2026-12-04T10:00", "2026-12-05T09:30"),
        ("weekdays", "2026-12-04T10:00", "2026-12-07T09:30"),  # Saturday skipped: Monday
        ("weekly", "2026-12-04T10:00", "2026-12-08T09:30"),  # the weekday of `at`: Tuesday
        ("daily", "2026-12-04T09:00", "2026-12-04T09:30"),  # later the same day
    ],
)
def test_repeating_runs_follow_the_persons_clock(kind: str, after: str, expected: str) -> None:
    schedule = Schedule(kind=kind, at=at("2026-12-01T09:30"), time_zone="Europe/Rome")
    found = schedules.next_run(schedule, at(after))
    assert found == at(expected).astimezone(UTC)


def test_a_daily_run_keeps_its_local_time_across_a_clock_change() -> None:
    schedule = Schedule(kind="daily", at=at("2026-03-01T09:30"), time_zone="Europe/Rome")
    # Summer time starts in the night to Sunday 29 March 2026.
    before = schedules.next_run(schedule, at("2026-03-28T08:00"))
    after = schedules.next_run(schedule, at("2026-03-28T10:00"))
    assert before is not None and after is not None
    assert before.astimezone(ROME).hour == after.astimezone(ROME).hour == 9
    assert after - before == timedelta(hours=23)


def test_cron_and_once() -> None:
    cron = Schedule(kind="cron", cron="0 9 * * 1-5", at=at("2026-12-01T00:00"), time_zone="UTC")
    assert schedules.next_run(cron, at("2026-12-04T10:00", UTC)) == at("2026-12-07T09:00", UTC)
    once = Schedule(kind="once", at=at("2026-12-05T08:00"), time_zone="Europe/Rome")
    assert schedules.next_run(once, at("2026-12-04T10:00")) == once.at
    assert schedules.next_run(once, at("2026-12-05T09:00")) is None
    assert not schedules.valid_cron("every day") and schedules.valid_cron("*/5 * * * *")


async def a_schedule(owner: Any, **fields: Any) -> Schedule:
    conversation = await Conversation.objects.acreate(owner=owner, title="News", model="m")
    values = {
        "prompt": "[[sim:slow]] What is new today?",
        "kind": "daily",
        "at": timezone.now() - timedelta(minutes=1),
        "time_zone": "UTC",
        "next_run": timezone.now() - timedelta(seconds=1),
        **fields,
    }
    return await Schedule.objects.acreate(conversation=conversation, **values)


async def finish_all() -> None:
    for generation in list(workers._generations.values()):
        if generation.task:
            await asyncio.wait_for(generation.task, 20)


async def test_a_due_prompt_runs_once_and_its_answer_comes_back_unseen(
    alice: Any, upstream: Any, connect: Any
) -> None:
    sock = await connect(alice)  # a tab elsewhere hears the notification
    schedule = await a_schedule(alice)
    first, second = await asyncio.gather(scheduler.run_due(), scheduler.run_due())
    assert sorted(first + second) == [schedule.pk]  # claimed by one pass only
    await finish_all()
    turn = await Turn.objects.aget(conversation_id=schedule.conversation_id)
    assert turn.status == "completed" and turn.user_text == schedule.prompt
    conversation = await Conversation.objects.aget(pk=schedule.conversation_id)
    assert conversation.unseen
    note = await sock.until(lambda f: f["type"] == "notify")
    assert note["conversation"] == conversation.pk
    await schedule.arefresh_from_db()
    assert schedule.next_run is not None and schedule.next_run > timezone.now()
    assert schedule.failures == 0 and schedule.last_turn_id == turn.pk
    # Not due again until tomorrow.
    assert await scheduler.run_due() == []


async def test_failures_are_kept_with_their_reason_and_pause_the_schedule(
    alice: Any, upstream: Any
) -> None:
    schedule = await a_schedule(alice, prompt="[[sim:fail]] this will fail")
    for _ in range(schedules.MAX_FAILURES):
        await Schedule.objects.filter(pk=schedule.pk).aupdate(
            next_run=timezone.now() - timedelta(seconds=1)
        )
        assert await scheduler.run_due() == [schedule.pk]
        await finish_all()
    await schedule.arefresh_from_db()
    assert schedule.failures == schedules.MAX_FAILURES and schedule.paused
    assert schedule.last_error
    await Schedule.objects.filter(pk=schedule.pk).aupdate(next_run=timezone.now())
    assert await scheduler.run_due() == []  # paused: not run


async def test_a_deactivated_owners_schedule_does_not_run(alice: Any, upstream: Any) -> None:
    schedule = await a_schedule(alice)
    alice.is_active = False
    await alice.asave()
    await scheduler.run_due()
    await schedule.arefresh_from_db()
    assert schedule.failures == 1 and "deactivated" in schedule.last_error
    assert not await Turn.objects.filter(conversation_id=schedule.conversation_id).aexists()


def test_the_page_makes_edits_pauses_and_deletes_only_ones_own(alice: Any, bob: Any) -> None:
    mine = Conversation.objects.create(owner=alice, title="Mine", model="m")
    theirs = Conversation.objects.create(owner=bob, title="Theirs", model="m")
    page = Client()
    page.force_login(alice)
    form = {
        "conversation": mine.pk,
        "prompt": "Summarise the news",
        "kind": "weekdays",
        "at": "2026-12-01T08:15",
        "cron": "",
        "time_zone": "Europe/Rome",
    }
    assert page.post("/schedules/", form).status_code == 302
    schedule = Schedule.objects.get()
    assert schedule.at == at("2026-12-01T08:15") and schedule.next_run is not None
    assert schedule.next_run.astimezone(ROME).time().isoformat() == "08:15:00"
    listed = page.get("/schedules/").content.decode()
    assert "Summarise the news" in listed and "Europe/Rome" in listed

    # Another person's conversation, a bad zone, a bad cron: each a clear error.
    refused = page.post("/schedules/", {**form, "conversation": theirs.pk}).content.decode()
    assert "Select a valid choice" in refused
    refused = page.post("/schedules/", {**form, "time_zone": "Mars/Base"}).content.decode()
    assert "Pick a time zone" in refused
    refused = page.post("/schedules/", {**form, "kind": "cron", "cron": "soon"}).content.decode()
    assert "not a cron expression" in refused
    assert Schedule.objects.count() == 1

    assert page.post(f"/schedules/{schedule.pk}/pause").status_code == 302
    assert Schedule.objects.get().paused
    assert page.post(f"/schedules/{schedule.pk}/resume").status_code == 302
    assert not Schedule.objects.get().paused
    edited = {**form, "schedule": schedule.pk, "prompt": "Only the headlines"}
    assert page.post("/schedules/", edited).status_code == 302
    assert Schedule.objects.get().prompt == "Only the headlines"

    stranger = Client()
    stranger.force_login(bob)
    assert stranger.post(f"/schedules/{schedule.pk}/delete").status_code == 404
    assert stranger.get(f"/schedules/?edit={schedule.pk}").status_code == 404
    assert page.post(f"/schedules/{schedule.pk}/delete").status_code == 302
    assert not Schedule.objects.exists()
