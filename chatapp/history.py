"""Building the upstream request of a turn from the conversation's settings and branch.

Turns keep files by reference (`"attachment": uuid`): uploads in `user_input`, generated
images in `steps`. `Expand` turns a reference back into the content the API takes, so a
replayed history carries every image exactly as it was sent or received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from .models import Conversation, Turn

# Steps of these turns are a complete answer that can be replayed upstream.
REPLAYABLE = (Turn.Status.COMPLETED, Turn.Status.INCOMPLETE)

Expand = Callable[[dict[str, Any]], dict[str, Any]]


def _same(item: dict[str, Any]) -> dict[str, Any]:
    return item


def is_agent(conversation: Conversation) -> bool:
    return conversation.model in settings.CHAT_MODELS.get("Agents", [])


def tool_declarations(conversation: Conversation) -> list[dict[str, Any]]:
    from .knowledge import store_names
    from .remote_tools import grounding_tool, mcp_declarations
    from .tools import registry

    tools: list[dict[str, Any]] = [
        grounding_tool(name) for name in Conversation.GROUNDING if getattr(conversation, name)
    ]
    available = registry()
    tools += [available[name].declaration() for name in conversation.tools if name in available]
    if conversation.mcp_servers:
        tools += mcp_declarations(conversation.mcp_servers)
    if conversation.pk and (stores := store_names(conversation)):
        tools.append({"type": "file_search", "file_search_store_names": stores})
    return tools


def settings_fields(conversation: Conversation) -> dict[str, Any]:
    """Per-request fields: the API does not inherit them through previous_interaction_id."""
    fields: dict[str, Any]
    if is_agent(conversation):
        # Agents run in a remote sandbox (reused by follow-ups) and take no generation_config.
        fields = {
            "agent": conversation.model,
            "environment": conversation.environment_id or "remote",
        }
    else:
        fields = {"model": conversation.model}
        config: dict[str, Any] = {}
        if conversation.thinking_level:
            config["thinking_level"] = conversation.thinking_level
        if conversation.thinking_level != "minimal":
            # The page shows the model's thinking as it streams: ask for its summaries.
            config["thinking_summaries"] = "auto"
        if conversation.temperature is not None:
            config["temperature"] = conversation.temperature
        if config:
            fields["generation_config"] = config
        if conversation.response_schema:
            fields["response_format"] = {
                "type": "text",
                "mime_type": "application/json",
                "schema": conversation.response_schema,
            }
    tools = tool_declarations(conversation)
    if tools:
        fields["tools"] = tools
    if conversation.system_instruction:
        fields["system_instruction"] = conversation.system_instruction
    if conversation.stateless:
        fields["store"] = False
    elif conversation.background or conversation.model.startswith("deep-research"):
        # Deep Research runs only in the background: the answer arrives with no tab open.
        fields["background"] = True
    return fields


def user_step(turn: Turn, expand: Expand = _same) -> dict[str, Any]:
    return {"type": "user_input", "content": [expand(item) for item in turn.user_input]}


def replay_steps(steps: list[dict[str, Any]], expand: Expand = _same) -> list[dict[str, Any]]:
    """Model steps as the API sent them: generated images get their data back."""
    replayed = []
    for step in steps:
        content = step.get("content")
        if step.get("type") == "model_output" and isinstance(content, list):
            step = {**step, "content": [expand(item) for item in content]}
        replayed.append(step)
    return replayed


def replayed_history(path: list[Turn], expand: Expand = _same) -> list[dict[str, Any]]:
    """The whole branch as steps: each user input, then the model's steps exactly as received."""
    steps: list[dict[str, Any]] = []
    for turn in path[:-1]:
        steps.append(user_step(turn, expand))
        if turn.status in REPLAYABLE:
            steps.extend(replay_steps(turn.steps, expand))
    steps.append(user_step(path[-1], expand))
    return steps


def build_request(
    conversation: Conversation,
    path: list[Turn],
    *,
    force_replay: bool = False,
    expand: Expand = _same,
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
    if conversation.model.startswith("deep-research"):
        from .research import agent_fields

        fields.pop("environment", None)  # Deep Research needs no sandbox
        fields.update(agent_fields(path))
    if chainable and not force_replay:
        assert parent is not None
        fields["previous_interaction_id"] = parent.interaction_id
        fields["input"] = [user_step(turn, expand)]
    else:
        fields["input"] = replayed_history(path, expand)
    return fields


def continuation_request(
    conversation: Conversation,
    path: list[Turn],
    previous: list[dict[str, Any]],
    results: list[dict[str, Any]],
    interaction_id: str | None,
    expand: Expand = _same,
) -> dict[str, Any]:
    """The next round of a function-calling loop: the results, chained or replayed."""
    fields = settings_fields(conversation)
    fields.pop("background", None)
    if interaction_id and not conversation.stateless:
        fields["previous_interaction_id"] = interaction_id
        fields["input"] = results
    else:
        history = replayed_history(path, expand)
        fields["input"] = history + replay_steps(previous, expand) + results
    return fields
