"""Our client and the real google-genai SDK, pointed at the same simulator, agree.

The SDK (a dev dependency only) is an independent parser of the wire format: it must parse
every response and event the simulator sends, and both clients must read the same things
out of them. Ids, timestamps and signatures differ between two calls and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai

from interactions_client import Client
from interactions_client.simulator import SimulatorConfig, serve

VOLATILE = {
    "id",
    "call_id",
    "created",
    "updated",
    "signature",
    "event_id",
    "interaction_id",
    "environment_id",
    "previous_interaction_id",
    "continuation_token",
    # The SDK stores its computed helpers as fields.
    "output_text",
    "output_image",
    "output_audio",
    "output_video",
    "continuation_ids",
    # The SDK's continuation layer fills this in even for a single hop.
    "initial_input_tokens",
}

ENV_ID = re.compile(r"env_[A-Za-z0-9_-]+")
WEATHER = {
    "type": "function",
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}
RECIPE_SCHEMA = {
    "type": "object",
    "properties": {
        "recipe_name": {"type": "string"},
        "ingredients": {"type": "array", "items": {"type": "string"}},
        "prep_time_minutes": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["recipe_name", "ingredients", "prep_time_minutes"],
}
SCENARIOS: dict[str, dict[str, Any]] = {
    "text": {"model": "gemini-3.5-flash", "input": "Explain how AI works in a few words"},
    "thinking summaries": {
        "model": "gemini-3.5-flash",
        "input": "Why is the sky blue?",
        "generation_config": {"thinking_summaries": "auto", "thinking_level": "high"},
    },
    "system instruction": {
        "model": "gemini-2.5-flash",
        "input": "Hello",
        "system_instruction": "Answer like a pirate.",
    },
    "multimodal": {
        "model": "gemini-3.5-flash",
        "input": [
            {"type": "text", "text": "What is in this?"},
            {"type": "image", "data": "iVBORw0KGgo=", "mime_type": "image/png"},
            {"type": "audio", "uri": "https://example.com/a.mp3", "mime_type": "audio/mp3"},
        ],
    },
    "image generation": {
        "model": "gemini-3.1-flash-image",
        "input": "A purple city skyline at sunset",
    },
    "structured output": {
        "model": "gemini-3.5-flash",
        "input": "Give me a recipe for banana bread",
        "response_format": {
            "type": "text",
            "mime_type": "application/json",
            "schema": RECIPE_SCHEMA,
        },
    },
    "google search": {
        "model": "gemini-3.5-flash",
        "input": "Who won the euro 2024?",
        "tools": [{"type": "google_search"}],
    },
    "function call": {
        "model": "gemini-3.5-flash",
        "input": "What is the temperature in London?",
        "tools": [WEATHER],
    },
    "agent": {
        "agent": "antigravity-preview-05-2026",
        "input": "Print the first 5 Fibonacci numbers.",
        "environment": "remote",
    },
    "incomplete": {
        "model": "gemini-3.5-flash",
        "input": "Tell me a long story",
        "generation_config": {"max_output_tokens": 5},
    },
}


def strip(value: Any) -> Any:
    if isinstance(value, str):
        # An agent's answer names its (fresh) environment.
        return ENV_ID.sub("env_*", value)
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE and v is not None}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def sdk_dump(obj: Any) -> Any:
    return strip(obj.model_dump(mode="json", by_alias=True, exclude_none=True))


def ours_dump(obj: Any) -> Any:
    return strip(obj.model_dump(mode="json"))


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[Client, Any]]:
    with serve(SimulatorConfig()) as server:
        ours = Client(api_key="k", base_url=server.base_url)
        sdk = genai.Client(api_key="k", http_options={"base_url": server.base_url})
        yield ours, sdk
        ours.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_unary_results_agree(clients: tuple[Client, Any], name: str) -> None:
    ours, sdk = clients
    mine = ours.interactions.create(**SCENARIOS[name])
    theirs = sdk.interactions.create(**SCENARIOS[name])
    assert ours_dump(mine) == sdk_dump(theirs)
    assert mine.status == theirs.status
    assert strip(mine.output_text) == strip(theirs.output_text)
    if theirs.output_image is not None:
        assert mine.output_image is not None and mine.output_image.data == theirs.output_image.data


@pytest.mark.parametrize(
    "name", ["text", "thinking summaries", "google search", "function call", "image generation"]
)
def test_streamed_events_agree_and_fold_into_the_unary_result(
    clients: tuple[Client, Any], name: str
) -> None:
    ours, sdk = clients
    with ours.interactions.create(stream=True, **SCENARIOS[name]) as stream:
        mine = list(stream)
        folded = stream.interaction
    theirs = list(sdk.interactions.create(stream=True, **SCENARIOS[name]))
    assert [e.event_type for e in mine] == [e.event_type for e in theirs]
    assert [ours_dump(e) for e in mine] == [sdk_dump(e) for e in theirs]
    unary = ours.interactions.create(**SCENARIOS[name])
    assert ours_dump(folded) == ours_dump(unary)


def test_a_stateful_chain_reads_the_same(clients: tuple[Client, Any]) -> None:
    ours, sdk = clients
    first = ours.interactions.create(model="gemini-3.5-flash", input="I have 2 dogs.")
    # Each client continues a chain the other one started.
    theirs = sdk.interactions.create(
        model="gemini-3.5-flash", input="How many paws?", previous_interaction_id=first.id
    )
    mine = ours.interactions.create(
        model="gemini-3.5-flash", input="How many paws?", previous_interaction_id=first.id
    )
    assert mine.output_text == theirs.output_text
    assert "I have 2 dogs." in mine.output_text
    fetched_mine = ours.interactions.get(mine.id)
    fetched_theirs = sdk.interactions.get(mine.id)
    assert ours_dump(fetched_mine) == sdk_dump(fetched_theirs)
    assert fetched_mine.steps[0].type == "user_input"
