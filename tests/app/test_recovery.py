"""Turns left in progress by a dead worker are recovered once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from django.utils import timezone

from chatapp import recovery, relay, workers
from chatapp.models import Conversation, Turn

pytestmark = pytest.mark.django_db(transaction=True)

STALE = timezone.now() - timedelta(minutes=5)


async def orphan(owner: Any, **fields: Any) -> Turn:
    conversation = await Conversation.objects.acreate(owner=owner, model="gemini-3.5-flash")
    defaults = {"status": Turn.Status.IN_PROGRESS, "worker": "dead-worker", "heartbeat": STALE}
    return await Turn.objects.acreate(
        conversation=conversation,
        model="gemini-3.5-flash",
        user_text="hi",
        user_input=[{"type": "text", "text": "hi"}],
        **{**defaults, **fields},
    )


async def finish(turn_ids: list[int]) -> None:
    for pk in turn_ids:
        generation = workers.running(pk)
        if generation and generation.task:
            await asyncio.wait_for(generation.task, 10)


async def upstream_stream(simulator: Any, prompt: str) -> tuple[str, list[str]]:
    """Start a stored streaming interaction and read a few events, like a worker that died."""
    async with httpx.AsyncClient(base_url=simulator.base_url) as http:
        async with http.stream(
            "POST",
            "/v1/interactions",
            json={"model": "gemini-3.5-flash", "input": prompt, "stream": True},
            headers={"x-goog-api-key": "k", "accept": "text/event-stream"},
        ) as response:
            lines = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    lines.append(line)
                if len(lines) == 3:
                    break
    first = json.loads(lines[0][5:])
    return first["interaction"]["id"], [json.loads(x[5:])["event_id"] for x in lines]


async def test_a_turn_with_a_stored_interaction_is_re_attached(alice: Any, upstream: Any) -> None:
    interaction_id, event_ids = await upstream_stream(upstream, "[[sim:slow]] recover me")
    turn = await orphan(alice, interaction_id=interaction_id)
    claimed = await recovery.recover_orphans()
    assert claimed == [turn.pk]
    await finish(claimed)
    await turn.arefresh_from_db()
    assert turn.status == "completed"
    assert "recover me" in turn.answer_text
    assert turn.worker == await workers.channel()


async def test_re_attach_goes_on_from_the_last_saved_event(alice: Any, upstream: Any) -> None:
    interaction_id, _ = await upstream_stream(upstream, "plain answer please")
    await asyncio.sleep(0.3)  # the upstream finishes the answer meanwhile
    async with httpx.AsyncClient(
        base_url=upstream.base_url, headers={"x-goog-api-key": "k"}
    ) as http:
        full = (await http.get(f"/v1/interactions/{interaction_id}")).json()
        events = (
            await http.get(
                f"/v1/interactions/{interaction_id}?stream=true",
                headers={"accept": "text/event-stream"},
            )
        ).text
    model_steps = [s for s in full["steps"] if s["type"] != "user_input"]
    # The dead worker had saved the first step and its event id.
    payloads = [json.loads(line[5:]) for line in events.splitlines() if line.startswith("data:")]
    first_stop = next(p for p in payloads if p["event_type"] == "step.stop")
    turn = await orphan(
        alice,
        interaction_id=interaction_id,
        steps=model_steps[:1],
        last_event_id=first_stop["event_id"],
    )
    claimed = await recovery.recover_orphans()
    await finish(claimed)
    await turn.arefresh_from_db()
    assert turn.status == "completed"
    assert turn.steps == model_steps
    last = [r for r in upstream.app.requests if r["method"] == "GET"][-1]
    assert last["query"].get("last_event_id") in (first_stop["event_id"], [first_stop["event_id"]])


async def test_a_turn_that_never_reached_the_upstream_is_marked_failed_with_retry(
    alice: Any, upstream: Any
) -> None:
    turn = await orphan(alice)
    await finish(await recovery.recover_orphans())
    await turn.arefresh_from_db()
    assert turn.status == "failed"
    assert turn.error["retryable"] is True and "restarted" in turn.error["message"]


async def test_a_fresh_heartbeat_means_the_worker_is_alive(alice: Any, upstream: Any) -> None:
    turn = await orphan(alice, heartbeat=timezone.now())
    assert await recovery.recover_orphans() == []
    await turn.arefresh_from_db()
    assert turn.status == "in_progress"


async def test_each_orphan_is_recovered_once(
    alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    turn = await orphan(alice)
    # Two workers race: each sees the orphan, only one update can win.
    started: list[int] = []
    monkeypatch.setattr(relay, "resume", lambda t: started.append(t.pk))
    first, second = await asyncio.gather(recovery.recover_orphans(), recovery.recover_orphans())
    assert sorted(first + second) == [turn.pk]
    assert started == [turn.pk]


async def test_a_live_generation_is_never_taken_over(
    alice: Any, upstream: Any, settings: Any, connect: Any
) -> None:
    """Heartbeats come well inside the staleness limit, so recovery leaves running turns alone."""
    settings.CHAT_RECOVERY_STALE_SECONDS = 1
    sock = await connect(alice)
    await sock.send({"type": "send", "text": "[[sim:slow]] [[sim:long]] take your time"})
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    generation = workers.running(created["turn"]["id"])
    assert generation is not None
    for _ in range(6):
        await asyncio.sleep(0.5)
        turn = await Turn.objects.aget(pk=created["turn"]["id"])
        if turn.status != "in_progress":
            break
        # Another worker would see a fresh heartbeat: nothing to take over.
        assert (timezone.now() - turn.heartbeat).total_seconds() < 1
        assert await recovery.recover_orphans() == []
    await sock.until_final(created["turn"]["id"], timeout=30)
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert turn.status == "completed"


async def test_a_finished_generation_does_not_unregister_its_successor(alice: Any) -> None:
    async def idle() -> None:
        await asyncio.sleep(0)

    old, new = SimpleNamespace(conversation_id=1), SimpleNamespace(conversation_id=1)
    old.task = asyncio.create_task(idle())
    new.task = asyncio.create_task(asyncio.sleep(10))
    workers._generations[1] = new
    await old.task
    workers._forget(1, old.task)
    assert workers.running(1) is new
    new.task.cancel()
    workers._generations.pop(1, None)


async def test_a_generation_whose_turn_was_taken_over_stops_and_writes_nothing(
    alice: Any, upstream: Any, settings: Any, connect: Any
) -> None:
    """A worker that stalled past the limit lost its turn: it must not stream or save on."""
    settings.CHAT_RECOVERY_STALE_SECONDS = 1
    sock = await connect(alice)
    await sock.send({"type": "send", "text": "[[sim:slow]] [[sim:long]] take your time"})
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    pk = created["turn"]["id"]
    generation = workers.running(pk)
    assert generation is not None and generation.task is not None
    await sock.until(lambda f: f["type"] == "delta")
    await Turn.objects.filter(pk=pk).aupdate(worker="relay.another-worker")
    await asyncio.wait_for(asyncio.shield(generation.task), timeout=3)
    assert generation.taken_over and workers.running(pk) is None
    await asyncio.sleep(0.3)
    turn = await Turn.objects.aget(pk=pk)
    assert turn.worker == "relay.another-worker" and turn.status == "in_progress"
    assert not any(f.get("final") for f in sock.frames), "no final frame from the old owner"
