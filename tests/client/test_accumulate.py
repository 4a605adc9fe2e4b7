from __future__ import annotations

from interactions_client import Accumulator, accumulate
from interactions_client.types import parse_event


def events(*payloads: dict) -> list:
    return [parse_event({**p, "event_id": f"evt_{i}"}) for i, p in enumerate(payloads)]


def start(index: int, step: dict) -> dict:
    return {"event_type": "step.start", "index": index, "step": step}


def delta(index: int, d: dict) -> dict:
    return {"event_type": "step.delta", "index": index, "delta": d}


def stop(index: int) -> dict:
    return {"event_type": "step.stop", "index": index}


CITATION = {
    "type": "url_citation",
    "url": "https://e.org",
    "title": "e",
    "start_index": 7,
    "end_index": 12,
}
UNARY = {
    "id": "v1_a",
    "status": "completed",
    "object": "interaction",
    "model": "gemini-3.5-flash",
    "created": "2026-06-09T12:01:25Z",
    "usage": {"total_tokens": 30, "total_output_tokens": 20},
    "steps": [
        {
            "type": "thought",
            "signature": "c2ln",
            "summary": [{"type": "text", "text": "Let me think."}],
        },
        {
            "type": "model_output",
            "content": [{"type": "text", "text": "Olé — 日本 🌍", "annotations": [CITATION]}],
        },
        {
            "type": "model_output",
            "content": [{"type": "image", "data": "iVBO", "mime_type": "image/png"}],
        },
        {
            "type": "function_call",
            "id": "call_1",
            "name": "get_weather",
            "arguments": {"location": "London", "days": 2},
        },
    ],
}
STREAM = events(
    {
        "event_type": "interaction.created",
        "interaction": {
            "id": "v1_a",
            "status": "in_progress",
            "object": "interaction",
            "model": "gemini-3.5-flash",
            "created": "2026-06-09T12:01:25Z",
        },
    },
    {"event_type": "interaction.status_update", "interaction_id": "v1_a", "status": "in_progress"},
    start(0, {"type": "thought"}),
    delta(0, {"type": "thought_summary", "content": {"type": "text", "text": "Let me "}}),
    delta(0, {"type": "thought_summary", "content": {"type": "text", "text": "think."}}),
    delta(0, {"type": "thought_signature", "signature": "c2ln"}),
    stop(0),
    start(1, {"type": "model_output"}),
    delta(1, {"type": "text", "text": "Olé — "}),
    delta(1, {"type": "text", "text": "日本 🌍"}),
    delta(1, {"type": "text_annotation_delta", "annotations": [CITATION]}),
    stop(1),
    start(2, {"type": "model_output", "content": []}),
    delta(2, {"type": "image", "data": "iVBO", "mime_type": "image/png"}),
    stop(2),
    start(3, {"type": "function_call", "id": "call_1", "name": "get_weather", "arguments": {}}),
    delta(3, {"type": "arguments_delta", "arguments": '{"location": "Lon'}),
    delta(3, {"type": "arguments_delta", "arguments": 'don", "days": 2}'}),
    stop(3),
    {
        "event_type": "interaction.completed",
        "interaction": {
            "id": "v1_a",
            "status": "completed",
            "usage": {"total_tokens": 30, "total_output_tokens": 20},
        },
    },
)


def test_folding_the_stream_equals_the_unary_interaction() -> None:
    assert accumulate(STREAM).model_dump() == UNARY


def test_the_fold_is_incremental_and_tracks_the_last_event_id() -> None:
    acc = Accumulator()
    for event in STREAM[:9]:
        acc.feed(event)
    assert acc.interaction.status == "in_progress"
    assert acc.snapshot()["steps"][1] == {
        "type": "model_output",
        "content": [{"type": "text", "text": "Olé — "}],
    }
    assert acc.last_event_id == "evt_8"


def test_tool_deltas_fill_the_step_they_are_named_after() -> None:
    result = accumulate(
        events(
            start(0, {"type": "code_execution_call", "id": "c1"}),
            delta(
                0,
                {
                    "type": "code_execution_call",
                    "arguments": {"code": "print(1)", "language": "python"},
                    "signature": "s",
                },
            ),
            stop(0),
            start(1, {"type": "code_execution_result", "call_id": "c1"}),
            delta(1, {"type": "code_execution_result", "result": "1\n", "is_error": False}),
            stop(1),
            start(2, {"type": "google_search_result", "call_id": "g1"}),
            delta(
                2,
                {"type": "google_search_result", "result": [{"search_suggestions": "<div></div>"}]},
            ),
            stop(2),
        )
    )
    assert [s.model_dump() for s in result.steps] == [
        {
            "type": "code_execution_call",
            "id": "c1",
            "arguments": {"code": "print(1)", "language": "python"},
            "signature": "s",
        },
        {"type": "code_execution_result", "call_id": "c1", "result": "1\n", "is_error": False},
        {
            "type": "google_search_result",
            "call_id": "g1",
            "result": [{"search_suggestions": "<div></div>"}],
        },
    ]


def test_an_error_event_is_recorded_and_keeps_what_came_before() -> None:
    acc = Accumulator()
    for event in STREAM[:9] + events(
        {"event_type": "error", "error": {"code": "internal", "message": "boom"}}
    ):
        acc.feed(event)
    assert acc.error is not None and acc.error.message == "boom"
    assert acc.interaction.output_text == "Olé — "


def test_hops_of_a_continued_answer_fold_into_one_interaction() -> None:
    hop1 = events(
        {
            "event_type": "interaction.created",
            "interaction": {"id": "v1_h1", "status": "in_progress"},
        },
        start(0, {"type": "model_output"}),
        delta(0, {"type": "text", "text": "first half, "}),
        stop(0),
        {
            "event_type": "interaction.completed",
            "interaction": {
                "id": "v1_h1",
                "status": "requires_continuation",
                "continuation_token": "tok",
                "usage": {"total_tokens": 5, "total_output_tokens": 3},
            },
        },
    )
    hop2 = events(
        {
            "event_type": "interaction.created",
            "interaction": {"id": "v1_h2", "status": "in_progress"},
        },
        start(0, {"type": "model_output"}),
        delta(0, {"type": "text", "text": "second half."}),
        stop(0),
        {
            "event_type": "interaction.completed",
            "interaction": {
                "id": "v1_h2",
                "status": "completed",
                "usage": {"total_tokens": 4, "total_output_tokens": 2},
            },
        },
    )
    result = accumulate(hop1 + hop2)
    assert result.id == "v1_h2" and result.status == "completed"
    assert result.output_text == "first half, second half."
    assert len(result.steps) == 2
    assert result.usage is not None and result.usage.total_tokens == 9
    assert result.continuation_ids == ["v1_h1", "v1_h2"]
    assert result.continuation_token is None


def test_steps_in_the_completed_event_are_authoritative() -> None:
    final_steps = [{"type": "model_output", "content": [{"type": "text", "text": "final"}]}]
    result = accumulate(
        events(
            start(0, {"type": "model_output"}),
            delta(0, {"type": "text", "text": "draft"}),
            {
                "event_type": "interaction.completed",
                "interaction": {"id": "v1", "status": "completed", "steps": final_steps},
            },
        )
    )
    assert [s.model_dump() for s in result.steps] == final_steps
