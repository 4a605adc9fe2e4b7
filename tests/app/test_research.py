"""Deep Research with collaborative planning in the chat (chatapp.research): a plan, an
edit, a start, then the cited report from the background with no socket open; Stop cancels
upstream."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chatapp import recovery, workers
from chatapp import upstream as upstream_clients
from chatapp.models import Conversation, ResearchStart, Turn
from chatapp.research import is_plan
from interactions_client import APIConnectionError
from interactions_client._interactions import AsyncInteractions

pytestmark = pytest.mark.django_db(transaction=True)
AGENT = "deep-research-preview-04-2026"


async def research_conversation(owner: Any) -> Conversation:
    return await Conversation.objects.acreate(owner=owner, title="Research", model=AGENT)


async def finish(turn_id: int, timeout: float = 60) -> Turn:
    generation = workers.running(turn_id)
    if generation is not None and generation.task is not None:
        await asyncio.wait_for(asyncio.shield(generation.task), timeout)
    return await Turn.objects.aget(pk=turn_id)


async def say(
    sock: Any, conversation: Conversation, parent: int | None, text: str, **extra: Any
) -> int:
    frame = {"type": "send", "conversation": conversation.pk, "parent": parent, "text": text}
    await sock.send({**frame, **extra})
    reset = await sock.until(lambda f: f["type"] == "turn" and f.get("reset"))
    return int(reset["turn"]["id"])


def requests_to(upstream: Any) -> list[dict[str, Any]]:
    bodies = [r.get("json") or {} for r in upstream.app.requests if r["method"] == "POST"]
    return [b for b in bodies if b.get("agent") == AGENT]


async def test_plan_edit_start_then_the_cited_report_arrives_with_no_socket_open(
    alice: Any, upstream: Any, connect: Any
) -> None:
    conversation = await research_conversation(alice)
    sock = await connect(alice)
    await sock.send({"type": "subscribe", "conversation": conversation.pk})

    plan_id = await say(sock, conversation, None, "How do heat pumps work in cold climates?")
    final = await sock.until_final(plan_id, timeout=20)
    plan = await finish(plan_id)
    assert is_plan(plan) and "Research plan" in plan.answer_text
    assert "Start research" in final["turn"]["html"] and "Edit plan" in final["turn"]["html"]
    first = requests_to(upstream)[0]
    assert first["background"] is True and "environment" not in first
    assert first["agent_config"] == {
        "type": "deep-research",
        "thinking_summaries": "auto",
        "collaborative_planning": True,
    }

    revision_id = await say(sock, conversation, plan_id, "Also cover noise levels.")
    await sock.until_final(revision_id, timeout=20)
    revised = await finish(revision_id)
    assert is_plan(revised) and "noise levels" in revised.answer_text
    assert requests_to(upstream)[-1]["previous_interaction_id"] == plan.interaction_id

    start_id = await say(
        sock, conversation, revision_id, "Start the research.", start_research=True
    )
    await sock.close()  # every tab closed: the server goes on alone
    report = await finish(start_id)
    assert report.status == "completed" and not is_plan(report)
    assert await ResearchStart.objects.filter(turn_id=start_id).aexists()
    assert requests_to(upstream)[-1]["agent_config"]["collaborative_planning"] is False
    types = [s["type"] for s in report.steps]
    assert "thought" in types and "google_search_call" in types
    annotations = [
        a
        for s in report.steps
        if s["type"] == "model_output"
        for item in s["content"]
        for a in item.get("annotations") or []
    ]
    assert annotations and all(a["url"].startswith("https://") for a in annotations)
    # Any thought summary is the progress the page streamed.
    assert any(s.get("summary") for s in report.steps if s["type"] == "thought")
    conversation = await Conversation.objects.aget(pk=conversation.pk)
    assert conversation.unseen and conversation.background


async def test_an_edited_plan_without_start_is_planned_again(
    alice: Any, upstream: Any, connect: Any
) -> None:
    conversation = await research_conversation(alice)
    sock = await connect(alice)
    plan_id = await say(sock, conversation, None, "Compare solid-state batteries")
    await finish(plan_id)
    # "Start the research." typed by hand (no start_research) is an edit for our request.
    again = await say(sock, conversation, plan_id, "Please focus on Europe.")
    await finish(again)
    assert requests_to(upstream)[-1]["agent_config"]["collaborative_planning"] is True


async def test_stop_cancels_the_research_upstream_and_keeps_what_arrived(
    alice: Any, upstream: Any, connect: Any
) -> None:
    conversation = await research_conversation(alice)
    sock = await connect(alice)
    plan_id = await say(sock, conversation, None, "History of the bicycle")
    await finish(plan_id)
    slow_start = "[[sim:slow]] Start the research."
    start_id = await say(sock, conversation, plan_id, slow_start, start_research=True)
    turn = await Turn.objects.aget(pk=start_id)
    for _ in range(400):
        turn = await Turn.objects.aget(pk=start_id)
        if turn.interaction_id:
            break
        await asyncio.sleep(0.05)
    assert turn.interaction_id
    await sock.send({"type": "stop", "turn": start_id})
    stopped = await finish(start_id)
    assert stopped.status == "stopped"
    cancels = [r["path"] for r in upstream.app.requests if r["path"].endswith("cancel")]
    assert cancels == [f"/v1/interactions/{turn.interaction_id}/cancel"] or cancels == [
        f"/v1/interactions/{turn.interaction_id}:cancel"
    ]
    client = upstream_clients.client(start_id)
    assert (await client.interactions.get(turn.interaction_id)).status == "cancelled"


async def test_a_research_left_by_a_dead_worker_is_recovered_and_its_report_lands(
    alice: Any, upstream: Any, connect: Any, monkeypatch: Any
) -> None:
    conversation = await research_conversation(alice)
    sock = await connect(alice)
    plan_id = await say(sock, conversation, None, "Tides and the moon")
    await finish(plan_id)
    slow_start = "[[sim:slow]] Start the research."  # slow: it is still running when killed
    start_id = await say(sock, conversation, plan_id, slow_start, start_research=True)
    await sock.close()
    for _ in range(400):
        if (await Turn.objects.aget(pk=start_id)).interaction_id:
            break
        await asyncio.sleep(0.05)
    # The worker dies: its generation ends without a word, its heartbeat goes stale.
    generation: Any = workers.running(start_id)
    generation.taken_over = True
    generation.task.cancel()
    await asyncio.gather(generation.task, return_exceptions=True)
    await generation.writes.done()  # its last writes landed before it "died"
    stale = timezone.now() - timedelta(minutes=5)
    await Turn.objects.filter(pk=start_id).aupdate(worker="dead-worker", heartbeat=stale)
    # And the upstream stream cannot be re-attached: the survivor polls until the end.
    original = AsyncInteractions.get

    async def get(self: Any, id: str, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            raise APIConnectionError("no stream after the restart")
        return await original(self, id, **kwargs)

    monkeypatch.setattr(AsyncInteractions, "get", get)
    assert await recovery.recover_orphans() == [start_id]
    report = await finish(start_id)
    assert report.status == "completed" and not is_plan(report)
    assert any(s["type"] == "google_search_call" for s in report.steps)
    assert (await Conversation.objects.aget(pk=conversation.pk)).unseen
