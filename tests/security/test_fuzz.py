"""Fuzzing what the upstream sends: the SSE decoder, event parsing and the accumulator.

An upstream (or anything between it and us) may send any bytes. The client's contract: the
decoder takes any bytes, `decode_event` raises nothing but `APIResponseValidationError`, and
the accumulator folds any sequence of well-typed events into the state they describe.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from interactions_client import Accumulator, APIResponseValidationError, SSEDecoder
from interactions_client._sse import ServerSentEvent
from interactions_client._streaming import decode_event
from interactions_client.types import StreamEvent, parse_event

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

EVENT_TYPES = [
    "interaction.created",
    "interaction.status_update",
    "interaction.completed",
    "step.start",
    "step.delta",
    "step.stop",
    "error",
]
STEP_TYPES = [
    "model_output",
    "thought",
    "user_input",
    "function_call",
    "function_result",
    "google_search_call",
    "google_search_result",
    "code_execution_call",
    "code_execution_result",
    "url_context_result",
    "a_future_step",
]
DELTA_TYPES = [
    "text",
    "text_annotation_delta",
    "image",
    "audio",
    "thought_summary",
    "thought_signature",
    "arguments_delta",
    "function_result",
    "code_execution_call",
    "google_search_result",
    "a_future_delta",
]
FIELDS = [
    "event_id",
    "index",
    "step",
    "delta",
    "interaction",
    "error",
    "status",
    "usage",
    "metadata",
    "type",
    "text",
    "content",
    "steps",
    "id",
]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
# Payloads shaped like events (a known or unknown event_type, known field names, any values),
# and plain JSON of any shape.
event_like = st.builds(
    lambda kind, fields: {"event_type": kind, **fields},
    st.sampled_from(EVENT_TYPES) | st.text(max_size=8),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
)


def in_pieces(payload: bytes, cuts: list[int]) -> list[bytes]:
    """`payload` cut at the given points (taken modulo its length)."""
    points = sorted({c % (len(payload) + 1) for c in cuts})
    return [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]


# --- the SSE decoder ---


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=6))
@example(b"data: \xff\xfe\r\n\r\ndata: x\r", [7])
@example(b"\xef\xbb\xbfdata: {}\n\n:comment\nretry: 99999999999999999999\nid: a\x00b\n\n", [2, 3])
def test_the_sse_decoder_takes_any_bytes_in_any_chunks(payload: bytes, cuts: list[int]) -> None:
    whole = SSEDecoder()
    events = [*whole.feed(payload), *whole.close()]
    chunked = SSEDecoder()
    pieces = [e for piece in in_pieces(payload, cuts) for e in chunked.feed(piece)]
    assert [*pieces, *chunked.close()] == events, "where the chunks are cut must not matter"
    # An event only ends at a blank line: at most one event per two line ends.
    assert len(events) <= (payload.count(b"\n") + payload.count(b"\r")) // 2
    for event in events:
        # CR and LF end lines: data lines are joined with LF, and nothing else keeps one.
        assert "\r" not in event.data
        assert not {"\r", "\n"} & set(event.event) and event.event
        assert event.id is None or not {"\r", "\n", "\0"} & set(event.id)


line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
sse_messages = st.lists(
    st.tuples(line_text, st.lists(line_text, min_size=1, max_size=3)), max_size=5
)


@FUZZ
@given(sse_messages, st.sampled_from(["\n", "\r", "\r\n"]), st.lists(st.integers(0, 400)))
@example([("", ["{}"]), ("x", [" a", ""])], "\r\n", [1, 7, 8])
def test_encoded_events_decode_back_whole_in_any_chunks(
    messages: list[tuple[str, list[str]]], newline: str, cuts: list[int]
) -> None:
    wire = "".join(
        f"event: {name}{newline}" + "".join(f"data: {line}{newline}" for line in lines) + newline
        for name, lines in messages
    ).encode()
    decoder = SSEDecoder()
    decoded = [e for piece in in_pieces(wire, cuts) for e in decoder.feed(piece)]
    assert [*decoded, *decoder.close()] == [
        ServerSentEvent(event=name or "message", data="\n".join(lines)) for name, lines in messages
    ]


@FUZZ
@given(st.text(max_size=200) | json_values.map(json.dumps))
@example("[DONE]")
@example("NaN")
@example("[1, 2]")
@example('"step.delta"')
def test_event_data_that_is_not_a_json_object_is_a_validation_error(data: str) -> None:
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    assume(not isinstance(payload, dict))
    if data == "[DONE]":
        assert decode_event(ServerSentEvent(data=data)) is None
        return
    with pytest.raises(APIResponseValidationError):
        decode_event(ServerSentEvent(data=data))


@FUZZ
@given(
    (event_like | json_values.map(lambda v: {"event_type": "step.delta", "index": v})).map(
        json.dumps
    )
)
@example('{"event_type": "step.delta", "index": "first"}')
@example('{"event_type": "error", "error": []}')
@example('{"event_type": 7}')
def test_decode_event_raises_only_the_documented_error(data: str) -> None:
    payload = json.loads(data)
    # Without a string event_type, the SSE event name ("message" by default) tags the event.
    kind = payload["event_type"] if isinstance(payload["event_type"], str) else "message"
    try:
        event = decode_event(ServerSentEvent(data=data))
    except APIResponseValidationError:
        # Refused only when the typed model refuses the payload.
        with pytest.raises(ValidationError):
            parse_event({**payload, "event_type": kind})
        return
    assert event is not None and event.event_type == kind
    # Every field the upstream sent is kept, known or not, and nothing is added.
    assert set(event.model_dump(mode="json")) == set(payload)


def test_decode_event_refuses_a_number_too_long_for_python() -> None:
    data = '{"event_type": "step.delta", "index": ' + "9" * 5000 + "}"
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        decode_event(ServerSentEvent(data=data))


# --- the accumulator ---

texts = st.text(max_size=10)
content_items = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image", "audio", "a_future_content"])},
    optional={
        "text": texts,
        "data": texts,
        "mime_type": texts,
        "annotations": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["url_citation", "place_citation", "other"])},
                optional={
                    "url": texts,
                    "title": texts,
                    "start_index": st.integers(-5, 50),
                    "end_index": st.integers(-5, 50),
                },
            ),
            max_size=2,
        ),
    },
)
small_json = st.recursive(
    st.none() | st.booleans() | st.integers(-9, 9) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
steps = st.fixed_dictionaries(
    {"type": st.sampled_from(STEP_TYPES)},
    optional={
        "content": st.lists(content_items, max_size=2),
        "summary": st.lists(content_items, max_size=2),
        "signature": texts,
        "id": texts,
        "call_id": texts,
        "name": texts,
        "arguments": st.dictionaries(texts, small_json, max_size=2),
        "result": small_json,
    },
)
annotation_items = st.fixed_dictionaries(
    {"type": st.sampled_from(["url_citation", "place_citation", "other"])},
    optional={"url": texts, "title": texts, "start_index": st.integers(-5, 50)},
)
# Each delta type with the fields it has on the wire, and nothing else.
DELTA_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "text": {"text": texts},
    "text_annotation_delta": {"annotations": st.lists(annotation_items, max_size=2)},
    "image": {"data": texts, "mime_type": texts, "uri": texts},
    "audio": {"data": texts, "mime_type": texts},
    "thought_summary": {"content": content_items},
    "thought_signature": {"signature": texts},
    "arguments_delta": {"arguments": texts},
    "function_result": {"call_id": texts, "name": texts, "result": small_json},
    "code_execution_call": {
        "arguments": st.fixed_dictionaries({}, optional={"code": texts, "language": texts})
    },
    "google_search_result": {"call_id": texts, "result": st.lists(small_json, max_size=2)},
    "a_future_delta": {"payload": small_json},
}
deltas = st.one_of(
    [
        st.fixed_dictionaries({"type": st.just(kind)}, optional=fields)
        for kind, fields in DELTA_FIELDS.items()
    ]
)
# The same deltas, carrying fields of other delta types besides their own.
deltas_with_extras = st.builds(
    lambda delta, extra: {**extra, **delta},
    deltas,
    st.fixed_dictionaries(
        {}, optional={"content": content_items, "summary": texts, "text": texts, "signature": texts}
    ),
)
usages = st.fixed_dictionaries(
    {}, optional={"total_tokens": st.integers(0, 99), "total_output_tokens": st.integers(0, 99)}
)
interactions = st.fixed_dictionaries(
    {},
    optional={
        "id": texts,
        "status": st.sampled_from(
            ["in_progress", "completed", "requires_continuation", "requires_action", "failed"]
        ),
        "steps": st.lists(steps, max_size=3),
        "usage": usages,
        "continuation_token": texts,
    },
)


def events(
    indices: st.SearchStrategy[int], delta: st.SearchStrategy[dict[str, Any]] = deltas
) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda i: {"event_type": "interaction.created", "interaction": i}, interactions),
        st.builds(
            lambda s, u: {"event_type": "interaction.status_update", "status": s, "usage": u},
            st.sampled_from(["in_progress", "requires_continuation", "completed"]),
            usages,
        ),
        st.builds(lambda i, s: {"event_type": "step.start", "index": i, "step": s}, indices, steps),
        st.builds(
            lambda i, d: {"event_type": "step.delta", "index": i, "delta": d}, indices, delta
        ),
        st.builds(lambda i: {"event_type": "step.stop", "index": i}, indices),
        st.builds(
            lambda i: {"event_type": "interaction.completed", "interaction": i}, interactions
        ),
        st.builds(
            lambda c: {"event_type": "error", "error": {"code": c, "message": "boom"}},
            st.sampled_from(["internal", 500]),
        ),
        st.builds(lambda t: {"event_type": t, "extra": 1}, st.text(max_size=8)),
    ).map(lambda p: {**p, "event_id": "evt"})


def well_typed(payloads: list[dict[str, Any]]) -> list[StreamEvent]:
    parsed = []
    for payload in payloads:
        try:
            parsed.append(parse_event(payload))
        except ValidationError:
            assume(False)  # only well-typed events here
    return parsed


def fold(parsed: list[StreamEvent]) -> Accumulator:
    accumulator = Accumulator()
    for event in parsed:
        accumulator.feed(event)
    return accumulator


def last_status(parsed: list[StreamEvent]) -> str | None:
    """The status the events last reported, by a status update or a whole interaction."""
    status = None
    for event in parsed:
        raw = event.model_dump(mode="json")
        if event.event_type == "interaction.status_update" and "status" in raw:
            status = raw["status"]
        elif event.event_type in ("interaction.created", "interaction.completed"):
            status = (raw.get("interaction") or {}).get("status", status)
    return status


def step_types(parsed: list[StreamEvent]) -> set[str]:
    """The types of every step the events start or complete."""
    found = set()
    for event in parsed:
        raw = event.model_dump(mode="json")
        if event.event_type == "step.start":
            found.add((raw.get("step") or {}).get("type"))
        elif event.event_type == "interaction.completed":
            found |= {s.get("type") for s in (raw.get("interaction") or {}).get("steps") or []}
    return found


@settings(FUZZ, max_examples=200)
@given(st.lists(events(st.integers(0, 12)), max_size=12))
def test_the_accumulator_folds_any_well_typed_events(payloads: list[dict[str, Any]]) -> None:
    parsed = well_typed(payloads)
    accumulator = fold(parsed)
    snapshot = accumulator.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot  # plain JSON, ready for the database
    assert snapshot.get("status") == last_status(parsed)
    assert accumulator.last_event_id == ("evt" if parsed else None)
    errors = [e.model_dump(mode="json") for e in parsed if e.event_type == "error"]
    if errors:
        assert accumulator.error is not None
        assert accumulator.error.message == (errors[-1].get("error") or {}).get("message")
    else:
        assert accumulator.error is None
    # Steps are only ever dicts; one without a type is a placeholder for a step not started.
    assert all(isinstance(step, dict) for step in snapshot["steps"])
    assert {s.get("type") for s in snapshot["steps"]} <= step_types(parsed) | {None}


@FUZZ
@given(st.lists(st.text(max_size=8), max_size=8))
@example(["", "a", ""])
def test_text_deltas_fold_into_the_text_they_carry(chunks: list[str]) -> None:
    accumulator = fold(
        [
            parse_event({"event_type": "step.start", "index": 0, "step": {"type": "model_output"}}),
            *(
                parse_event(
                    {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": c}}
                )
                for c in chunks
            ),
            parse_event({"event_type": "step.stop", "index": 0}),
        ]
    )
    content = accumulator.steps[0].get("content") or []
    assert len(content) == min(len(chunks), 1), "one text item, grown by every delta"
    assert "".join(item["text"] for item in content) == "".join(chunks)
    assert accumulator.interaction.output_text == "".join(chunks)


@FUZZ
@given(st.dictionaries(texts, small_json, max_size=3), st.lists(st.integers(0, 200), max_size=6))
def test_argument_fragments_fold_into_the_arguments_they_spell(
    arguments: dict[str, Any], cuts: list[int]
) -> None:
    text = json.dumps(arguments)
    start = {"event_type": "step.start", "index": 0, "step": {"type": "function_call"}}
    fragments = [piece.decode() for piece in in_pieces(text.encode("ascii"), cuts)]
    accumulator = fold(
        [
            parse_event(start),
            *(
                parse_event(
                    {
                        "event_type": "step.delta",
                        "index": 0,
                        "delta": {"type": "arguments_delta", "arguments": fragment},
                    }
                )
                for fragment in fragments
            ),
            parse_event({"event_type": "step.stop", "index": 0}),
        ]
    )
    assert accumulator.steps == [{"type": "function_call", "arguments": arguments}]


@FUZZ
@given(st.lists(events(st.integers(-4, 12)), max_size=14))
@example([{"event_type": "step.start", "index": -1, "step": {"type": "model_output"}}])
def test_the_accumulator_folds_events_with_negative_indices(
    payloads: list[dict[str, Any]],
) -> None:
    parsed = well_typed(payloads)
    # An event for a step at a negative index is ignored: it leaves no trace.
    kept = [e for e in parsed if not (e.event_type.startswith("step.") and (e.index or 0) < 0)]
    assert fold(parsed).snapshot() == fold(kept).snapshot()


@FUZZ
@given(st.lists(events(st.integers(0, 12), deltas_with_extras), max_size=12))
@example(
    [
        {"event_type": "step.start", "index": 0, "step": {"type": "function_result"}},
        {"event_type": "step.delta", "index": 0,
         "delta": {"type": "function_result", "content": {"type": "text"}}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "hi"}},
    ]
)  # fmt: skip
def test_the_accumulator_folds_deltas_carrying_extra_fields(
    payloads: list[dict[str, Any]],
) -> None:
    parsed = well_typed(payloads)
    steps = fold(parsed).snapshot()["steps"]
    # A delta's extra fields never replace a step's type or its content lists.
    assert {s.get("type") for s in steps} <= step_types(parsed) | {None}
    for step in steps:
        for key in ("content", "summary"):
            if key in step:
                assert isinstance(step[key], list), (key, step)
                assert all(isinstance(item, dict) for item in step[key]), (key, step)


@FUZZ
@given(st.lists(events(st.integers(0, 12)), max_size=14))
@example([{"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "hi"}}])
@example([{"event_type": "step.start", "index": 2, "step": {"type": "model_output"}}])
def test_the_accumulated_interaction_is_typed_after_any_well_typed_events(
    payloads: list[dict[str, Any]],
) -> None:
    accumulator = fold(well_typed(payloads))
    snapshot = accumulator.snapshot()
    interaction = accumulator.interaction
    assert interaction.status == snapshot.get("status")
    # The typed view holds the steps that have a type, in order, dumped back unchanged.
    typed = [s for s in snapshot["steps"] if isinstance(s.get("type"), str)]
    assert [s.model_dump(mode="json") for s in interaction.steps] == typed
