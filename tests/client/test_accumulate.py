from __future__ import annotations

import copy
from typing import Any

import pytest

from interactions_client import Accumulator, Interaction, accumulate
from interactions_client.types import parse_event


def events(*payloads: dict, prefix: str = "evt") -> list:
    return [parse_event({**p, "event_id": f"{prefix}_{i}"}) for i, p in enumerate(payloads)]


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


# --- multi-call turns: one fold, a round per call ---

CALL_STEP = {"type": "function_call", "id": "call_1", "name": "get_weather", "arguments": {}}
RESULT_STEP = {
    "type": "function_result",
    "call_id": "call_1",
    "name": "get_weather",
    "result": [{"type": "text", "text": '{"temp": 22}'}],
}


def tool_round() -> list:
    return events(
        {
            "event_type": "interaction.created",
            "interaction": {
                "id": "v1_r1",
                "status": "in_progress",
                "created": "2026-06-09T12:00:00Z",
                "previous_interaction_id": "v1_earlier",
            },
        },
        start(0, {"type": "thought", "signature": "c2ln"}),
        stop(0),
        start(1, CALL_STEP),
        delta(1, {"type": "arguments_delta", "arguments": '{"city": "Rome"}'}),
        stop(1),
        {
            "event_type": "interaction.completed",
            "interaction": {
                "id": "v1_r1",
                "status": "requires_action",
                "usage": {
                    "total_tokens": 10,
                    "total_input_tokens": 6,
                    "input_tokens_by_modality": [{"modality": "text", "tokens": 6}],
                },
            },
        },
        prefix="r1",
    )


def answer_round(final_steps: list | None = None) -> list:
    completed: dict = {
        "id": "v1_r2",
        "status": "completed",
        "usage": {
            "total_tokens": 7,
            "total_input_tokens": 5,
            "input_tokens_by_modality": [{"modality": "text", "tokens": 5}],
        },
    }
    if final_steps is not None:
        completed["steps"] = final_steps
    return events(
        {
            "event_type": "interaction.created",
            "interaction": {
                "id": "v1_r2",
                "status": "in_progress",
                "created": "2026-06-09T12:00:09Z",
                "previous_interaction_id": "v1_r1",
            },
        },
        start(0, {"type": "model_output"}),
        delta(0, {"type": "text", "text": "22 degrees."}),
        stop(0),
        {"event_type": "interaction.completed", "interaction": completed},
        prefix="r2",
    )


ROUND1_STEPS = [
    {"type": "thought", "signature": "c2ln"},
    {**CALL_STEP, "arguments": {"city": "Rome"}},
]
ROUND2_STEPS = [{"type": "model_output", "content": [{"type": "text", "text": "22 degrees."}]}]


def test_a_tool_round_and_its_answer_fold_into_one_turn() -> None:
    acc = Accumulator()
    for event in tool_round():
        acc.feed(event)
    results = [copy.deepcopy(RESULT_STEP)]
    acc.begin_round(results)
    results[0]["result"] = "changed afterwards"  # the fold keeps its own copy
    assert acc.position(0) == 3
    for event in answer_round():
        acc.feed(event)

    assert acc.steps == ROUND1_STEPS + [RESULT_STEP] + ROUND2_STEPS
    snapshot = acc.snapshot()
    assert snapshot["usage"] == {
        "total_tokens": 17,
        "total_input_tokens": 11,
        "input_tokens_by_modality": [{"modality": "text", "tokens": 11}],
    }
    assert snapshot["id"] == "v1_r2" and snapshot["status"] == "completed"
    assert snapshot["created"] == "2026-06-09T12:00:00Z"
    assert snapshot["previous_interaction_id"] == "v1_earlier"
    assert acc.hop_ids == ["v1_r1", "v1_r2"]
    assert acc.last_event_id == "r2_4"
    assert acc.interaction.output_text == "22 degrees."


def test_usage_mid_round_counts_the_rounds_before_it() -> None:
    acc = Accumulator()
    for event in tool_round():
        acc.feed(event)
    acc.begin_round([RESULT_STEP])
    acc.feed(
        parse_event(
            {
                "event_type": "interaction.status_update",
                "interaction_id": "v1_r2",
                "status": "in_progress",
                "usage": {"total_tokens": 2},
            }
        )
    )
    assert acc.snapshot()["usage"]["total_tokens"] == 12
    assert acc.snapshot()["status"] == "in_progress"


