"""An agent's environment: its stream may not name it, so it is asked for once, and the next
turn of the conversation reuses the same remote sandbox."""

from __future__ import annotations

import logging
from typing import Any

from interactions_client import Accumulator, InteractionsError

from . import upstream
from .history import is_agent

log = logging.getLogger(__name__)


async def learn_environment(conversation: Any, acc: Accumulator, turn_id: int) -> None:
    interaction_id = acc.data.get("id")
    if not is_agent(conversation) or acc.data.get("environment_id") or not interaction_id:
        return
    try:
        interaction = await upstream.client(turn_id).interactions.get(interaction_id)
    except InteractionsError as exc:
        log.info("turn %s: environment of %s unknown (%r)", turn_id, interaction_id, exc)
        return
    if interaction.environment_id:
        acc.data["environment_id"] = interaction.environment_id
