"""The real google-genai SDK, pointed at the simulator, runs every quickstart example.

Each test follows the quickstart code (seeds/000) as closely as possible and then checks
that the SDK parsed everything and that the request really reached the simulator.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from interactions_client.simulator import Fault, SimulatorConfig, serve
from interactions_client.simulator.server import RunningSimulator

genai = pytest.importorskip("google.genai")

MODEL = "gemini-3.5-flash"
BANNER = "*Offline simulator — not a real Gemini answer.*"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    config = SimulatorConfig(background_seconds=0.3, directive_retry_after=0.1)
    with serve(config) as running:
        yield running


@pytest.fixture()
def client(sim: RunningSimulator) -> Any:
    sim.app.faults.clear()
    return genai.Client(api_key="test-key", http_options={"base_url": sim.base_url})


@pytest.fixture()
def no_retry_client(sim: RunningSimulator) -> Any:
    options = {"base_url": sim.base_url, "retry_options": {"attempts": 1}}
    return genai.Client(api_key="test-key", http_options=options)


def assert_parsed(interaction: Any) -> None:
    """No step, content item or annotation fell back to the SDK's Unknown* placeholders."""
    for step in interaction.steps or []:
        assert not getattr(step, "is_unknown", False), step
        for item in getattr(step, "content", None) or []:
            assert not getattr(item, "is_unknown", False), item
            for note in getattr(item, "annotations", None) or []:
                assert not getattr(note, "is_unknown", False), note


def last_request(sim: RunningSimulator) -> dict[str, Any]:
    request: dict[str, Any] = sim.app.requests[-1]
    return request


def test_first_call(sim: RunningSimulator, client: Any) -> None:
    interaction = client.interactions.create(
        model=MODEL, input="Explain how AI works in a few words"
    )
    assert interaction.status == "completed" and interaction.id.startswith("v1_")
    assert interaction.output_text.startswith(BANNER)
    assert "“Explain how AI works in a few words”" in interaction.output_text
    assert [s.type for s in interaction.steps] == ["thought", "model_output"]
    assert interaction.steps[0].signature and interaction.usage.total_tokens > 0
    assert_parsed(interaction)
    request = last_request(sim)
    assert request["path"] == "/v1/interactions" and request["headers"]["x-goog-api-key"]


def test_streaming(client: Any) -> None:
    stream = client.interactions.create(model=MODEL, input="Explain how AI works", stream=True)
    events = list(stream)
    kinds = [event.event_type for event in events]
    assert kinds[:2] == ["interaction.created", "interaction.status_update"]
    assert kinds[-1] == "interaction.completed" and events[-1].interaction.status == "completed"
    assert all(event.event_id for event in events)
    text = "".join(
        e.delta.text for e in events if e.event_type == "step.delta" and e.delta.type == "text"
    )
    assert text.startswith(BANNER) and "“Explain how AI works”" in text
    assert not any(type(e).__name__.startswith("Unknown") for e in events)


def test_stateful_conversation(client: Any) -> None:
    interaction1 = client.interactions.create(model=MODEL, input="I have 2 dogs in my house.")
    interaction2 = client.interactions.create(
        model=MODEL,
        input="How many paws are in my house?",
        previous_interaction_id=interaction1.id,
    )
    assert "1. “I have 2 dogs in my house.”" in interaction2.output_text
    assert "“How many paws are in my house?”" in interaction2.output_text
    stored = client.interactions.get(interaction2.id)
    assert stored.steps[0].type == "user_input" and stored.output_text == interaction2.output_text


def test_stateless_conversation(sim: RunningSimulator, client: Any) -> None:
    history: list[dict[str, Any]] = [
        {"type": "user_input", "content": [{"type": "text", "text": "I have 2 dogs in my house."}]}
    ]
    interaction1 = client.interactions.create(model=MODEL, store=False, input=history)
    assert interaction1.steps[-1].content[0].text.startswith(BANNER)
    for step in interaction1.steps:
        history.append(step.model_dump())
    history.append(
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "How many paws are in my house?"}],
        }
    )
    interaction2 = client.interactions.create(model=MODEL, store=False, input=history)
    assert "1. “I have 2 dogs in my house.”" in interaction2.steps[-1].content[0].text
    sent = last_request(sim)["json"]["input"]
    assert sent[1]["signature"] == interaction1.steps[0].signature  # re-sent unchanged


def test_tampered_signature_is_rejected(client: Any) -> None:
    first = client.interactions.create(model=MODEL, store=False, input="hello")
    history = [{"type": "user_input", "content": [{"type": "text", "text": "hello"}]}]
    history += [step.model_dump() for step in first.steps]
    history[1]["signature"] = base64.b64encode(b"forged signature bytes").decode()
    history.append({"type": "user_input", "content": [{"type": "text", "text": "again"}]})
    with pytest.raises(Exception) as caught:
        client.interactions.create(model=MODEL, store=False, input=history)
    assert getattr(caught.value, "status_code", None) == 400
    assert "Corrupted thought signature" in str(caught.value)


