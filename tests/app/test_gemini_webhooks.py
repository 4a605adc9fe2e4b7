"""Gemini's webhooks (POST /hooks/gemini/, chatapp.gemini_webhooks): a bad signature or a
replay is refused and changes nothing; an authentic "interaction completed" completes the
waiting background turn, once, even with polling racing it."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.test import AsyncClient

from chatapp import gemini_webhooks, workers
from chatapp import upstream as upstream_clients
from chatapp.gemini_webhooks import DatabaseSeen, RedisSeen
from chatapp.models import AuditEvent, Conversation, Turn, WebhookDelivery
from interactions_client import APIConnectionError
from interactions_client import Client as ApiClient
from interactions_client._interactions import AsyncInteractions
from interactions_client._webhook_signature import signature
from interactions_client.types.automation import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
URL = "/hooks/gemini/"


def delivery(
    event: str, interaction_id: str, message_id: str, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"type": event, "data": {"id": interaction_id, "status": event.split(".")[1]}}
    ).encode()
    stamp = int(time.time())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(secret, message_id, stamp, body),
    }
    return body, headers


async def post(body: bytes, headers: dict[str, str]) -> int:
    response = await AsyncClient().post(URL, body, content_type="application/json", headers=headers)
    return int(response.status_code)


@pytest.fixture
def webhooks(settings: Any, monkeypatch: Any) -> Any:
    """Webhooks configured (so the poll is only a long safety net) and no background stream:
    the turn waits for the webhook."""
    settings.GEMINI_WEBHOOK_SECRET = [SECRET]
    settings.WEBHOOK_SAFETY_POLL_SECONDS = 300
    settings.REDIS_URL = ""
    original = AsyncInteractions.get

    async def get(self: Any, id: str, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            raise APIConnectionError("no background stream in this test")
        return await original(self, id, **kwargs)

    monkeypatch.setattr(AsyncInteractions, "get", get)
    return settings


async def waiting_turn(owner: Any, sock: Any) -> Turn:
    """A background turn whose interaction has ended upstream, still waiting here."""
    conversation = await Conversation.objects.acreate(
        owner=owner, title="Bg", model="gemini-3.5-flash", background=True
    )
    await sock.send(
        {"type": "send", "conversation": conversation.pk, "parent": None, "text": "Write a haiku"}
    )
    reset = await sock.until(lambda f: f["type"] == "turn" and f.get("reset"))
    turn_id = reset["turn"]["id"]
    api = upstream_clients.client(turn_id).interactions
    async with asyncio.timeout(10):
        while True:
            turn = await Turn.objects.aget(pk=turn_id)
            if turn.interaction_id and (await api.get(turn.interaction_id)).status == "completed":
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    turn = await Turn.objects.aget(pk=turn_id)
    # Upstream is done; this worker has not polled since and waits.
    assert turn.status in Turn.ACTIVE and workers.running(turn_id) is not None
    return turn


async def test_a_bad_signature_is_refused_audited_and_changes_nothing(
    alice: Any, upstream: Any, connect: Any, webhooks: Any
) -> None:
    sock = await connect(alice)
    turn = await waiting_turn(alice, sock)
    body, headers = delivery("interaction.completed", turn.interaction_id, "msg-bad")
    forged = dict(headers, **{"webhook-signature": headers["webhook-signature"][:-6] + "AAAAA="})
    assert await post(body, forged) == 400
    wrong_key = "whsec_" + base64.b64encode(b"x" * 32).decode()
    assert (
        await post(*delivery("interaction.completed", turn.interaction_id, "m2", wrong_key)) == 400
    )
    await asyncio.sleep(0.5)
    assert (await Turn.objects.aget(pk=turn.pk)).status in Turn.ACTIVE
    assert workers.running(turn.pk) is not None
    assert not await WebhookDelivery.objects.aexists()  # a forged id is not even remembered
    refused = [e async for e in AuditEvent.objects.filter(action="webhook.refused")]
    assert len(refused) == 2 and "signature" in refused[0].details["reason"]


def count_finishes(monkeypatch: Any) -> list[int]:
    from chatapp import turn_hooks

    finished: list[int] = []
    original = turn_hooks.finished

    async def counted(conversation: Any, done: Turn) -> None:
        finished.append(done.pk)
        await original(conversation, done)

    monkeypatch.setattr(turn_hooks, "finished", counted)
    return finished


async def test_a_valid_delivery_completes_the_waiting_turn_and_its_replay_is_refused(
    alice: Any, upstream: Any, connect: Any, webhooks: Any, monkeypatch: Any
) -> None:
    sock = await connect(alice)
    turn = await waiting_turn(alice, sock)
    finished = count_finishes(monkeypatch)
    first = delivery("interaction.completed", turn.interaction_id, "msg-1")
    assert await post(*first) == 204
    final = await sock.until_final(turn.pk, timeout=10)  # long before the 300 s safety poll
    assert final["turn"]["status"] == "completed"
    done = await Turn.objects.aget(pk=turn.pk)
    assert done.status == "completed" and done.answer_text
    assert await post(*first) == 400  # the same delivery again: a replay
    assert await AuditEvent.objects.filter(action="webhook.refused").acount() == 1
    assert finished == [turn.pk]


async def test_deliveries_racing_a_poll_complete_the_turn_once(
    alice: Any, upstream: Any, connect: Any, webhooks: Any, monkeypatch: Any
) -> None:
    sock = await connect(alice)
    turn = await waiting_turn(alice, sock)
    finished = count_finishes(monkeypatch)
    generation: Any = workers.running(turn.pk)
    generation.wake.set()  # the poll, at the same moment as two deliveries
    codes = await asyncio.gather(
        post(*delivery("interaction.completed", turn.interaction_id, "msg-a")),
        post(*delivery("interaction.completed", turn.interaction_id, "msg-b")),
    )
    assert codes == [204, 204]
    await sock.until_final(turn.pk, timeout=10)
    if not any(f["type"] == "notify" for f in sock.frames):  # it may overtake the final frame
        await sock.until(lambda f: f["type"] == "notify")
    await asyncio.sleep(0.3)
    assert finished == [turn.pk]
    assert len([f for f in sock.frames if f["type"] == "turn" and f.get("final")]) == 1


def test_the_database_store_refuses_an_id_seen_before() -> None:
    until = time.time() + 60
    database = DatabaseSeen()
    assert database.remember("id-1", until) and not database.remember("id-1", until)


@pytest.mark.deploy
def test_the_redis_store_refuses_an_id_seen_before() -> None:
    until = time.time() + 60
    redis_store = RedisSeen("redis://127.0.0.1:6379/15")
    key = f"id-{time.time()}"
    try:
        assert redis_store.remember(key, until) and not redis_store.remember(key, until)
    finally:
        redis_store.redis.delete(f"gemini-webhook:{key}")


async def test_unconfigured_webhooks_are_not_served(settings: Any) -> None:
    settings.GEMINI_WEBHOOK_SECRET = []
    assert await post(*delivery("interaction.completed", "v1_x", "m")) == 404


async def test_a_turn_running_on_another_worker_is_woken_there(
    alice: Any, monkeypatch: Any
) -> None:
    conversation = await Conversation.objects.acreate(owner=alice, model="m", background=True)
    turn = await Turn.objects.acreate(
        conversation=conversation,
        model="m",
        interaction_id="v1_elsewhere",
        status=Turn.Status.IN_PROGRESS,
        worker="specific.relay.other!abc",
    )
    asked: list[tuple[int, dict[str, Any]]] = []

    async def ask(target: Turn, message: dict[str, Any]) -> bool:
        asked.append((target.pk, message))
        return True

    monkeypatch.setattr(workers, "ask", ask)
    event = WebhookEvent(type="interaction.completed", data={"id": "v1_elsewhere"})
    assert await gemini_webhooks.deliver(event) == "woken"
    assert asked == [(turn.pk, {"type": "relay.wake"})]
    event = WebhookEvent(type="interaction.completed", data={"id": "v1_unknown"})
    assert await gemini_webhooks.deliver(event) == "no active turn"


def test_the_command_registers_the_webhook_and_prints_its_secret(upstream: Any) -> None:
    out = io.StringIO()
    call_command("gemini_webhook", "https://chat.example.com/hooks/gemini/", stdout=out)
    assert re.fullmatch(r"GEMINI_WEBHOOK_SECRET=whsec_\S+\n", out.getvalue())
    client = ApiClient(api_key="test-key", base_url=upstream.base_url)
    [hook] = list(client.webhooks.iter())
    assert hook.uri == "https://chat.example.com/hooks/gemini/"
    assert "interaction.completed" in hook.subscribed_events


async def test_the_worker_running_the_turn_wakes_it_when_asked(
    alice: Any, upstream: Any, connect: Any, webhooks: Any, monkeypatch: Any
) -> None:
    # This worker's channel and its listener, opened in this test's event loop.
    monkeypatch.setattr(workers, "_channel", None)
    monkeypatch.setattr(workers, "_opening", None)
    sock = await connect(alice)
    turn = await waiting_turn(alice, sock)
    # What another worker's webhook endpoint sends to this one (chatapp.workers.ask).
    await get_channel_layer().send(await workers.channel(), {"type": "relay.wake", "turn": turn.pk})
    final = await sock.until_final(turn.pk, timeout=10)  # long before the 300 s safety poll
    assert final["turn"]["status"] == "completed"
