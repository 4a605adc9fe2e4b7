"""Building the upstream request of a turn from the conversation's settings and branch."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import Conversation, Turn

# Steps of these turns are a complete answer that can be replayed upstream.
REPLAYABLE = (Turn.Status.COMPLETED, Turn.Status.INCOMPLETE)


def settings_fields(conversation: Conversation) -> dict[str, Any]:
    """Per-request fields: the API does not inherit them through previous_interaction_id."""
    if conversation.model in settings.CHAT_MODELS.get("Agents", []):
        # Agents run in a remote sandbox and take no generation_config.
        agent: dict[str, Any] = {"agent": conversation.model, "environment": "remote"}
        if conversation.system_instruction:
            agent["system_instruction"] = conversation.system_instruction
        if conversation.stateless:
            agent["store"] = False
        return agent
    fields: dict[str, Any] = {"model": conversation.model}
    config: dict[str, Any] = {}
    if conversation.thinking_level:
        config["thinking_level"] = conversation.thinking_level
    if conversation.temperature is not None:
        config["temperature"] = conversation.temperature
    if config:
        fields["generation_config"] = config
    if conversation.system_instruction:
        fields["system_instruction"] = conversation.system_instruction
    if conversation.stateless:
        fields["store"] = False
    return fields


def replayed_history(path: list[Turn]) -> list[dict[str, Any]]:
    """The whole branch as steps: each user input, then the model's steps exactly as received."""
    steps: list[dict[str, Any]] = []
    for turn in path[:-1]:
        steps.append({"type": "user_input", "content": turn.user_input})
        if turn.status in REPLAYABLE:
            steps.extend(turn.steps)
    steps.append({"type": "user_input", "content": path[-1].user_input})
    return steps


def build_request(
    conversation: Conversation, path: list[Turn], *, force_replay: bool = False
) -> dict[str, Any]:
    """Chain onto the parent's stored interaction when possible, else replay the branch.

    `path` is root-first and ends with the turn being generated.
    """
    fields = settings_fields(conversation)
    turn = path[-1]
    parent = path[-2] if len(path) > 1 else None
    chainable = (
        parent is not None
        and not conversation.stateless
        and parent.stored
        and bool(parent.interaction_id)
        and parent.status in REPLAYABLE
    )
    if chainable and not force_replay:
        assert parent is not None
        fields["previous_interaction_id"] = parent.interaction_id
        fields["input"] = [{"type": "user_input", "content": turn.user_input}]
    else:
        fields["input"] = replayed_history(path)
    return fields