def test_multimodal_understanding(client: Any) -> None:
    image_bytes = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    image_b64 = base64.b64encode(image_bytes).decode("utf-8")
    interaction = client.interactions.create(
        model=MODEL,
        input=[
            {"type": "text", "text": "Compare this local image and this remote audio file."},
            {"type": "image", "data": image_b64, "mime_type": "image/jpeg"},
            {
                "type": "audio",
                "uri": "https://storage.googleapis.com/generativeai-downloads/data/sample.mp3",
                "mime_type": "audio/mp3",
            },
        ],
    )
    text = interaction.output_text
    assert f"image (image/jpeg, {len(image_bytes)} bytes inline)" in text
    assert "audio (audio/mp3) at https://storage.googleapis.com/" in text


def test_image_generation(client: Any) -> None:
    interaction = client.interactions.create(
        model="gemini-3.1-flash-image",
        input="Generate an image of a futuristic city skyline at sunset",
    )
    data = base64.b64decode(interaction.output_image.data)
    assert interaction.output_image.mime_type == "image/png"
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.open(io.BytesIO(data))
    image.load()
    assert image.size == (256, 256)
    assert_parsed(interaction)


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: list[str] = Field(description="List of ingredients.")
    prep_time_minutes: int | None = Field(description="Prep time in minutes.")


def test_structured_output(client: Any) -> None:
    interaction = client.interactions.create(
        model=MODEL,
        input="Give me a recipe for banana bread",
        response_format={
            "type": "text",
            "mime_type": "application/json",
            "schema": Recipe.model_json_schema(),
        },
    )
    recipe = Recipe.model_validate_json(interaction.output_text)
    assert "banana bread" in recipe.recipe_name and recipe.ingredients


def test_google_search_with_citations(client: Any) -> None:
    interaction = client.interactions.create(
        model=MODEL, input="Who won the euro 2024?", tools=[{"type": "google_search"}]
    )
    assert "Who won the euro 2024?" in interaction.output_text
    citations = []
    for step in interaction.steps:
        if step.type == "model_output":
            for content_block in step.content:
                if content_block.type == "text" and content_block.annotations:
                    encoded = content_block.text.encode()
                    for annotation in content_block.annotations:
                        if annotation.type == "url_citation":
                            span = encoded[annotation.start_index : annotation.end_index]
                            citations.append((annotation.title, annotation.url, span.decode()))
    assert len(citations) >= 2
    assert all(span.endswith(".") and url.startswith("https://") for _, url, span in citations)
    kinds = [s.type for s in interaction.steps]
    assert kinds[1:3] == ["google_search_call", "google_search_result"]
    assert "<style>" in interaction.steps[2].result[0].search_suggestions
    assert_parsed(interaction)


def test_url_context_and_code_execution(client: Any) -> None:
    interaction = client.interactions.create(
        model=MODEL,
        input="What does https://example.com/page say?",
        tools=[{"type": "url_context"}, {"type": "code_execution"}],
    )
    assert_parsed(interaction)
    kinds = [s.type for s in interaction.steps]
    assert kinds[1:5] == [
        "url_context_call",
        "url_context_result",
        "code_execution_call",
        "code_execution_result",
    ]
    assert interaction.steps[1].arguments.urls == ["https://example.com/page"]
    assert "https://example.com/page" in interaction.output_text


WEATHER_TOOL = {
    "type": "function",
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city name, e.g. San Francisco"},
        },
        "required": ["location"],
    },
}
AVAILABLE_FUNCTIONS = {
    "get_current_temperature": lambda location: {
        "location": location,
        "temperature": "22",
        "unit": "celsius",
    },
}


def test_function_calling_stateful_loop(client: Any) -> None:
    user_input: Any = "What is the temperature in London?"
    previous_id = None
    calls = []
    while True:
        interaction = client.interactions.create(
            model=MODEL,
            input=user_input,
            tools=[WEATHER_TOOL],
            previous_interaction_id=previous_id,
        )
        function_results = []
        for step in interaction.steps:
            if step.type == "function_call":
                result = AVAILABLE_FUNCTIONS[step.name](**step.arguments)
                calls.append((step.name, step.arguments))
                function_results.append(
                    {
                        "type": "function_result",
                        "name": step.name,
                        "call_id": step.id,
                        "result": [{"type": "text", "text": json.dumps(result)}],
                    }
                )
        if not function_results:
            break
        user_input = function_results
        previous_id = interaction.id
    assert calls == [("get_current_temperature", {"location": "London"})]
    assert interaction.status == "completed"
    assert '"temperature": "22"' in interaction.output_text


