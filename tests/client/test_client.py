from __future__ import annotations

from typing import Any

import httpx
import pytest

import interactions_client as ic
from interactions_client import types

from ._harness import BASE, COMPLETED, STREAM_EVENTS, Api, ChunkStream, Recorder, sse, sse_response


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record retry delays instead of sleeping them."""
    recorded: list[float] = []

    def fake_delay(attempt: int, headers: httpx.Headers | None = None) -> float:
        recorded.append(ic._retry.retry_delay(attempt, headers))
        return 0.0

    monkeypatch.setattr("interactions_client._client.retry_delay", fake_delay)
    return recorded


def ok(data: dict[str, Any] = COMPLETED) -> httpx.Response:
    return httpx.Response(200, json=data)


def test_it_sends_the_documented_headers_path_and_body(kind: str) -> None:
    rec = Recorder(ok())
    interaction = Api(kind, rec).create(model="gemini-3.5-flash", input="Hello")
    request = rec.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/v1/interactions"
    assert request.headers["x-goog-api-key"] == "test-key"
    assert request.headers["api-revision"] == "2026-05-20"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("gemini-team-chat-interactions-client/")
    assert rec.body() == {"model": "gemini-3.5-flash", "input": "Hello"}
    assert interaction.output_text == "Hello!"
    assert isinstance(interaction, ic.Interaction)


def test_the_version_path_and_base_url_are_configurable(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://proxy.test/gemini/")
    monkeypatch.setenv("GEMINI_API_KEY", "env-key")
    rec = Recorder(ok())
    Api(kind, rec, base_url=None, api_key=None, api_version="v1beta").create(model="m", input="x")
    assert str(rec.requests[0].url) == "http://proxy.test/gemini/v1beta/interactions"
    assert rec.requests[0].headers["x-goog-api-key"] == "env-key"


def test_a_missing_key_fails_at_the_first_call_not_before(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    rec = Recorder(ok())
    api = Api(kind, rec, api_key=None)
    with pytest.raises(ic.MissingAPIKeyError, match="GEMINI_API_KEY"):
        api.create(model="m", input="x")
    assert rec.requests == []


def test_only_given_fields_are_sent_and_content_lists_become_one_user_turn(kind: str) -> None:
    rec = Recorder(ok())
    Api(kind, rec).create(
        model="m",
        input=[{"text": "Describe"}, types.ImageContent(data="AAA=", mime_type="image/png")],
        tools=[types.GoogleSearchTool(), {"type": "function", "name": "f"}],
        tool_choice="any",
        generation_config={"thinking_level": "low"},
        response_format=types.TextResponseFormat(
            mime_type="application/json", schema={"type": "object"}
        ),
        store=False,
        extra_body={"labels": {"team": "a"}},
    )
    assert rec.body() == {
        "model": "m",
        "input": [
            {
                "type": "user_input",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image", "data": "AAA=", "mime_type": "image/png"},
                ],
            }
        ],
        "tools": [{"type": "google_search"}, {"type": "function", "name": "f"}],
        "generation_config": {"thinking_level": "low", "tool_choice": "any"},
        "response_format": {
            "type": "text",
            "mime_type": "application/json",
            "schema": {"type": "object"},
        },
        "store": False,
        "labels": {"team": "a"},
    }


def test_a_list_of_steps_is_sent_as_it_is(kind: str) -> None:
    history = [
        {"type": "user_input", "content": [{"type": "text", "text": "hi"}]},
        {"type": "thought", "signature": "c2ln"},
        {"type": "model_output", "content": [{"type": "text", "text": "hello"}]},
        {"type": "user_input", "content": "and now?"},
    ]
    rec = Recorder(ok())
    Api(kind, rec).create(model="m", input=history, store=False)
    assert rec.body()["input"] == history


def test_model_and_agent_are_exclusive() -> None:
    client = ic.Client(api_key="k", transport=httpx.MockTransport(lambda r: ok()))
    with pytest.raises(ValueError, match="exactly one"):
        client.interactions.create(model="m", agent="a", input="x")
    with pytest.raises(ValueError, match="exactly one"):
        client.interactions.create(input="x")
    with pytest.raises(ValueError, match="generation_config"):
        client.interactions.create(agent="a", input="x", generation_config={})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ic.BadRequestError),
        (401, ic.AuthenticationError),
        (403, ic.PermissionDeniedError),
        (404, ic.NotFoundError),
        (422, ic.UnprocessableEntityError),
        (429, ic.RateLimitError),
        (500, ic.InternalServerError),
        (503, ic.InternalServerError),
        (418, ic.APIStatusError),
    ],
)
def test_error_statuses_map_to_typed_errors(
    kind: str, status: int, cls: type, delays: list[float]
) -> None:
    body = {"error": {"code": status, "message": "It went wrong", "status": "SOME_STATUS"}}
    rec = Recorder(httpx.Response(status, json=body, headers={"x-request-id": "req-42"}))
    with pytest.raises(cls) as info:
        Api(kind, rec, max_retries=0).create(model="m", input="x")
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert (
        error.code == status and error.status == "SOME_STATUS" and error.message == "It went wrong"
    )
    assert error.request_id == "req-42"
    assert error.body == body


def test_a_string_error_code_is_kept(kind: str) -> None:
    rec = Recorder(httpx.Response(404, json={"error": {"code": "not_found", "message": "gone"}}))
    with pytest.raises(ic.NotFoundError) as info:
        Api(kind, rec).get("v1_missing")
    assert info.value.code == "not_found" and info.value.message == "gone"


def test_it_retries_5xx_then_succeeds(kind: str, delays: list[float]) -> None:
    rec = Recorder(httpx.Response(503, json={}), httpx.Response(500, json={}), ok())
    assert Api(kind, rec).create(model="m", input="x").status == "completed"
    assert len(rec.requests) == 3
    assert 0.375 <= delays[0] <= 0.5 and 0.75 <= delays[1] <= 1.0


def test_it_honours_retry_after_headers(kind: str, delays: list[float]) -> None:
    rec = Recorder(
        httpx.Response(429, json={}, headers={"Retry-After": "3"}),
        httpx.Response(429, json={}, headers={"retry-after-ms": "1500", "Retry-After": "9"}),
        ok(),
    )
    Api(kind, rec).create(model="m", input="x")
    assert delays == [3.0, 1.5]


def test_retries_run_out_into_the_last_error(kind: str, delays: list[float]) -> None:
    rec = Recorder(httpx.Response(429, json={"error": {"code": 429, "message": "quota"}}))
    with pytest.raises(ic.RateLimitError):
        Api(kind, rec, max_retries=3).create(model="m", input="x")
    assert len(rec.requests) == 4


def test_client_errors_are_not_retried(kind: str, delays: list[float]) -> None:
    rec = Recorder(httpx.Response(400, json={"error": {"code": 400, "message": "bad"}}))
    with pytest.raises(ic.BadRequestError):
        Api(kind, rec).create(model="m", input="x")
    assert len(rec.requests) == 1


def test_connect_errors_are_retried_but_a_lost_create_answer_is_not(
    kind: str, delays: list[float]
) -> None:
    rec = Recorder(httpx.ConnectError("refused"), ok())
    assert Api(kind, rec).create(model="m", input="x").status == "completed"
    assert len(rec.requests) == 2
    rec = Recorder(httpx.ReadError("reset"), ok())
    with pytest.raises(ic.APIConnectionError):
        Api(kind, rec).create(model="m", input="x")
    assert len(rec.requests) == 1
    rec = Recorder(httpx.ReadError("reset"), ok())
    assert Api(kind, rec).get("v1_done").status == "completed"
    assert len(rec.requests) == 2


def test_timeouts_are_typed(kind: str, delays: list[float]) -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(ic.APITimeoutError):
        Api(kind, rec, max_retries=0).create(model="m", input="x")


def test_streaming_yields_typed_events_and_folds_them(kind: str) -> None:
    rec = Recorder(sse_response(*STREAM_EVENTS))
    events, stream = Api(kind, rec).stream(model="m", input="x")
    assert rec.requests[0].headers["accept"] == "text/event-stream"
    assert rec.body() == {"model": "m", "input": "x", "stream": True}
    assert [e.event_type for e in events] == [p["event_type"] for p in STREAM_EVENTS]
    assert [e.event_id for e in events] == [f"evt_{i}" for i in range(1, 7)]
    assert isinstance(events[2], types.StepDeltaEvent) and events[2].delta.text == "Hel"
    assert events[2].index == 0 and events[0].interaction.id == "v1_s"
    assert stream.interaction.output_text == "Hello!"
    assert stream.last_event_id == "evt_6"


def test_a_stream_left_early_closes_its_connection(kind: str) -> None:
    body = ChunkStream([sse(*STREAM_EVENTS[:3]), sse(*STREAM_EVENTS[3:])])
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body))
    events, stream = Api(kind, rec).stream(model="m", input="x", limit=2)
    assert len(events) == 2
    assert stream.response.is_closed
    assert body.closed


def test_an_error_event_is_yielded_and_until_done_raises_with_the_partial(kind: str) -> None:
    payloads = STREAM_EVENTS[:3] + [
        {
            "event_type": "error",
            "error": {"code": "internal", "message": "boom"},
            "event_id": "evt_9",
        }
    ]
    events, _ = Api(kind, Recorder(sse_response(*payloads))).stream(model="m", input="x")
    assert isinstance(events[-1], types.ErrorEvent) and events[-1].error.message == "boom"
    with pytest.raises(ic.StreamError) as info:
        Api(kind, Recorder(sse_response(*payloads))).until_done(model="m", input="x")
    assert info.value.message == "boom"
    assert info.value.partial is not None and info.value.partial.output_text == "Hel"


def test_a_dropped_stream_raises_a_connection_error(kind: str) -> None:
    body = ChunkStream(
        [sse(*STREAM_EVENTS[:3]), httpx.RemoteProtocolError("incomplete chunked read")]
    )
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body))
    with pytest.raises(ic.APIConnectionError):
        Api(kind, rec).stream(model="m", input="x")
    assert len(rec.requests) == 1  # never retried once events were delivered


def test_a_stream_is_retried_until_it_opens(kind: str, delays: list[float]) -> None:
    rec = Recorder(httpx.Response(503, json={}), sse_response(*STREAM_EVENTS))
    events, stream = Api(kind, rec).stream(model="m", input="x")
    assert len(rec.requests) == 2 and stream.interaction.status == "completed"


def test_bad_event_data_is_a_clear_error(kind: str) -> None:
    rec = Recorder(sse_response(chunks=[b"data: {not json\n\n"]))
    with pytest.raises(ic.APIResponseValidationError, match="not JSON"):
        Api(kind, rec).stream(model="m", input="x")


def test_get_cancel_and_delete_use_their_paths(kind: str) -> None:
    rec = Recorder(ok(), ok({"id": "v1_done", "status": "cancelled"}), httpx.Response(200, json={}))
    api = Api(kind, rec)
    assert api.get("v1_done", include_input=True).status == "completed"
    assert api.cancel("v1_done").status == "cancelled"
    assert api.delete("v1_done") is None
    assert [(r.method, r.url.path, r.url.query) for r in rec.requests] == [
        ("GET", "/v1/interactions/v1_done", b"include_input=true&stream=false"),
        ("POST", "/v1/interactions/v1_done/cancel", b""),
        ("DELETE", "/v1/interactions/v1_done", b""),
    ]


def test_get_re_attaches_to_a_stream_after_an_event_id(kind: str) -> None:
    rec = Recorder(sse_response(*STREAM_EVENTS[3:]))
    events, _ = Api(kind, rec).stream("get", id="v1_s", last_event_id="evt_3")
    assert rec.requests[0].url.params["last_event_id"] == "evt_3"
    assert rec.requests[0].url.params["stream"] == "true"
    assert rec.requests[0].headers["accept"] == "text/event-stream"
    assert events[0].event_id == "evt_4"


def test_unknown_ids_are_refused_before_sending() -> None:
    client = ic.Client(api_key="k", transport=httpx.MockTransport(lambda r: ok()))
    with pytest.raises(ValueError):
        client.interactions.get("../admin")


def hop(hop_id: str, status: str, text: str, token: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": hop_id,
        "status": status,
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
        "usage": {"total_tokens": 10, "total_input_tokens": 4},
    }
    if token:
        data["continuation_token"] = token
    return data


def test_unary_answers_are_continued_across_hops(kind: str) -> None:
    rec = Recorder(
        ok(hop("v1_h1", "requires_continuation", "one ", "t1")),
        ok(hop("v1_h2", "requires_continuation", "two ", "t2")),
        ok(hop("v1_h3", "completed", "three")),
    )
    result = Api(kind, rec).create(model="m", input="write a lot")
    assert result.output_text == "one two three"
    assert result.id == "v1_h3" and result.status == "completed"
    assert result.continuation_ids == ["v1_h1", "v1_h2", "v1_h3"]
    assert result.usage.total_tokens == 30 and result.usage.initial_input_tokens == 4
    assert rec.body(1) == {
        "model": "m",
        "continuation_token": "t1",
        "previous_interaction_id": "v1_h1",
    }
    assert rec.body(2) == {
        "model": "m",
        "continuation_token": "t2",
        "previous_interaction_id": "v1_h2",
    }


def test_stateless_continuation_resends_the_input(kind: str) -> None:
    rec = Recorder(
        ok(hop("v1_h1", "requires_continuation", "a", "t1")), ok(hop("v1_h2", "completed", "b"))
    )
    Api(kind, rec).create(model="m", input="x", store=False)
    assert rec.body(1) == {"model": "m", "input": "x", "store": False, "continuation_token": "t1"}


def test_continuation_can_be_turned_off_and_stops_without_progress(kind: str) -> None:
    rec = Recorder(ok(hop("v1_h1", "requires_continuation", "a", "t1")))
    result = Api(kind, rec).create(model="m", input="x", automatic_continuation=False)
    assert result.status == "requires_continuation" and len(rec.requests) == 1
    rec = Recorder(ok(hop("v1_h1", "requires_continuation", "a", "same")))
    result = Api(kind, rec).create(model="m", input="x", continuation_token="same")
    assert len(rec.requests) == 1


def test_streams_continue_across_hops_on_one_iterator(kind: str) -> None:
    def hop_events(hop_id: str, text: str, status: str, token: str | None) -> httpx.Response:
        final: dict[str, Any] = {"id": hop_id, "status": status}
        if token:
            final["continuation_token"] = token
        return sse_response(
            {
                "event_type": "interaction.created",
                "interaction": {"id": hop_id, "status": "in_progress"},
            },
            {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
            {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": text}},
            {"event_type": "step.stop", "index": 0},
            {"event_type": "interaction.completed", "interaction": final},
        )

    rec = Recorder(
        hop_events("v1_h1", "first ", "requires_continuation", "t1"),
        hop_events("v1_h2", "second", "completed", None),
    )
    events, stream = Api(kind, rec).stream(model="m", input="x")
    assert len(events) == 10
    assert stream.interaction.output_text == "first second"
    assert stream.interaction.continuation_ids == ["v1_h1", "v1_h2"]
    assert rec.body(1)["previous_interaction_id"] == "v1_h1"


def test_wait_polls_until_a_background_interaction_finishes(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("interactions_client._client.time.sleep", lambda s: None)
    monkeypatch.setattr("interactions_client._client.asyncio.sleep", _no_sleep)
    rec = Recorder(
        ok({"id": "v1_bg", "status": "queued"}),
        ok({"id": "v1_bg", "status": "in_progress"}),
        ok(COMPLETED),
    )
    assert Api(kind, rec).wait("v1_bg", poll_interval=0.01).status == "completed"
    assert len(rec.requests) == 3


async def _no_sleep(seconds: float) -> None:
    return None


def test_clients_close_their_connections() -> None:
    with ic.Client(api_key="k", transport=httpx.MockTransport(lambda r: ok())) as client:
        client.interactions.create(model="m", input="x")
    assert client._http.is_closed
