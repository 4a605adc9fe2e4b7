"""The Interactions API simulator, exercised over real HTTP with plain httpx."""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.simulator.server import RunningSimulator

MODEL = "gemini-3.5-flash"
PLAIN_MODEL = "gemma-4-simulated"  # no thinking: no thought step
BANNER = "*Offline simulator — not a real Gemini answer.*"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
KEY = {"x-goog-api-key": "test-key"}

JSON = dict[str, Any]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(background_seconds=0.3, secret=b"s" * 32)) as running:
        yield running


@pytest.fixture(scope="module")
def paced() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(tokens_per_second=50)) as running:
        yield running


@pytest.fixture()
def http(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers=KEY, timeout=10) as client:
        yield client


def create(http: httpx.Client, **body: Any) -> JSON:
    body.setdefault("model", MODEL)
    response = http.post("/v1beta/interactions", json=body)
    assert response.status_code == 200, response.text
    data: JSON = response.json()
    return data


def output_text(interaction: JSON) -> str:
    return "".join(
        item["text"]
        for step in interaction.get("steps", [])
        if step["type"] == "model_output"
        for item in step["content"]
        if item["type"] == "text"
    )


def parse_sse(raw: str) -> list[JSON]:
    """Strict parse: every message is exactly `event: <type>` + one `data:` JSON line."""
    events = []
    assert raw.endswith("\n\n")
    for block in raw[:-2].split("\n\n"):
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        event = json.loads(data_line[len("data: ") :])
        assert event["event_type"] == name_line[len("event: ") :]
        events.append(event)
    return events


def stream(http: httpx.Client, method: str, url: str, **kwargs: Any) -> list[JSON]:
    with http.stream(method, url, **kwargs) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        return parse_sse(response.read().decode())


def fold(events: list[JSON]) -> JSON:
    """Independent re-implementation of the reference §7.4 accumulation."""
    steps: dict[int, JSON] = {}
    arguments: dict[int, str] = {}
    out: JSON = {}
    for event in events:
        kind = event["event_type"]
        if kind in ("interaction.created", "interaction.completed"):
            out.update(event["interaction"])
        elif kind == "step.start":
            steps[event["index"]] = copy.deepcopy(event["step"])
        elif kind == "step.delta":
            step, delta = steps[event["index"]], event["delta"]
            if delta["type"] == "text":
                content = step["content"]
                if content and content[-1]["type"] == "text":
                    content[-1]["text"] += delta["text"]
                else:
                    content.append({"type": "text", "text": delta["text"]})
            elif delta["type"] == "text_annotation_delta":
                step["content"][-1].setdefault("annotations", []).extend(delta["annotations"])
            elif delta["type"] == "thought_summary":
                step.setdefault("summary", []).append(delta["content"])
            elif delta["type"] == "thought_signature":
                step["signature"] = delta["signature"]
            elif delta["type"] == "arguments_delta":
                arguments[event["index"]] = arguments.get(event["index"], "") + delta["arguments"]
            elif delta["type"] in ("image", "audio", "video", "document"):
                step["content"].append(dict(delta))
            else:
                step.update({k: v for k, v in delta.items() if k != "type"})
        elif kind == "step.stop" and event["index"] in arguments:
            steps[event["index"]]["arguments"] = json.loads(arguments.pop(event["index"]))
    out["steps"] = [steps[i] for i in sorted(steps)]
    return out


def generated(interaction: JSON) -> list[JSON]:
    return [s for s in interaction.get("steps", []) if s["type"] not in ("user_input",)]


# -- basics ---------------------------------------------------------------------------


def test_unary_create_returns_a_complete_interaction(http: httpx.Client) -> None:
    got = create(http, input="Explain how AI works in a few words")
    assert got["id"].startswith("v1_") and got["status"] == "completed"
    assert got["object"] == "interaction" and got["model"] == MODEL
    assert ISO.match(got["created"]) and ISO.match(got["updated"])
    assert [s["type"] for s in got["steps"]] == ["thought", "model_output"]
    assert got["steps"][0]["signature"] and "summary" not in got["steps"][0]
    text = output_text(got)
    assert text.startswith(BANNER) and "“Explain how AI works in a few words”" in text
    usage = got["usage"]
    parts = ("total_input_tokens", "total_output_tokens", "total_thought_tokens")
    assert usage["total_tokens"] == sum(usage[k] for k in parts)
    assert usage["total_input_tokens"] == 8  # words


