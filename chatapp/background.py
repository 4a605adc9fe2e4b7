"""Waiting for a background interaction once its stream is gone: polling with backoff, and
woken at once when a verified webhook says it ended (`chatapp.gemini_webhooks` sets the
generation's `wake`). With webhooks configured the poll is only a safety net at a long
interval. Whoever wakes it, the generation itself fetches the result and finishes the turn,
so a webhook racing the poll completes it once."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.conf import settings

from interactions_client import Interaction

RUNNING = frozenset({"queued", "in_progress"})


def webhooks_configured() -> bool:
    return bool(settings.GEMINI_WEBHOOK_SECRET)


async def wait_background(api: Any, interaction_id: str, wake: asyncio.Event) -> Interaction:
    """The interaction once it is no longer running."""
    if webhooks_configured():
        interval = ceiling = float(settings.WEBHOOK_SAFETY_POLL_SECONDS)
    else:
        interval = float(settings.BACKGROUND_POLL_SECONDS)
        ceiling = float(settings.BACKGROUND_MAX_POLL_SECONDS)
    while True:
        wake.clear()  # a webhook from now on is news: it ends the sleep below
        interaction: Interaction = await api.get(interaction_id)
        if interaction.status not in RUNNING:
            return interaction
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)
        interval = min(interval * 1.5, ceiling)


async def recovered(api: Any, turn: Any, wake: asyncio.Event) -> Interaction:
    """A recovered turn's interaction when its stream cannot be re-attached: a background
    one is waited for to its end; any other is taken as it is now."""
    if turn.conversation.background:
        return await wait_background(api, turn.interaction_id, wake)
    interaction: Interaction = await api.get(turn.interaction_id)
    return interaction
