"""Triggers: the typed `client.triggers` resource against the simulator, whose clock tests
move forward so a cron schedule fires (once), with executions, pause/resume, failures that
pause the trigger, and the webhook its run raises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

import interactions_client as ic
from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.simulator.cron import next_run, parse
from interactions_client.simulator.server import RunningSimulator
from interactions_client.types import Trigger, TriggerExecution

from .webhook_receiver import receive_webhooks

AGENT = "antigravity-preview-05-2026"
RUN = {"agent": AGENT, "input": "Write the daily digest"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(background_seconds=0.1)) as running:
        yield running


@pytest.fixture()
def client(sim: RunningSimulator) -> Iterator[ic.Client]:
    sim.app.automation.clear()
    with ic.Client(api_key="test-key", base_url=sim.base_url) as client:
        yield client


def advance(sim: RunningSimulator, seconds: float) -> list[dict[str, Any]]:
    answer = httpx.post(f"{sim.base_url}/_simulator/clock", json={"advance_seconds": seconds})
    assert answer.status_code == 200, answer.text
    fired: list[dict[str, Any]] = answer.json()["fired"]
    return fired


def advance_past_next_run(sim: RunningSimulator, trigger: Trigger) -> list[dict[str, Any]]:
    assert trigger.next_run_time is not None
    now = sim.app.automation.triggers.now()
    return advance(sim, (trigger.next_run_time - now).total_seconds() + 30)


def settled(client: ic.Client, trigger_id: str, count: int) -> list[TriggerExecution]:
    deadline = time.monotonic() + 10
    while True:
        runs = client.triggers.list_executions(trigger_id).trigger_executions
        if len(runs) >= count and all(r.status != "in_progress" for r in runs):
            return runs
        assert time.monotonic() < deadline, runs
        time.sleep(0.05)


def test_weekday_schedule_fires_once_in_its_time_zone(
    sim: RunningSimulator, client: ic.Client
) -> None:
    trigger = client.triggers.create(
        interaction=RUN,
        schedule="0 9 * * 1-5",
        time_zone="Europe/Lisbon",
        display_name="Daily digest",
    )
    assert trigger.status == "active" and trigger.interaction == RUN
    local = trigger.next_run_time.astimezone(ZoneInfo("Europe/Lisbon"))  # type: ignore[union-attr]
    assert (local.hour, local.minute) == (9, 0) and local.weekday() < 5
    assert advance(sim, 0) == []  # not due yet
    fired = advance_past_next_run(sim, trigger)
    assert len(fired) == 1 and fired[0]["status"] == "in_progress"
    assert advance(sim, 1) == []  # the same run time never fires twice
    runs = settled(client, str(trigger.id), 1)
    assert [r.status for r in runs] == ["completed"]
    run = runs[0]
    assert run.scheduled_time == trigger.next_run_time and run.interaction_id
    answer = client.interactions.get(run.interaction_id)
    assert answer.status == "completed" and "daily digest" in answer.output_text
    later = client.triggers.get(str(trigger.id))
    assert later.last_run_time and later.next_run_time > trigger.next_run_time  # type: ignore[operator]
    assert later.previous_interaction_id == run.interaction_id


def test_run_now_list_pause_resume_delete(sim: RunningSimulator, client: ic.Client) -> None:
    trigger = client.triggers.create(interaction=RUN, schedule="*/5 * * * *", time_zone="UTC")
    tid = str(trigger.id)
    first = client.triggers.run(tid)
    assert first.status == "in_progress" and first.trigger_id == tid
    settled(client, tid, 1)
    second = client.triggers.run(tid)
    runs = settled(client, tid, 2)
    assert [r.id for r in runs] == [second.id, first.id]  # newest first
    assert [r.id for r in client.triggers.iter_executions(tid, page_size=1)] == [r.id for r in runs]
    paused = client.triggers.update(tid, status="paused")
    assert paused.status == "paused" and paused.last_pause_time and paused.next_run_time is None
    assert advance(sim, 3600) == []
    resumed = client.triggers.update(tid, status="active", display_name="Every five")
    assert resumed.last_resume_time and resumed.display_name == "Every five"
    assert [t.id for t in client.triggers.iter()] == [tid]
    client.triggers.delete(tid)
    with pytest.raises(ic.NotFoundError):
        client.triggers.get(tid)


def test_failures_are_reported_and_pause_the_trigger(
    sim: RunningSimulator, client: ic.Client
) -> None:
    failing = {"agent": AGENT, "input": "Digest [[sim:fail]]"}
    trigger = client.triggers.create(
        interaction=failing, schedule="0 * * * *", time_zone="UTC", max_consecutive_failures=2
    )
    tid = str(trigger.id)
    advance(sim, 3600)
    settled(client, tid, 1)
    assert client.triggers.get(tid).consecutive_failure_count == 1
    advance(sim, 3600)
    runs = settled(client, tid, 2)
    assert [r.status for r in runs] == ["failed", "failed"]
    assert runs[0].error and "Simulated model failure" in runs[0].error
    stopped = client.triggers.get(tid)
    assert stopped.status == "error" and stopped.consecutive_failure_count == 2
    assert advance(sim, 3600) == []


def test_a_run_ends_in_a_signed_webhook(sim: RunningSimulator, client: ic.Client) -> None:
    with receive_webhooks() as receiver:
        hook = client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.completed"])
        trigger = client.triggers.create(
            interaction=RUN, schedule="30 6 * * *", time_zone="Asia/Tokyo"
        )
        fired = httpx.post(f"{sim.base_url}/_simulator/triggers/{trigger.id}:fire").json()
        delivery = receiver.wait_for(1)[0]
    event = ic.verify_webhook(delivery.body, delivery.headers, str(hook.new_signing_secret))
    assert event.type == "interaction.completed"
    assert event.data["id"] == fired["interaction_id"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"schedule": "61 * * * *"}, "minute"),
        ({"schedule": "daily"}, "five-field"),
        ({"time_zone": "Mars/Olympus"}, "IANA"),
        ({"interaction": {"model": "gemini-3.5-flash", "input": "x"}}, "agent"),
        ({"interaction": {"agent": AGENT}}, "input"),
    ],
)
def test_invalid_triggers_are_bad_requests(
    client: ic.Client, fields: dict[str, Any], message: str
) -> None:
    params: dict[str, Any] = {"interaction": RUN, "schedule": "0 9 * * *", "time_zone": "UTC"}
    params.update(fields)
    with pytest.raises(ic.BadRequestError, match=message):
        client.triggers.create(**params)


def test_cron_next_run_rules() -> None:
    utc = ZoneInfo("UTC")
    start = datetime(2026, 12, 3, 14, 20, tzinfo=UTC)  # a Thursday
    assert next_run(parse("*/15 * * * *"), start, utc) == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    assert next_run(parse("0 9 * * 1"), start, utc) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert next_run(parse("0 0 1 1 *"), start, utc) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    # Both day fields restricted: either matches (the 5th, or any Sunday).
    assert next_run(parse("0 8 5 * 0"), start, utc) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert next_run(parse("0 8 5 * 7"), start, utc) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    ny = ZoneInfo("America/New_York")
    assert next_run(parse("0 9 * * *"), start, ny) == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


def test_async_twin(sim: RunningSimulator) -> None:
    sim.app.automation.clear()

    async def main() -> list[str]:
        async with ic.AsyncClient(api_key="k", base_url=sim.base_url) as client:
            trigger = await client.triggers.create(
                interaction=RUN, schedule="0 7 * * 6,0", time_zone="UTC"
            )
            tid = str(trigger.id)
            run = await client.triggers.run(tid)
            await client.triggers.update(tid, status="paused")
            runs = [r.id async for r in client.triggers.iter_executions(tid)]
            names = [t.status async for t in client.triggers.iter()]
            await client.triggers.delete(tid)
            return [*names, str(runs == [run.id])]

    assert asyncio.run(main()) == ["paused", "True"]