def test_function_calling_stateless_loop(client: Any) -> None:
    history: list[dict[str, Any]] = [
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "What is the temperature in London?"}],
        }
    ]
    rounds = 0
    while True:
        rounds += 1
        interaction = client.interactions.create(
            model=MODEL, store=False, input=history, tools=[WEATHER_TOOL]
        )
        function_results = []
        for step in interaction.steps:
            history.append(step.model_dump())
            if step.type == "function_call":
                result = AVAILABLE_FUNCTIONS[step.name](**step.arguments)
                fn_result = {
                    "type": "function_result",
                    "name": step.name,
                    "call_id": step.id,
                    "result": [{"type": "text", "text": json.dumps(result)}],
                }
                function_results.append(fn_result)
                history.append(fn_result)
        if not function_results:
            break
    assert rounds == 2 and '"location": "London"' in interaction.output_text


def test_managed_agent(client: Any) -> None:
    interaction = client.interactions.create(
        agent="antigravity-preview-05-2026",
        input=(
            "Write a Python script that generates the first 20 Fibonacci numbers and saves "
            "them to fibonacci.txt. Then read the file and print its contents."
        ),
        environment="remote",
    )
    assert interaction.environment_id.startswith("env_")
    assert "fibonacci.txt" in interaction.output_text and "4181" in interaction.output_text
    assert [s.type for s in interaction.steps][1:3] == [
        "code_execution_call",
        "code_execution_result",
    ]
    assert_parsed(interaction)


def test_background_polling(client: Any) -> None:
    interaction = client.interactions.create(
        model=MODEL,
        input="Write a detailed analysis of the impact of artificial intelligence on modern "
        "healthcare.",
        background=True,
    )
    assert interaction.status == "in_progress"
    statuses = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        result = client.interactions.get(interaction.id)
        statuses.append(result.status)
        if result.status in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert statuses[0] == "in_progress" and statuses[-1] == "completed"
    assert "modern healthcare" in result.output_text


def test_automatic_continuation(client: Any) -> None:
    interaction = client.interactions.create(model=MODEL, input="[[sim:long]] Tell me a story")
    assert interaction.status == "completed" and len(interaction.continuation_ids) >= 3
    assert all(f"## Part {n}\n" in interaction.output_text for n in range(1, 13))
    events = list(
        client.interactions.create(model=MODEL, input="[[sim:long]] Tell me a story", stream=True)
    )
    text = "".join(
        e.delta.text for e in events if e.event_type == "step.delta" and e.delta.type == "text"
    )
    assert text == interaction.output_text
    finals = [e.interaction.status for e in events if e.event_type == "interaction.completed"]
    assert finals[-1] == "completed" and finals[:-1] == ["requires_continuation"] * (
        len(finals) - 1
    )


def test_retry_after_429_and_errors(
    sim: RunningSimulator, client: Any, no_retry_client: Any
) -> None:
    sim.app.faults.push(Fault(kind="status", status=429, retry_after=0.1))
    assert client.interactions.create(model=MODEL, input="retry").status == "completed"
    assert [r["json"]["input"] for r in sim.app.requests[-2:]] == ["retry", "retry"]
    prompt = f"[[sim:503]] overloaded {time.monotonic_ns()}"
    assert client.interactions.create(model=MODEL, input=prompt).status == "completed"
    with pytest.raises(Exception) as caught:
        no_retry_client.interactions.get("v1_missing")
    assert getattr(caught.value, "status_code", None) == 404
    sim.app.faults.push(Fault(kind="error_event", after_events=4))
    events = list(no_retry_client.interactions.create(model=MODEL, input="x", stream=True))
    assert events[-1].event_type == "error" and events[-1].error.code == "internal"


def test_get_stream_reattach_cancel_and_delete(client: Any) -> None:
    started = client.interactions.create(model=MODEL, input="Long task", background=True)
    events = list(client.interactions.get(started.id, stream=True))
    assert events[-1].event_type == "interaction.completed"
    resumed = list(client.interactions.get(started.id, stream=True, last_event_id="evt_2"))
    assert [e.event_id for e in resumed] == [e.event_id for e in events[2:]]
    full = client.interactions.get(started.id, include_input=True)
    assert full.input == "Long task" and full.status == "completed"

    victim = client.interactions.create(model=MODEL, input="cancel me", background=True)
    assert client.interactions.cancel(victim.id).status == "cancelled"
    assert client.interactions.delete(victim.id) is None
    with pytest.raises(Exception) as caught:
        client.interactions.get(victim.id)
    assert getattr(caught.value, "status_code", None) == 404
