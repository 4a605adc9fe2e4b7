"""How a turn's upstream request is built from the conversation and its branch."""

from __future__ import annotations

from typing import Any

import pytest

from chatapp.history import build_request
from chatapp.models import Conversation, Turn

pytestmark = pytest.mark.django_db

THOUGHT = {"type": "thought", "signature": "c2lnbmF0dXJl"}
ANSWER = {"type": "model_output", "content": [{"type": "text", "text": "Two dogs."}]}


def chain(owner: Any, **settings: Any) -> list[Turn]:
    conversation = Conversation.objects.create(owner=owner, model="gemini-3.5-flash", **settings)
    first = Turn.objects.create(
        conversation=conversation,
        model="m",
        status="completed",
        interaction_id="v1_first",
        user_input=[{"type": "text", "text": "I have 2 dogs."}],
        steps=[THOUGHT, ANSWER],
    )
    second = Turn.objects.create(
        conversation=conversation,
        parent=first,
        model="m",
        user_input=[{"type": "text", "text": "How many paws?"}],
    )
    return [first, second]


def test_a_stored_parent_is_chained_by_id(alice: Any) -> None:
    path = chain(alice, system_instruction="Be brief.", thinking_level="low", temperature=0.3)
    assert build_request(path[0].conversation, path) == {
        "model": "gemini-3.5-flash",
        "generation_config": {
            "thinking_level": "low",
            "thinking_summaries": "auto",
            "temperature": 0.3,
        },
        "system_instruction": "Be brief.",
        "previous_interaction_id": "v1_first",
        "input": [{"type": "user_input", "content": [{"type": "text", "text": "How many paws?"}]}],
    }


def test_stateless_mode_replays_every_step_exactly(alice: Any) -> None:
    path = chain(alice, stateless=True)
    request = build_request(path[0].conversation, path)
    assert request["store"] is False and "previous_interaction_id" not in request
    assert request["input"] == [
        {"type": "user_input", "content": [{"type": "text", "text": "I have 2 dogs."}]},
        THOUGHT,
        ANSWER,
        {"type": "user_input", "content": [{"type": "text", "text": "How many paws?"}]},
    ]


def test_a_failed_parent_is_replayed_without_its_partial_steps(alice: Any) -> None:
    first, second = chain(alice)
    first.status = "failed"
    request = build_request(first.conversation, [first, second])
    assert "previous_interaction_id" not in request
    assert [s["type"] for s in request["input"]] == ["user_input", "user_input"]


@pytest.mark.parametrize(
    ("level", "summaries"), [("", "auto"), ("low", "auto"), ("high", "auto"), ("minimal", None)]
)
def test_thought_summaries_are_asked_for_unless_thinking_is_minimal(
    alice: Any, level: str, summaries: str | None
) -> None:
    path = chain(alice, thinking_level=level)
    config = build_request(path[0].conversation, path).get("generation_config", {})
    assert config.get("thinking_summaries") == summaries


def test_agents_are_sent_as_agents_in_a_remote_environment(alice: Any) -> None:
    path = chain(alice, thinking_level="high")
    conversation = path[0].conversation
    conversation.model = "antigravity-preview-05-2026"
    request = build_request(conversation, path)
    assert request["agent"] == "antigravity-preview-05-2026" and request["environment"] == "remote"
    assert "model" not in request and "generation_config" not in request


def test_deep_research_always_runs_in_the_background(alice: Any) -> None:
    path = chain(alice)
    conversation = path[0].conversation
    conversation.model = "deep-research-preview-04-2026"
    assert build_request(conversation, path)["background"] is True
    conversation.model = "antigravity-preview-05-2026"  # other agents follow the setting
    assert "background" not in build_request(conversation, path)