def test_non_thinking_models_have_no_thought(http: httpx.Client) -> None:
    got = create(http, model=PLAIN_MODEL, input="hi")
    assert [s["type"] for s in got["steps"]] == ["model_output"]
    assert "total_thought_tokens" not in got["usage"]


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
def test_path_versions_and_api_revision(http: httpx.Client, version: str) -> None:
    response = http.post(
        f"/{version}/interactions",
        json={"model": MODEL, "input": "hi", "some_future_field": {"x": 1}},
        headers={"Api-Revision": "2026-05-20"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


def test_auth_is_required(sim: RunningSimulator) -> None:
    response = httpx.post(f"{sim.base_url}/v1/interactions", json={"model": MODEL, "input": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": 401,
        "message": response.json()["error"]["message"],
        "status": "UNAUTHENTICATED",
    }


def test_configured_api_key_is_enforced() -> None:
    with serve(SimulatorConfig(api_key="right")) as running:
        url = f"{running.base_url}/v1/interactions"
        body = {"model": MODEL, "input": "x"}
        wrong = httpx.post(url, json=body, headers={"x-goog-api-key": "wrong"})
        assert wrong.status_code == 403
        assert wrong.json()["error"]["status"] == "PERMISSION_DENIED"
        assert httpx.post(url, json=body, headers={"x-goog-api-key": "right"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "status"),
    [
        ("POST", "/v1/interactions", b"{not json", 400, "INVALID_ARGUMENT"),
        ("POST", "/v1/interactions", b"[1, 2]", 400, "INVALID_ARGUMENT"),
        ("POST", "/v1/interactions", {"input": "x"}, 400, "INVALID_ARGUMENT"),
        ("POST", "/v1/interactions", {"model": MODEL, "agent": "a", "input": "x"}, 400, None),
        ("POST", "/v1/interactions", {"model": MODEL}, 400, None),
        ("POST", "/v1/interactions", {"model": MODEL, "input": 42}, 400, None),
        ("POST", "/v1/interactions", {"model": MODEL, "input": []}, 400, None),
        (
            "POST",
            "/v1/interactions",
            {"model": MODEL, "input": "x", "background": True, "store": False},
            400,
            None,
        ),
        (
            "POST",
            "/v1/interactions",
            {"model": MODEL, "input": "x", "previous_interaction_id": "v1_nope"},
            404,
            "NOT_FOUND",
        ),
        (
            "POST",
            "/v1/interactions",
            {"model": MODEL, "continuation_token": "ct1.forged.token", "input": "x"},
            400,
            None,
        ),
        ("GET", "/v1/interactions/v1_nope", None, 404, "NOT_FOUND"),
        ("POST", "/v1/interactions/v1_nope/cancel", None, 404, "NOT_FOUND"),
        ("DELETE", "/v1/interactions/v1_nope", None, 404, "NOT_FOUND"),
        ("GET", "/v2/elsewhere", None, 404, "NOT_FOUND"),
    ],
)
def test_errors_use_the_google_envelope(
    http: httpx.Client, method: str, path: str, body: Any, code: int, status: str | None
) -> None:
    if isinstance(body, bytes):
        response = http.request(method, path, content=body)
    else:
        response = http.request(method, path, json=body)
    assert response.status_code == code
    error = response.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    assert error["status"] == (status or "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "shape",
    [
        "hello shapes",
        {"type": "text", "text": "hello shapes"},
        {"text": "hello shapes"},
        [{"type": "text", "text": "hello shapes"}],
        [{"type": "user_input", "content": [{"type": "text", "text": "hello shapes"}]}],
        [{"type": "user_input", "content": "hello shapes"}],
    ],
)
def test_all_input_shapes(http: httpx.Client, shape: Any) -> None:
    got = create(http, input=shape)
    assert "You said: “hello shapes”" in output_text(got)
    stored = http.get(f"/v1/interactions/{got['id']}").json()
    assert stored["steps"][0] == {
        "type": "user_input",
        "content": [{"type": "text", "text": "hello shapes"}],
    }


def test_get_view_include_input_and_delete(http: httpx.Client) -> None:
    got = create(http, input="keep me")
    assert "user_input" not in [s["type"] for s in got["steps"]]
    view = http.get(f"/v1/interactions/{got['id']}", params={"stream": "false"}).json()
    assert [s["type"] for s in view["steps"]] == ["user_input", "thought", "model_output"]
    assert generated(view) == got["steps"] and view["usage"] == got["usage"]
    assert "input" not in view
    with_input = http.get(f"/v1/interactions/{got['id']}", params={"include_input": "true"})
    assert with_input.json()["input"] == "keep me"
    assert http.delete(f"/v1/interactions/{got['id']}").json() == {}
    assert http.get(f"/v1/interactions/{got['id']}").status_code == 404
    follow = {"model": MODEL, "input": "x", "previous_interaction_id": got["id"]}
    assert http.post("/v1/interactions", json=follow).status_code == 404


def test_store_false_keeps_nothing(http: httpx.Client) -> None:
    got = create(http, input="forget me", store=False)
    assert got["status"] == "completed"
    assert http.get(f"/v1/interactions/{got['id']}").status_code == 404
    follow = {"model": MODEL, "input": "x", "previous_interaction_id": got["id"]}
    assert http.post("/v1/interactions", json=follow).status_code == 404


def test_chain_remembers_earlier_turns(http: httpx.Client) -> None:
    first = create(http, input="I have 2 dogs in my house.")
    second = create(http, input="And 3 cats.", previous_interaction_id=first["id"])
    third = create(
        http,
        input="How many paws are in my house?",
        previous_interaction_id=second["id"],
        system_instruction="Answer like a pirate.",
    )
    assert third["previous_interaction_id"] == second["id"]
    text = output_text(third)
    assert "Earlier in this conversation you said:\n1. “I have 2 dogs in my house.”" in text
    assert "2. “And 3 cats.”" in text
    assert "“How many paws are in my house?”" in text
    assert "System instruction acknowledged: “Answer like a pirate.”" in text
    assert third["usage"]["total_input_tokens"] > first["usage"]["total_input_tokens"]


def test_stateless_history_and_thought_signatures(http: httpx.Client) -> None:
    history: list[JSON] = [{"type": "user_input", "content": "I have 2 dogs in my house."}]
    first = create(http, input=history, store=False)
    history += first["steps"]
    history.append({"type": "user_input", "content": [{"type": "text", "text": "Paws?"}]})
    second = create(http, input=history, store=False)
    assert "1. “I have 2 dogs in my house.”" in output_text(second)

    signature = base64.b64decode(first["steps"][0]["signature"])
    tampered = base64.b64encode(signature[:-1] + bytes([signature[-1] ^ 1])).decode()
    foreign = base64.b64encode(b"EvEFCu4F" * 6).decode()
    for bad in (tampered, foreign, "not base64!"):
        replay = copy.deepcopy(history)
        replay[1]["signature"] = bad
        response = http.post("/v1/interactions", json={"model": MODEL, "input": replay})
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "Corrupted thought signature."


def test_same_request_same_answer(http: httpx.Client) -> None:
    a, b = create(http, input="determinism?"), create(http, input="determinism?")
    assert a["id"] != b["id"] and a["steps"] == b["steps"] and a["usage"] == b["usage"]


def test_multimodal_input_is_described(http: httpx.Client) -> None:
    image = base64.b64encode(b"\xff\xd8\xff" + b"x" * 1234).decode()
    audio_uri = "https://storage.googleapis.com/generativeai-downloads/data/sample.mp3"
    got = create(
        http,
        input=[
            {"type": "text", "text": "Compare this local image and this remote audio file."},
            {"type": "image", "data": image, "mime_type": "image/jpeg"},
            {"type": "audio", "uri": audio_uri, "mime_type": "audio/mp3"},
        ],
    )
    text = output_text(got)
    assert "image (image/jpeg, 1237 bytes inline)" in text
    assert f"audio (audio/mp3) at {audio_uri}" in text
    assert got["usage"]["total_input_tokens"] > 258


# -- streaming ------------------------------------------------------------------------


def test_stream_framing_order_and_event_ids(http: httpx.Client) -> None:
    body = {"model": MODEL, "input": "Hi", "stream": True}
    events = stream(http, "POST", "/v1/interactions", json=body)
    ids = [e["event_id"] for e in events]
    assert ids == [f"evt_{n}" for n in range(1, len(events) + 1)]
    created, update, *middle, completed = events
    assert created["event_type"] == "interaction.created"
    assert created["interaction"]["status"] == "in_progress"
    assert created["interaction"]["object"] == "interaction"
    assert created["interaction"]["model"] == MODEL and "created" in created["interaction"]
    assert update["event_type"] == "interaction.status_update"
    assert (
        update["status"] == "in_progress"
        and update["interaction_id"] == created["interaction"]["id"]
    )
    assert completed["event_type"] == "interaction.completed"
    assert completed["interaction"]["status"] == "completed" and "usage" in completed["interaction"]
    assert "steps" not in completed["interaction"]
    kinds = [(e["event_type"], e.get("index")) for e in middle]
    assert kinds[0] == ("step.start", 0) and kinds[-1] == ("step.stop", 1)
    signature = [e for e in middle if e.get("delta", {}).get("type") == "thought_signature"]
    assert len(signature) == 1 and signature[0]["index"] == 0
    texts = [e for e in middle if e.get("delta", {}).get("type") == "text"]
    assert len(texts) > 5 and all(e["index"] == 1 for e in texts)
    assert all(len(e["delta"]["text"].split()) <= 3 for e in texts)


def test_stream_folds_to_the_unary_and_get_results(http: httpx.Client) -> None:
    body = {"model": MODEL, "input": "Fold me", "tools": [{"type": "google_search"}]}
    events = stream(http, "POST", "/v1/interactions", json={**body, "stream": True})
    folded = fold(events)
    answer = [
        e["event_type"] + ":" + e.get("delta", {}).get("type", "")
        for e in events
        if e.get("index") == 3
    ]
    assert answer[0] == "step.start:" and answer[-2:] == [
        "step.delta:text_annotation_delta",
        "step.stop:",
    ]
    assert set(answer[1:-2]) == {"step.delta:text"}
    stored = http.get(f"/v1/interactions/{folded['id']}").json()
    assert folded["steps"] == generated(stored)
    assert folded["status"] == stored["status"] == "completed"
    assert folded["usage"] == stored["usage"]
    unary = create(http, **body)
    strip = [{k: v for k, v in s.items() if k not in ("id", "call_id")} for s in unary["steps"]]
    assert strip == [
        {k: v for k, v in s.items() if k not in ("id", "call_id")} for s in folded["steps"]
    ]
    assert unary["usage"] == folded["usage"]
    replay = stream(http, "GET", f"/v1/interactions/{folded['id']}", params={"stream": "true"})
    assert replay == events


def test_alt_sse_query_also_streams(http: httpx.Client) -> None:
    events = stream(
        http,
        "POST",
        "/v1beta/interactions",
        params={"alt": "sse"},
        json={"model": MODEL, "input": "x", "stream": True},
    )
    assert events[-1]["event_type"] == "interaction.completed"


def test_thought_summaries_only_when_auto(http: httpx.Client) -> None:
    body = {"model": MODEL, "input": "think", "generation_config": {"thinking_summaries": "auto"}}
    events = stream(http, "POST", "/v1/interactions", json={**body, "stream": True})
    deltas = [
        e["delta"]["type"] for e in events if e["event_type"] == "step.delta" and e["index"] == 0
    ]
    # The summary streams in several pieces, as the API sends it, before the signature.
    assert deltas[-1] == "thought_signature"
    assert deltas[:-1] == ["thought_summary"] * len(deltas[:-1]) and len(deltas) > 3
    pieces = fold(events)["steps"][0]["summary"]
    assert {p["type"] for p in pieces} == {"text"}
    whole = "".join(p["text"] for p in pieces)
    assert whole.startswith("**Planning a simulated reply**\n\n")
    # The stored interaction folds the pieces back into the one summary that was streamed.
    stored = http.get(f"/v1beta/interactions/{events[0]['interaction']['id']}").json()
    assert stored["steps"][1]["summary"] == [{"type": "text", "text": whole}]
    assert "summary" not in create(http, input="think")["steps"][0]


def test_reattach_with_last_event_id(paced: RunningSimulator) -> None:
    with httpx.Client(base_url=paced.base_url, headers=KEY, timeout=10) as client:
        seen: list[JSON] = []
        body = {"model": MODEL, "input": "Reattach me", "stream": True}
        with client.stream("POST", "/v1/interactions", json=body) as response:
            buffer = ""
            for chunk in response.iter_text():
                buffer += chunk
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    seen.append(json.loads(block.split("\n")[1][6:]))
                if len(seen) >= 6:
                    break
        interaction_id = seen[0]["interaction"]["id"]
        last = seen[-1]["event_id"]
        rest = stream(
            client,
            "GET",
            f"/v1/interactions/{interaction_id}",
            params={"stream": "true", "last_event_id": last},
        )
        full = stream(
            client, "GET", f"/v1/interactions/{interaction_id}", params={"stream": "true"}
        )
        assert seen + rest == full
        assert rest[0]["event_id"] == f"evt_{len(seen) + 1}"
        assert rest[-1]["event_type"] == "interaction.completed"
        bad = client.get(
            f"/v1/interactions/{interaction_id}",
            params={"stream": "true", "last_event_id": "evt_x"},
        )
        assert bad.status_code == 400


def test_client_disconnect_does_not_stop_generation(paced: RunningSimulator) -> None:
    with httpx.Client(base_url=paced.base_url, headers=KEY, timeout=10) as client:
        body = {"model": MODEL, "input": "Keep going without me", "stream": True}
        with client.stream("POST", "/v1/interactions", json=body) as response:
            lines = response.iter_lines()
            assert next(lines) == "event: interaction.created"
            data = json.loads(next(lines)[6:])
        interaction_id = data["interaction"]["id"]
        running = client.get(f"/v1/interactions/{interaction_id}").json()
        assert running["status"] == "in_progress"
        deadline = time.monotonic() + 5
        while running["status"] == "in_progress" and time.monotonic() < deadline:
            time.sleep(0.05)
            running = client.get(f"/v1/interactions/{interaction_id}").json()
        assert running["status"] == "completed"
        assert output_text(running).startswith(BANNER)


# -- tools, formats and models ------------------------------------------------------

WEATHER = {
    "type": "function",
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name"}},
        "required": ["location"],
    },
}
OTHER = {
    "type": "function",
    "name": "set_alarm",
    "description": "Sets an alarm.",
    "parameters": {
        "type": "object",
        "properties": {
            "hour": {"type": "integer"},
            "loud": {"type": "boolean"},
            "tone": {"type": "string", "enum": ["beep", "ring"]},
        },
        "required": ["hour", "loud", "tone"],
    },
}


def test_function_calling_stateful(http: httpx.Client) -> None:
    ask = "What is the temperature in London?"
    first = create(http, input=ask, tools=[OTHER, WEATHER])
    assert first["status"] == "requires_action"
    call = first["steps"][-1]
    assert call["type"] == "function_call" and call["name"] == "get_current_temperature"
    assert call["arguments"] == {"location": "London"}
    again = create(http, input=ask, tools=[OTHER, WEATHER])
    assert again["steps"][-1]["id"] != call["id"]
    alarm = create(http, input="Wake me up", tools=[OTHER])
    assert alarm["steps"][-1]["arguments"] == {"hour": 1, "loud": True, "tone": "beep"}

    result = {"location": "London", "temperature": "22", "unit": "celsius"}
    answer = create(
        http,
        previous_interaction_id=first["id"],
        tools=[WEATHER],
        input=[
            {
                "type": "function_result",
                "name": call["name"],
                "call_id": call["id"],
                "result": [{"type": "text", "text": json.dumps(result)}],
            }
        ],
    )
    assert answer["status"] == "completed"
    text = output_text(answer)
    assert '"temperature": "22"' in text and "get_current_temperature" in text and ask in text
    unknown = {
        "model": MODEL,
        "previous_interaction_id": first["id"],
        "input": [{"type": "function_result", "call_id": "call_nope", "result": "x"}],
    }
    assert http.post("/v1/interactions", json=unknown).status_code == 400
    none = create(http, input=ask, tools=[WEATHER], generation_config={"tool_choice": "none"})
    assert none["status"] == "completed"


def test_function_call_streams_argument_fragments(http: httpx.Client) -> None:
    body = {"model": MODEL, "input": "Temperature in Paris?", "tools": [WEATHER], "stream": True}
    events = stream(http, "POST", "/v1/interactions", json=body)
    start = next(e for e in events if e["event_type"] == "step.start" and e["index"] == 1)
    assert start["step"] == {
        "type": "function_call",
        "id": start["step"]["id"],
        "name": "get_current_temperature",
        "arguments": {},
    }
    fragments = [
        e["delta"]["arguments"]
        for e in events
        if e.get("delta", {}).get("type") == "arguments_delta"
    ]
    assert len(fragments) > 1 and json.loads("".join(fragments)) == {"location": "Paris"}
    assert events[-1]["interaction"]["status"] == "requires_action"
    assert fold(events)["steps"][1]["arguments"] == {"location": "Paris"}


def test_function_calling_stateless(http: httpx.Client) -> None:
    history: list[JSON] = [{"type": "user_input", "content": "What is the temperature in London?"}]
    first = create(http, input=history, tools=[WEATHER], store=False)
    history += first["steps"]
    call = first["steps"][-1]
    history.append(
        {
            "type": "function_result",
            "name": call["name"],
            "call_id": call["id"],
            "result": {"temp": 22},
        }
    )
    second = create(http, input=history, tools=[WEATHER], store=False)
    assert second["status"] == "completed"
    assert '{"temp": 22}' in output_text(second)
    history[-1]["call_id"] = "call_forged"
    assert http.post("/v1/interactions", json={"model": MODEL, "input": history}).status_code == 400


def test_google_search_citations_use_utf8_byte_offsets(http: httpx.Client) -> None:
    got = create(http, input="Who won the euro 2024?", tools=[{"type": "google_search"}])
    kinds = [s["type"] for s in got["steps"]]
    assert kinds == ["thought", "google_search_call", "google_search_result", "model_output"]
    call, result = got["steps"][1], got["steps"][2]
    assert call["arguments"]["queries"] == ["Who won the euro 2024"]
    assert result["call_id"] == call["id"]
    widget = result["result"][0]["search_suggestions"]
    assert (
        widget.startswith("<style>") and '<div class="container">' in widget and "href=" in widget
    )
    item = got["steps"][3]["content"][0]
    text, annotations = item["text"], item["annotations"]
    assert len(annotations) >= 2
    encoded = text.encode()
    for note in annotations:
        assert (
            note["type"] == "url_citation" and note["url"].startswith("https://") and note["title"]
        )
        span = encoded[note["start_index"] : note["end_index"]].decode()
        assert span[0].isupper() and span.endswith(".") and span in text
        assert any(ord(ch) > 127 for ch in text[: text.index(span)])
        # character offsets would point elsewhere: the prefix has multi-byte characters
        assert text[note["start_index"] : note["end_index"]] != span


def test_url_context_and_code_execution_tools(http: httpx.Client) -> None:
    got = create(
        http,
        input="Summarize https://example.com/a and https://example.org/b.",
        tools=[{"type": "url_context"}, {"type": "code_execution"}],
    )
    kinds = [s["type"] for s in got["steps"]]
    assert kinds == [
        "thought",
        "url_context_call",
        "url_context_result",
        "code_execution_call",
        "code_execution_result",
        "model_output",
    ]
    assert got["steps"][1]["arguments"]["urls"] == [
        "https://example.com/a",
        "https://example.org/b",
    ]
    assert got["steps"][2]["result"] == [
        {"url": "https://example.com/a", "status": "success"},
        {"url": "https://example.org/b", "status": "success"},
    ]
    assert got["steps"][3]["arguments"]["language"] == "python"
    assert got["steps"][4]["result"] in output_text(got)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_image_generation_returns_a_real_png(http: httpx.Client) -> None:
    model = "gemini-3.1-flash-image"
    got = create(
        http, model=model, input="Generate an image of a futuristic city skyline at sunset"
    )
    content = got["steps"][-1]["content"]
    assert [c["type"] for c in content] == ["text", "image"] and content[1][
        "mime_type"
    ] == "image/png"
    png = base64.b64decode(content[1]["data"])
    assert _png_size(png) == (256, 256)
    again = create(
        http, model=model, input="Generate an image of a futuristic city skyline at sunset"
    )
    assert again["steps"][-1]["content"][1]["data"] == content[1]["data"]
    edit = create(http, model=model, input="Make the sky purple", previous_interaction_id=got["id"])
    edited = base64.b64decode(edit["steps"][-1]["content"][1]["data"])
    assert edited != png
    image_module = pytest.importorskip("PIL.Image")
    before = image_module.open(io.BytesIO(png)).convert("RGB").getpixel((128, 2))
    after = image_module.open(io.BytesIO(edited)).convert("RGB").getpixel((128, 2))
    assert after[2] > after[1] and after != before  # purple: blue over green
    events = stream(
        http, "POST", "/v1/interactions", json={"model": model, "input": "a cat", "stream": True}
    )
    image_deltas = [e for e in events if e.get("delta", {}).get("type") == "image"]
    assert len(image_deltas) == 1 and image_deltas[0]["delta"]["mime_type"] == "image/png"


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: list[str] = Field(description="List of ingredients.")
    prep_time_minutes: int | None = Field(description="Prep time in minutes.")


class Step(BaseModel):
    order: int = Field(ge=1)
    kind: str = Field(json_schema_extra={"enum": ["mix", "bake"]})
    notes: list[str] = Field(min_length=1, max_length=2)


class Book(BaseModel):
    title: str
    recipes: list[Recipe]
    steps: list[Step]
    rating: float | None = None
    vegan: bool
    child: Book | None = None


def test_structured_output_matches_the_schema(http: httpx.Client) -> None:
    schema = {"type": "text", "mime_type": "application/json", "schema": Recipe.model_json_schema()}
    got = create(http, input="Give me a recipe for banana bread", response_format=schema)
    text = output_text(got)
    recipe = Recipe.model_validate_json(text)
    assert "banana bread" in recipe.recipe_name and text.startswith("{\n  ")
    nested = {"type": "text", "mime_type": "application/json", "schema": Book.model_json_schema()}
    Book.model_validate_json(output_text(create(http, input="a book", response_format=[nested])))
    legacy = create(
        http,
        input="legacy",
        response_mime_type="application/json",
        response_format=Recipe.model_json_schema(),
    )
    Recipe.model_validate_json(output_text(legacy))


def test_max_output_tokens_makes_the_answer_incomplete(http: httpx.Client) -> None:
    got = create(http, input="be brief", generation_config={"max_output_tokens": 7})
    assert got["status"] == "incomplete"
    assert len(output_text(got).split()) == 7 and got["usage"]["total_output_tokens"] == 7


def test_agent_runs_code_in_a_remote_environment(http: httpx.Client) -> None:
    ask = "Write a Python script that generates the first 20 Fibonacci numbers and prints them."
    body = {"agent": "antigravity-preview-05-2026", "input": ask, "environment": "remote"}
    response = http.post("/v1/interactions", json=body)
    got = response.json()
    assert got["agent"] == "antigravity-preview-05-2026" and "model" not in got
    assert got["environment_id"].startswith("env_")
    kinds = [s["type"] for s in got["steps"]]
    assert kinds == ["thought", "code_execution_call", "code_execution_result", "model_output"]
    assert got["steps"][1]["arguments"]["language"] == "python"
    assert got["steps"][2]["result"].split()[-1] == "4181"
    assert got["environment_id"] in output_text(got)
    follow = {
        "agent": "antigravity-preview-05-2026",
        "input": "Now list the files.",
        "environment": got["environment_id"],
        "previous_interaction_id": got["id"],
    }
    again = http.post("/v1/interactions", json=follow).json()
    assert again["environment_id"] == got["environment_id"]
    obj = http.post("/v1/interactions", json={**body, "environment": {"type": "remote"}}).json()
    assert (
        obj["environment_id"].startswith("env_") and obj["environment_id"] != got["environment_id"]
    )


def test_fail_directive_fails_the_interaction(http: httpx.Client) -> None:
    got = create(http, input="[[sim:fail]] please")
    assert got["status"] == "failed"
    assert got["errors"] == [{"code": "internal", "message": got["errors"][0]["message"]}]
    assert got["steps"][-1]["error"]["code"] == 13
    assert "[[sim:fail]]" not in output_text(got)


# -- background, cancel, continuation -------------------------------------------------


def test_background_poll_stream_and_cancel(http: httpx.Client) -> None:
    started = create(http, input="Write a detailed analysis of AI in healthcare.", background=True)
    assert started["status"] == "in_progress" and "steps" not in started
    events = stream(http, "GET", f"/v1/interactions/{started['id']}", params={"stream": "true"})
    assert events[-1]["interaction"]["status"] == "completed"
    done = http.get(f"/v1/interactions/{started['id']}").json()
    assert done["status"] == "completed" and "healthcare" in output_text(done)
    conflict = http.post(f"/v1/interactions/{started['id']}/cancel")
    assert conflict.status_code == 400
    assert conflict.json()["error"]["status"] == "FAILED_PRECONDITION"

    victim = create(http, input="cancel me", background=True)
    time.sleep(0.05)
    cancelled = http.post(f"/v1/interactions/{victim['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    events = stream(http, "GET", f"/v1/interactions/{victim['id']}", params={"stream": "true"})
    assert events[-1]["event_type"] == "interaction.completed"
    assert events[-1]["interaction"]["status"] == "cancelled"
    assert http.get(f"/v1/interactions/{victim['id']}").json()["status"] == "cancelled"


def test_queued_status_for_background() -> None:
    with serve(SimulatorConfig(queued_seconds=0.2, background_seconds=0.1)) as running:
        url = f"{running.base_url}/v1/interactions"
        got = httpx.post(
            url, json={"model": MODEL, "input": "x", "background": True}, headers=KEY
        ).json()
        assert got["status"] == "queued"
        time.sleep(0.5)
        assert httpx.get(f"{url}/{got['id']}", headers=KEY).json()["status"] == "completed"


def test_continuation_hops_stateful_and_stateless(http: httpx.Client) -> None:
    body = {"model": MODEL, "input": "[[sim:long]] Tell me everything"}
    hop = create(http, **body)
    texts, ids = [output_text(hop)], [hop["id"]]
    assert hop["status"] == "requires_continuation" and hop["continuation_token"]
    while hop["status"] == "requires_continuation":
        assert len(texts[-1]) <= 1500
        hop = create(
            http,
            model=MODEL,
            continuation_token=hop["continuation_token"],
            previous_interaction_id=hop["id"],
        )
        assert [s["type"] for s in hop["steps"]] == ["model_output"]
        texts.append(output_text(hop))
        ids.append(hop["id"])
    assert hop["status"] == "completed" and len(ids) >= 3
    full = "".join(texts)
    assert all(f"## Part {n}\n" in full for n in range(1, 13))
    last = http.get(f"/v1/interactions/{ids[1]}").json()
    assert last["steps"][0]["type"] == "model_output"  # a hop without input has no user_input

    hop = create(http, **body, store=False)
    stateless = [output_text(hop)]
    while hop["status"] == "requires_continuation":
        hop = create(http, **body, store=False, continuation_token=hop["continuation_token"])
        stateless.append(output_text(hop))
    assert "".join(stateless) == full
    token = create(http, **body, store=False)["continuation_token"]
    other_input = {"model": MODEL, "input": "other", "store": False, "continuation_token": token}
    assert http.post("/v1/interactions", json=other_input).status_code == 400
    events = stream(http, "POST", "/v1/interactions", json={**body, "stream": True})
    assert events[-1]["interaction"]["status"] == "requires_continuation"
    assert events[-1]["interaction"]["continuation_token"].startswith("ct1.")


# -- recording and control endpoints ------------------------------------------------


def test_requests_are_recorded(sim: RunningSimulator, http: httpx.Client) -> None:
    create(http, input="record me", labels={"team": "a"})
    recorded = sim.app.requests[-1]
    assert recorded["method"] == "POST" and recorded["path"] == "/v1beta/interactions"
    assert recorded["headers"]["x-goog-api-key"] == "test-key"
    assert recorded["json"]["labels"] == {"team": "a"}
    over_http = httpx.get(f"{sim.base_url}/_simulator/requests").json()["requests"]
    assert over_http[-1]["json"]["input"] == "record me"
    assert httpx.get(f"{sim.base_url}/_simulator/health").json()["status"] == "ok"


# -- robustness -----------------------------------------------------------------------

_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-3, 5)
    | st.text(max_size=5)
    | st.sampled_from(
        ["text", "image", "object", "array", "string", "integer", "#/$defs/A", "application/json"]
    )
)
_KEYS = st.sampled_from(
    ["type", "text", "content", "name", "parameters", "properties", "required", "schema"]
    + ["data", "mime_type", "call_id", "id", "arguments", "result", "signature", "items"]
    + ["anyOf", "$ref", "enum", "minItems", "tool_choice", "max_output_tokens", "annotations"]
)
_VALUE = st.recursive(
    _LEAF, lambda c: st.lists(c, max_size=3) | st.dictionaries(_KEYS, c, max_size=4), max_leaves=12
)
_STEP = st.fixed_dictionaries(
    {"type": st.sampled_from(["user_input", "model_output", "thought", "function_call"])},
    optional={"content": _VALUE, "id": _VALUE, "name": _VALUE, "arguments": _VALUE},
)
_BODY = st.fixed_dictionaries(
    {"model": st.sampled_from([MODEL, "gemini-3.1-flash-image", PLAIN_MODEL])},
    optional={
        "input": _VALUE | st.lists(_STEP, min_size=1, max_size=3),
        "tools": _VALUE
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.just("function")}, optional={"name": _VALUE, "parameters": _VALUE}
            ),
            max_size=2,
        ),
        "generation_config": _VALUE,
        "response_format": _VALUE
        | st.fixed_dictionaries(
            {"type": st.just("text"), "mime_type": st.just("application/json")},
            optional={"schema": _VALUE},
        ),
        "environment": _VALUE,
        "system_instruction": _VALUE,
        "stream": st.booleans(),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_BODY)
def test_arbitrary_bodies_get_an_answer_or_a_400(sim: RunningSimulator, body: JSON) -> None:
    response = httpx.post(f"{sim.base_url}/v1/interactions", json=body, headers=KEY, timeout=10)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    elif body.get("stream"):
        assert parse_sse(response.text)[-1]["event_type"] == "interaction.completed"
    else:
        statuses = ("completed", "requires_action", "incomplete", "requires_continuation")
        assert response.json()["status"] in statuses