def test_a_rounds_own_step_list_replaces_only_that_round() -> None:
    final = [{"type": "model_output", "content": [{"type": "text", "text": "Final."}]}]
    acc = Accumulator()
    for event in tool_round():
        acc.feed(event)
    acc.begin_round([RESULT_STEP])
    for event in answer_round(final_steps=final):
        acc.feed(event)
    assert acc.steps == ROUND1_STEPS + [RESULT_STEP] + final


def test_a_round_without_steps_to_add_starts_after_everything_so_far() -> None:
    acc = Accumulator()
    for event in tool_round():
        acc.feed(event)
    acc.begin_round()
    assert acc.round_start == 2 and acc.position(1) == 3
    for event in answer_round():
        acc.feed(event)
    assert acc.steps == ROUND1_STEPS + ROUND2_STEPS


def test_continuation_hops_use_the_same_round_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list] = []
    original = Accumulator.begin_round

    def spy(self: Accumulator, steps: Any = ()) -> None:
        calls.append(list(steps))
        original(self, steps)

    monkeypatch.setattr(Accumulator, "begin_round", spy)
    hop1 = events(
        {
            "event_type": "interaction.created",
            "interaction": {"id": "v1_h1", "status": "in_progress"},
        },
        start(0, {"type": "model_output"}),
        delta(0, {"type": "text", "text": "a"}),
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "v1_h1", "status": "requires_continuation"},
        },
    )
    hop2 = events(
        {
            "event_type": "interaction.created",
            "interaction": {"id": "v1_h2", "status": "in_progress"},
        },
        start(0, {"type": "model_output"}),
        delta(0, {"type": "text", "text": "b"}),
    )
    acc = Accumulator()
    for event in hop1 + hop2:
        acc.feed(event)
    assert calls == [[]]
    assert acc.round_start == 1 and acc.interaction.output_text == "ab"


def test_restore_goes_on_inside_a_later_round() -> None:
    saved = Accumulator()
    for event in tool_round():
        saved.feed(event)
    saved.begin_round([RESULT_STEP])
    first_events = answer_round()
    for event in first_events[:2]:
        saved.feed(event)
    snapshot, cursor, round_start = saved.snapshot(), saved.last_event_id, saved.round_start

    acc = Accumulator()
    acc.restore(snapshot, cursor, round_start=round_start)
    for event in first_events[2:]:
        acc.feed(event)
    assert acc.steps == ROUND1_STEPS + [RESULT_STEP] + ROUND2_STEPS
    assert acc.last_event_id == "r2_4"
    with pytest.raises(ValueError):
        Accumulator().restore(snapshot, cursor, round_start=len(acc.steps) + 1)


def test_a_whole_interaction_folds_into_the_current_round() -> None:
    acc = Accumulator()
    for event in tool_round():
        acc.feed(event)
    acc.begin_round([RESULT_STEP])
    # A background call: first its answer to create (queued, no steps yet) ...
    acc.feed_interaction({"id": "v1_r2", "status": "queued", "created": "2026-06-09T12:00:09Z"})
    assert acc.steps == ROUND1_STEPS + [RESULT_STEP] and acc.snapshot()["status"] == "queued"
    # ... then the stored view polled when it is done, which starts with the user's input.
    stored = {
        "id": "v1_r2",
        "status": "completed",
        "steps": [{"type": "user_input", "content": [{"type": "text", "text": "hi"}]}]
        + ROUND2_STEPS,
        "usage": {"total_tokens": 7},
    }
    acc.feed_interaction(Interaction.model_validate(stored))
    assert acc.steps == ROUND1_STEPS + [RESULT_STEP] + ROUND2_STEPS
    assert acc.snapshot()["usage"]["total_tokens"] == 17
    assert acc.snapshot()["created"] == "2026-06-09T12:00:00Z"
    assert acc.hop_ids == ["v1_r1", "v1_r2"]
