"""Gemini's webhooks: an authentic "interaction ended" delivery wakes the background turn
waiting for that interaction, on whichever worker runs it (`chatapp.background`).

A delivery is checked with our client's `verify_webhook` against `GEMINI_WEBHOOK_SECRET`;
its id is remembered in a store every worker shares (Redis with `REDIS_URL`, the database
otherwise), so a replay is refused. The event only wakes the generation: the generation
fetches the interaction and finishes the turn itself, as after a poll, so a webhook racing a
poll (or a second delivery) completes the turn once. The result of an agent trigger's run
(`chatapp.agent_triggers`) is looked for at once as well.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from interactions_client import verify_webhook
from interactions_client.types.automation import WebhookEvent

from . import agent_triggers, workers
from .models import Turn, WebhookDelivery

log = logging.getLogger(__name__)

INTERACTION_ENDED = frozenset(
    {
        "interaction.completed",
        "interaction.failed",
        "interaction.cancelled",
        "interaction.requires_action",
    }
)


class SeenIds(Protocol):
    def remember(self, message_id: str, until: float) -> bool: ...


class DatabaseSeen:
    """Accepted delivery ids as rows, unique: the second insert of an id loses."""

    def remember(self, message_id: str, until: float) -> bool:
        WebhookDelivery.objects.filter(until__lt=timezone.now()).delete()
        expires = datetime.fromtimestamp(until, UTC) + timedelta(seconds=1)
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(message_id=message_id[:200], until=expires)
        except IntegrityError:
            return False
        return True


class RedisSeen:
    """Accepted delivery ids as Redis keys that expire with the signature's window."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def remember(self, message_id: str, until: float) -> bool:
        key = f"gemini-webhook:{message_id}"
        return bool(self.redis.set(key, "1", nx=True, exat=int(until) + 1))


@lru_cache(maxsize=1)
def _redis_seen(url: str) -> RedisSeen:
    return RedisSeen(url)


def seen_store() -> SeenIds:
    return _redis_seen(settings.REDIS_URL) if settings.REDIS_URL else DatabaseSeen()


def verify(body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """The event of an authentic, new delivery; `WebhookVerificationError` otherwise."""
    return verify_webhook(body, headers, settings.GEMINI_WEBHOOK_SECRET, seen=seen_store())


async def deliver(event: WebhookEvent) -> str:
    """Act on a verified event; what it did, for the log."""
    interaction_id = str(event.data.get("id") or "")
    if event.type not in INTERACTION_ENDED or not interaction_id:
        return "ignored"
    turn = await Turn.objects.filter(interaction_id=interaction_id, status__in=Turn.ACTIVE).afirst()
    if turn is None:
        agent_triggers.look_now()  # perhaps a trigger's run: its poller fetches the results at once
        return "no active turn"
    return "woken" if await wake(turn) else "no generation"


async def wake(turn: Turn) -> bool:
    """Wake the generation of `turn` here, or ask the worker that runs it."""
    generation: Any = workers.running(turn.pk)
    if generation is not None and hasattr(generation, "wake"):
        generation.wake.set()
        return True
    return await workers.ask(turn, {"type": "relay.wake"})
