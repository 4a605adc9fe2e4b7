"""Schedules of agent conversations run as the API's triggers (chatapp.agent_triggers):
the schedules page creates, pauses and deletes the trigger; a run fired by the simulator's
clock lands in the conversation as an answer (once), a failed run with its reason; models
keep the app's own scheduler."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from chatapp import agent_triggers, scheduler
from chatapp.models import AgentTrigger, Conversation, Schedule, TriggerRun, Turn
from interactions_client import Client as ApiClient

pytestmark = pytest.mark.django_db(transaction=True)
AGENT = "antigravity-preview-05-2026"


def api(upstream: Any) -> ApiClient:
    return ApiClient(api_key="test-key", base_url=upstream.base_url)


def page_of(user: Any) -> Client:
    page = Client()
    page.force_login(user)
    return page


def schedule_form(conversation: Conversation, prompt: str) -> dict[str, Any]:
    return {
        "conversation": conversation.pk,
        "prompt": prompt,
        "kind": "daily",
        "at": "2026-12-01T08:15",
        "cron": "",
        "time_zone": "Europe/Rome",
    }


def advance(upstream: Any, seconds: float) -> list[dict[str, Any]]:
    answer = httpx.post(f"{upstream.base_url}/_simulator/clock", json={"advance_seconds": seconds})
    answer.raise_for_status()
    fired: list[dict[str, Any]] = answer.json()["fired"]
    return fired


async def ended(upstream: Any, trigger_id: str, count: int = 1) -> None:
    client = await sync_to_async(api)(upstream)
    async with asyncio.timeout(15):
        while True:
            runs = await sync_to_async(client.triggers.list_executions)(trigger_id)
            done = [e for e in runs.trigger_executions if e.status not in (None, "in_progress")]
            if len(done) >= count:
                return
            await asyncio.sleep(0.1)


def test_the_page_creates_pauses_resumes_and_deletes_the_trigger(alice: Any, upstream: Any) -> None:
    conversation = Conversation.objects.create(owner=alice, title="Agent", model=AGENT)
    page = page_of(alice)
    assert page.post("/schedules/", schedule_form(conversation, "Tidy the repo")).status_code == 302
    schedule = Schedule.objects.get()
    link = AgentTrigger.objects.get(schedule=schedule)
    trigger = api(upstream).triggers.get(link.trigger_id)
    assert trigger.schedule == "15 8 * * *" and trigger.time_zone == "Europe/Rome"
    assert trigger.interaction and trigger.interaction["agent"] == AGENT
    assert trigger.interaction["input"] == "Tidy the repo" and trigger.status == "active"
    assert "Gemini trigger" in page.get("/schedules/").content.decode()

    assert page.post(f"/schedules/{schedule.pk}/pause").status_code == 302
    assert api(upstream).triggers.get(link.trigger_id).status == "paused"
    assert page.post(f"/schedules/{schedule.pk}/resume").status_code == 302
    assert api(upstream).triggers.get(link.trigger_id).status == "active"

    # An edited prompt: a trigger's body cannot change, so a new trigger replaces it.
    edited = {**schedule_form(conversation, "Only the tests"), "schedule": schedule.pk}
    assert page.post("/schedules/", edited).status_code == 302
    new_link = AgentTrigger.objects.get(schedule=schedule)
    assert new_link.trigger_id != link.trigger_id
    ids = [t.id for t in api(upstream).triggers.iter()]
    assert ids == [new_link.trigger_id]

    assert page.post(f"/schedules/{schedule.pk}/delete").status_code == 302
    assert list(api(upstream).triggers.iter()) == [] and not AgentTrigger.objects.exists()

    # A deleted conversation takes its schedules' triggers along.
    assert page.post("/schedules/", schedule_form(conversation, "Again")).status_code == 302
    assert len(list(api(upstream).triggers.iter())) == 1
    conversation.delete()
    assert list(api(upstream).triggers.iter()) == []


async def test_a_fired_run_lands_once_as_an_answer_and_a_failure_with_its_reason(
    alice: Any, upstream: Any, connect: Any
) -> None:
    conversation = await Conversation.objects.acreate(owner=alice, title="Agent", model=AGENT)
    sock = await connect(alice)  # a tab elsewhere hears the notification
    page = await sync_to_async(page_of)(alice)
    form = schedule_form(conversation, "Summarise the open issues")
    await sync_to_async(page.post)("/schedules/", form)
    schedule = await Schedule.objects.aget()
    link = await AgentTrigger.objects.aget(schedule=schedule)
    # The app's scheduler leaves it alone, even when due.
    await Schedule.objects.filter(pk=schedule.pk).aupdate(
        next_run=timezone.now() - timedelta(seconds=1)
    )
    assert await scheduler.run_due() == []

    fired = await sync_to_async(advance)(upstream, 86400)
    assert len(fired) == 1
    await ended(upstream, link.trigger_id)
    first, again = await asyncio.gather(agent_triggers.collect(), agent_triggers.collect())
    assert len(first + again) == 1  # landed once, whoever looked
    turn = await Turn.objects.aget(pk=(first + again)[0])
    assert turn.status == "completed" and turn.answer_text
    assert turn.user_text == "Summarise the open issues" and turn.interaction_id
    conversation = await Conversation.objects.aget(pk=conversation.pk)
    assert conversation.unseen and conversation.current_turn_id == turn.pk
    note = await sock.until(lambda f: f["type"] == "notify")
    assert note["conversation"] == conversation.pk
    assert await agent_triggers.collect() == []

    # A run that fails shows why, as the schedule does.
    await sync_to_async(page.post)(
        "/schedules/",
        {**schedule_form(conversation, "[[sim:fail]] break"), "schedule": schedule.pk},
    )
    link = await AgentTrigger.objects.aget(schedule=schedule)
    await sync_to_async(advance)(upstream, 86400)
    await ended(upstream, link.trigger_id)
    [failed_id] = await agent_triggers.collect()
    failed = await Turn.objects.aget(pk=failed_id)
    assert failed.status == "failed" and failed.error and failed.error["message"]
    assert failed.parent_id == turn.pk
    await schedule.arefresh_from_db()
    assert schedule.failures == 1 and schedule.last_error == failed.error["message"]
    assert await TriggerRun.objects.acount() == 2


def test_a_models_schedule_keeps_the_apps_scheduler(alice: Any, upstream: Any) -> None:
    conversation = Conversation.objects.create(owner=alice, title="Model", model="gemini-3.5-flash")
    page = page_of(alice)
    assert page.post("/schedules/", schedule_form(conversation, "News")).status_code == 302
    assert not AgentTrigger.objects.exists()
    assert list(api(upstream).triggers.iter()) == []


def test_a_scheduled_deep_research_runs_without_waiting_for_a_plan(
    alice: Any, upstream: Any
) -> None:
    conversation = Conversation.objects.create(
        owner=alice, title="Weekly", model="deep-research-preview-04-2026"
    )
    page = page_of(alice)
    assert (
        page.post("/schedules/", schedule_form(conversation, "EU energy news")).status_code == 302
    )
    trigger = api(upstream).triggers.get(AgentTrigger.objects.get().trigger_id)
    assert trigger.interaction is not None and "environment" not in trigger.interaction
    assert trigger.interaction["agent_config"] == {
        "type": "deep-research",
        "thinking_summaries": "auto",
        "collaborative_planning": False,
    }
