"""Streams: folding into a given accumulator, and answers that are not an event stream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import interactions_client as ic

from ._harness import COMPLETED, STREAM_EVENTS, Api, ChunkStream, Recorder, sse_response

EARLIER = [
    {"type": "function_call", "id": "call_1", "name": "clock", "arguments": {}},
]
RESULTS = [
    {
        "type": "function_result",
        "call_id": "call_1",
        "name": "clock",
        "result": [{"type": "text", "text": '"12:00"'}],
    }
]
HELLO = {"type": "model_output", "content": [{"type": "text", "text": "Hello!"}]}


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def after_a_tool_round() -> ic.Accumulator:
    acc = ic.Accumulator()
    acc.restore(
        {
            "id": "v1_r1",
            "status": "requires_action",
            "usage": {"total_tokens": 10},
            "steps": EARLIER,
        },
        "evt_r1",
    )
    acc.begin_round(RESULTS)
    return acc


@pytest.mark.parametrize("method", ["create", "get"])
def test_a_stream_folds_onto_the_accumulator_it_is_given(kind: str, method: str) -> None:
    acc = after_a_tool_round()
    args: dict[str, Any] = {"id": "v1_s"} if method == "get" else {"model": "m", "input": "x"}
    rec = Recorder(sse_response(*STREAM_EVENTS))
    events, stream = Api(kind, rec).stream(method, accumulator=acc, **args)
    assert stream.accumulator is acc
    assert acc.steps == EARLIER + RESULTS + [HELLO]
    assert acc.snapshot()["usage"] == {"total_tokens": 13}
    assert acc.snapshot()["id"] == "v1_s" and stream.last_event_id == "evt_6"
    if method == "create":
        assert "accumulator" not in rec.body()  # a client option, never sent
    else:
        assert "accumulator" not in rec.requests[0].url.params


def test_streams_start_a_fresh_accumulator_by_default(kind: str) -> None:
    _, first = Api(kind, Recorder(sse_response(*STREAM_EVENTS))).stream(model="m", input="x")
    _, second = Api(kind, Recorder(sse_response(*STREAM_EVENTS))).stream(model="m", input="x")
    assert first.accumulator is not second.accumulator
    assert first.accumulator.steps == [HELLO]


def test_an_accumulator_needs_a_stream(kind: str) -> None:
    api = Api(kind, Recorder(httpx.Response(200, json=COMPLETED)))
    with pytest.raises(ValueError, match="accumulator needs stream=True"):
        api.create(model="m", input="x", accumulator=ic.Accumulator())
    with pytest.raises(ValueError, match="accumulator needs stream=True"):
        api.get("v1_done", accumulator=ic.Accumulator())


# --- a streaming request answered with something else ---


def test_a_json_interaction_is_read_as_the_stream_it_stands_for(kind: str) -> None:
    events, stream = Api(kind, Recorder(httpx.Response(200, json=COMPLETED))).stream(
        model="m", input="x"
    )
    assert [e.event_type for e in events] == ["interaction.created", "interaction.completed"]
    assert stream.interaction.model_dump() == ic.Interaction.model_validate(COMPLETED).model_dump()
    assert stream.response.is_closed
    done = Api(kind, Recorder(httpx.Response(200, json=COMPLETED))).until_done(model="m", input="x")
    assert done.output_text == "Hello!" and done.usage is not None


def test_a_json_stored_view_folds_like_a_re_attached_stream(kind: str) -> None:
    stored = {
        **COMPLETED,
        "steps": [{"type": "user_input", "content": [{"type": "text", "text": "hi"}]}, HELLO],
    }
    acc = after_a_tool_round()
    rec = Recorder(httpx.Response(200, json=stored))
    Api(kind, rec).stream("get", id="v1_done", accumulator=acc)
    assert acc.steps == EARLIER + RESULTS + [HELLO]  # streams never replay the user's input
    assert acc.snapshot()["status"] == "completed"


def test_a_json_hop_is_continued_like_a_streamed_one(kind: str) -> None:
    first = {
        "id": "v1_h1",
        "status": "requires_continuation",
        "continuation_token": "t1",
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": "Well, "}]}],
    }
    rec = Recorder(httpx.Response(200, json=first), sse_response(*STREAM_EVENTS))
    _, stream = Api(kind, rec).stream(model="m", input="x")
    assert stream.interaction.output_text == "Well, Hello!"
    assert rec.body(1)["continuation_token"] == "t1"


@pytest.mark.parametrize(
    ("headers", "body", "named"),
    [
        ({"content-type": "text/html; charset=utf-8"}, b"<html>busy</html>", "text/html"),
        ({}, b"", "no Content-Type"),
        ({"content-type": "application/json"}, b'{"error": {"code": 5}}', "application/json"),
        ({"content-type": "application/json"}, b"[1, 2]", "application/json"),
        ({"content-type": "application/json"}, b"{not json", "application/json"),
    ],
)
def test_any_other_answer_is_a_clear_error(
    kind: str, headers: dict[str, str], body: bytes, named: str
) -> None:
    chunks = ChunkStream([body])
    rec = Recorder(httpx.Response(200, headers=headers, stream=chunks))
    with pytest.raises(ic.APIResponseValidationError, match=f"got {named}") as info:
        Api(kind, rec).stream(model="m", input="x")
    assert "text/event-stream" in str(info.value)
    assert info.value.response is not None and info.value.response.status_code == 200
    assert chunks.closed


def test_get_stream_refuses_an_empty_non_sse_answer(kind: str) -> None:
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/plain"}, content=b""))
    with pytest.raises(ic.APIResponseValidationError, match="got text/plain"):
        Api(kind, rec).stream("get", id="v1_s", last_event_id="evt_3")


def test_an_empty_event_stream_is_still_an_empty_stream(kind: str) -> None:
    events, stream = Api(kind, Recorder(sse_response(chunks=[]))).stream(model="m", input="x")
    assert events == [] and stream.accumulator.steps == []


def test_sse_content_type_parameters_are_accepted(kind: str) -> None:
    payload = b"".join(
        f"data: {json.dumps(p)}\n\n".encode() for p in STREAM_EVENTS
    )  # no `event:` lines
    response = httpx.Response(
        200,
        headers={"content-type": "Text/Event-Stream; charset=utf-8"},
        stream=ChunkStream([payload]),
    )
    _, stream = Api(kind, Recorder(response)).stream(model="m", input="x")
    assert stream.interaction.output_text == "Hello!"
