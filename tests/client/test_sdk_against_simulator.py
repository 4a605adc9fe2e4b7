"""The real google-genai SDK, pointed at the simulator, runs every quickstart example.

Each test follows the quickstart code (seeds/000) as closely as possible and then checks
that the SDK parsed everything and that the request really reached the simulator. The last
ones drive the Files API and file search stores the way the SDK's own helpers do, then the
tools Gemini runs itself (MCP servers, Google Maps), Deep Research, triggers and webhooks.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field

from interactions_client import verify_webhook
from interactions_client.simulator import Fault, SimulatorConfig, serve
from interactions_client.simulator.pdf import tiny_pdf
from interactions_client.simulator.server import RunningSimulator

from .mcp_server import McpBehaviour, serve_mcp
from .webhook_receiver import receive_webhooks

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


# --- Files API and file search stores (client.files, client.file_search_stores) ---


def test_files_upload_get_list_delete(sim: RunningSimulator, client: Any) -> None:
    data = b"Llamas hum when they are curious.\n" * 2000  # ~68 KB
    uploaded = client.files.upload(
        file=io.BytesIO(data), config={"mime_type": "text/plain", "display_name": "hum.txt"}
    )
    assert uploaded.name.startswith("files/") and uploaded.display_name == "hum.txt"
    assert uploaded.size_bytes == len(data) and uploaded.state.value == "ACTIVE"
    assert uploaded.uri.endswith(uploaded.name[5:]) and uploaded.sha256_hash
    assert (uploaded.expiration_time - uploaded.create_time).total_seconds() == 48 * 3600
    start = next(r for r in sim.app.requests if r["path"] == "/upload/v1/files")
    assert start["headers"]["x-goog-upload-command"] == "start"
    fetched = client.files.get(name=uploaded.name)
    assert fetched.name == uploaded.name and fetched.mime_type == "text/plain"
    for i in range(3):
        client.files.upload(file=io.BytesIO(b"x%d" % i), config={"mime_type": "text/plain"})
    listed = [f.name for f in client.files.list(config={"page_size": 2})]  # pages through
    assert uploaded.name in listed and len(listed) == len(set(listed)) >= 4
    interaction = client.interactions.create(
        model=MODEL,
        input=[
            {"type": "text", "text": "What do llamas do?"},
            {"type": "document", "uri": uploaded.uri, "mime_type": "text/plain"},
        ],
    )
    assert "reads: “Llamas hum when they are curious." in interaction.output_text
    client.files.delete(name=uploaded.name)
    with pytest.raises(genai.errors.ClientError) as caught:
        client.files.get(name=uploaded.name)
    assert caught.value.code == 403


def test_video_file_processing_then_expired(sim: RunningSimulator, client: Any) -> None:
    video = client.files.upload(
        file=io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + bytes(1000)),
        config={"mime_type": "video/mp4"},
    )
    assert video.state.value == "PROCESSING"
    deadline = time.monotonic() + 5
    while client.files.get(name=video.name).state.value == "PROCESSING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sim.app.files.expire(video.name[6:])
    with pytest.raises(Exception, match="may not exist"):
        client.interactions.create(
            model=MODEL, input=[{"type": "video", "uri": video.uri, "mime_type": "video/mp4"}]
        )


def test_file_search_store_document_and_citations(client: Any) -> None:
    store = client.file_search_stores.create(config={"display_name": "Team handbook"})
    assert store.name.startswith("fileSearchStores/team-handbook-")
    pdf = tiny_pdf(["Welcome to the handbook", "Vacation policy: llamas get 30 days off"])
    operation = client.file_search_stores.upload_to_file_search_store(
        file_search_store_name=store.name,
        file=io.BytesIO(pdf),
        config={
            "mime_type": "application/pdf",
            "display_name": "handbook.pdf",
            "custom_metadata": [{"key": "team", "string_value": "ops"}],
        },
    )
    deadline = time.monotonic() + 5
    while not operation.done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        operation = client.operations.get(operation)
    assert operation.error is None and operation.response.parent == store.name
    document_name = operation.response.document_name
    document = client.file_search_stores.documents.get(name=document_name)
    assert document.state.value == "STATE_ACTIVE" and document.display_name == "handbook.pdf"
    assert document.custom_metadata[0].string_value == "ops"
    listed = list(client.file_search_stores.documents.list(parent=store.name))
    assert [d.name for d in listed] == [document_name]
    assert store.name in [s.name for s in client.file_search_stores.list()]
    assert client.file_search_stores.get(name=store.name).active_documents_count == 1

    notes = client.files.upload(
        file=io.BytesIO(b"# Rota\n\nThe llamas vacation rota starts in June."),
        config={"mime_type": "text/markdown", "display_name": "rota.md"},
    )
    imported = client.file_search_stores.import_file(
        file_search_store_name=store.name, file_name=notes.name
    )
    while not imported.done:
        time.sleep(0.05)
        imported = client.operations.get(imported)
    assert imported.response.document_name.startswith(f"{store.name}/documents/")

    tools = [{"type": "file_search", "file_search_store_names": [store.name]}]
    question = "When does the llamas vacation start, and how long is it?"
    interaction = client.interactions.create(model=MODEL, input=question, tools=tools)
    assert_parsed(interaction)
    kinds = [step.type for step in interaction.steps]
    assert kinds == ["thought", "file_search_call", "file_search_result", "model_output"]
    assert interaction.steps[2].call_id == interaction.steps[1].id
    citations = [
        note
        for block in interaction.steps[-1].content
        for note in block.annotations or []
        if note.type == "file_citation"
    ]
    by_file = {c.file_name: c for c in citations}
    assert by_file["handbook.pdf"].page_number == 2
    assert by_file["handbook.pdf"].document_uri == document_name
    assert by_file["handbook.pdf"].custom_metadata == {"team": "ops"}
    assert by_file["rota.md"].page_number is None
    text = interaction.output_text.encode()
    cited = text[by_file["handbook.pdf"].start_index : by_file["handbook.pdf"].end_index]
    assert cited.decode().endswith("“Vacation policy: llamas get 30 days off”")
    media = client.file_search_stores.download_media(media_id=by_file["handbook.pdf"].media_id)
    assert media == pdf

    events = list(client.interactions.create(model=MODEL, input=question, tools=tools, stream=True))
    assert not any(type(e).__name__.startswith("Unknown") for e in events)
    deltas = [e.delta for e in events if e.event_type == "step.delta"]
    assert not any(type(d).__name__.startswith("Unknown") for d in deltas)
    assert any(d.type == "file_search_result" and d.result for d in deltas)
    notes_streamed = [a for d in deltas if d.type == "text_annotation_delta" for a in d.annotations]
    assert {a.file_name for a in notes_streamed} == {"handbook.pdf", "rota.md"}

    with pytest.raises(genai.errors.ClientError):
        client.file_search_stores.delete(name=store.name)  # not empty: needs force
    client.file_search_stores.delete(name=store.name, config={"force": True})
    with pytest.raises(genai.errors.ClientError):
        client.file_search_stores.get(name=store.name)


# --- tools Gemini runs itself, Deep Research, triggers and webhooks (issue 15) ---


def assert_events_parsed(events: list[Any]) -> None:
    for event in events:
        assert not type(event).__name__.startswith("Unknown"), event
        for part in ("delta", "step"):
            value = getattr(event, part, None)
            assert not getattr(value, "is_unknown", False), value
            assert not type(value).__name__.startswith("Unknown"), value


def test_mcp_server_tool_steps(client: Any) -> None:
    with serve_mcp() as (url, server):
        tool = {"type": "mcp_server", "name": "weather", "url": url, "headers": {"X-Team": "a"}}
        interaction = client.interactions.create(
            model=MODEL, input="Weather forecast for Oslo?", tools=[tool]
        )
        events = list(
            client.interactions.create(
                model=MODEL, input="Weather forecast for Oslo?", tools=[tool], stream=True
            )
        )
    assert_parsed(interaction)
    kinds = [s.type for s in interaction.steps]
    assert kinds[-3:] == ["mcp_server_tool_call", "mcp_server_tool_result", "model_output"]
    call, result = interaction.steps[-3], interaction.steps[-2]
    assert (call.server_name, call.name, call.arguments) == (
        "weather",
        "city_weather",
        {"city": "Oslo"},
    )
    assert result.call_id == call.id and result.result[0].text == "Sunny and 21 °C in Oslo"
    assert all(c["headers"].get("X-Team") == "a" for c in server.calls)
    assert_events_parsed(events)
    deltas = [e.delta for e in events if e.event_type == "step.delta"]
    assert {"mcp_server_tool_call", "mcp_server_tool_result"} <= {d.type for d in deltas}


def test_mcp_server_down_is_an_error_result(client: Any) -> None:
    with serve_mcp(McpBehaviour(status=401)) as (url, _server):
        interaction = client.interactions.create(
            model=MODEL,
            input="Add 1 and 2",
            tools=[{"type": "mcp_server", "name": "calc", "url": url}],
        )
    assert_parsed(interaction)
    result = [s for s in interaction.steps if s.type == "mcp_server_tool_result"][0]
    assert "HTTP 401" in result.result and "I could not use" in interaction.output_text


def test_google_maps_places_widget_and_place_citations(client: Any) -> None:
    tool = {"type": "google_maps", "enable_widget": True, "latitude": 52.52, "longitude": 13.405}
    interaction = client.interactions.create(model=MODEL, input="Bakeries near me", tools=[tool])
    events = list(
        client.interactions.create(model=MODEL, input="Bakeries near me", tools=[tool], stream=True)
    )
    assert_parsed(interaction)
    call, result = interaction.steps[-3], interaction.steps[-2]
    assert call.type == "google_maps_call" and call.arguments.queries == ["Bakeries near me"]
    assert result.type == "google_maps_result" and result.call_id == call.id
    assert result.result[0].widget_context_token and len(result.result[0].places) == 3
    place = result.result[0].places[0]
    assert place.place_id.startswith("places/") and place.review_snippets[0].review_id
    notes = interaction.steps[-1].content[0].annotations
    assert [n.type for n in notes] == ["place_citation"] * 3 and notes[0].place_id == place.place_id
    assert_events_parsed(events)


def test_deep_research_plan_confirm_report_and_cancel(client: Any) -> None:
    agent = "deep-research-preview-04-2026"
    config = {"type": "deep-research", "collaborative_planning": True, "thinking_summaries": "auto"}

    def finished(interaction_id: str) -> Any:
        for _ in range(200):
            got = client.interactions.get(interaction_id)
            if got.status not in ("queued", "in_progress"):
                return got
            time.sleep(0.05)
        raise AssertionError("still running")

    started = client.interactions.create(
        agent=agent, input="Tidal energy in Europe", agent_config=config, background=True
    )
    plan = finished(started.id)
    assert_parsed(plan)
    assert "## Research plan" in plan.output_text
    confirm = client.interactions.create(
        agent=agent,
        input="Yes, go ahead",
        agent_config=config,
        background=True,
        previous_interaction_id=plan.id,
    )
    events = list(client.interactions.get(confirm.id, stream=True))
    assert_events_parsed(events)
    assert any(e.event_type == "step.delta" and e.delta.type == "thought_summary" for e in events)
    report = finished(confirm.id)
    assert_parsed(report)
    assert "# Report: Tidal energy in Europe" in report.output_text
    notes = report.steps[-1].content[0].annotations
    assert notes and {n.type for n in notes} == {"url_citation"}
    running = client.interactions.create(
        agent=agent, input="Another topic", agent_config={"type": "deep-research"}, background=True
    )
    assert client.interactions.cancel(running.id).status == "cancelled"


def test_triggers_and_executions(sim: RunningSimulator, client: Any) -> None:
    run = {"agent": "antigravity-preview-05-2026", "input": "Morning digest"}
    trigger = client.triggers.create(
        interaction=run, schedule="0 8 * * 1-5", time_zone="Europe/Paris", display_name="Digest"
    )
    assert trigger.status == "active" and trigger.next_run_time and trigger.id
    assert trigger.interaction.agent == "antigravity-preview-05-2026"
    seconds = (trigger.next_run_time - sim.app.automation.triggers.now()).total_seconds() + 5
    fired = httpx.post(f"{sim.base_url}/_simulator/clock", json={"advance_seconds": seconds})
    assert len(fired.json()["fired"]) == 1

    def settled() -> list[Any]:
        for _ in range(200):
            runs = client.triggers.list_executions(trigger.id).trigger_executions
            if all(r.status != "in_progress" for r in runs):
                return list(runs)
            time.sleep(0.05)
        raise AssertionError("a run is still in progress")

    assert [r.status for r in settled()] == ["completed"]
    execution = client.triggers.run(trigger.id)
    assert execution.trigger_id == trigger.id and execution.status == "in_progress"
    runs = settled()
    assert [r.status for r in runs] == ["completed", "completed"]
    assert client.interactions.get(runs[0].interaction_id).status == "completed"
    paused = client.triggers.update(trigger.id, status="paused", display_name="Paused digest")
    assert (paused.status, paused.display_name) == ("paused", "Paused digest")
    assert [t.id for t in client.triggers.list(page_size=10).triggers] == [trigger.id]
    assert client.triggers.get(trigger.id).last_pause_time
    client.triggers.delete(trigger.id)
    with pytest.raises(Exception, match="404") as gone:  # the SDK's own error class
        client.triggers.get(trigger.id)
    assert "was not found" in str(gone.value)


def test_webhooks_resource_and_signed_delivery(client: Any) -> None:
    with receive_webhooks() as receiver:
        hook = client.webhooks.create(
            uri=receiver.url, subscribed_events=["interaction.completed"], name="team"
        )
        assert hook.new_signing_secret.startswith("whsec_") and hook.state == "enabled"
        fetched = client.webhooks.get(hook.id)
        assert fetched.signing_secrets[0].truncated_secret and fetched.new_signing_secret is None
        assert [h.id for h in client.webhooks.list().webhooks] == [hook.id]
        updated = client.webhooks.update(hook.id, name="renamed", update_mask="name")
        assert updated.name == "renamed" and updated.uri == receiver.url
        client.webhooks.ping(hook.id)
        started = client.interactions.create(model=MODEL, input="Background", background=True)
        deliveries = receiver.wait_for(2)
        rotated = client.webhooks.rotate_signing_secret(hook.id)
        assert rotated.secret.startswith("whsec_")
        client.webhooks.delete(hook.id)
    events = [verify_webhook(d.body, d.headers, hook.new_signing_secret) for d in deliveries]
    assert {e.type for e in events} == {"webhook.ping", "interaction.completed"}
    completed = [e for e in events if e.type == "interaction.completed"][0]
    assert completed.data["id"] == started.id
