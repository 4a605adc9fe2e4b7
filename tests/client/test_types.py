from __future__ import annotations

import json

from interactions_client import Interaction, types
from interactions_client.types import parse_event

RESPONSE = {
    "id": "v1_ChdpQUFvYXI",
    "status": "completed",
    "usage": {"total_tokens": 197, "total_input_tokens": 8, "total_output_tokens": 12},
    "created": "2026-06-09T12:01:25Z",
    "steps": [
        {"type": "thought", "signature": "EvEFCu4FAQw=="},
        {
            "type": "model_output",
            "content": [
                {
                    "type": "text",
                    "text": "Spain won Euro 2024.",
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url": "https://www.uefa.com/euro2024",
                            "title": "uefa.com",
                            "start_index": 0,
                            "end_index": 20,
                        }
                    ],
                }
            ],
        },
    ],
    "object": "interaction",
    "model": "gemini-3.5-flash",
}


def test_it_parses_steps_content_and_annotations_into_their_types() -> None:
    interaction = Interaction.model_validate(RESPONSE)
    thought, output = interaction.steps
    assert isinstance(thought, types.ThoughtStep)
    assert isinstance(output, types.ModelOutputStep)
    assert output.content is not None
    text = output.content[0]
    assert isinstance(text, types.TextContent)
    assert text.annotations is not None
    assert isinstance(text.annotations[0], types.UrlCitation)
    assert interaction.usage is not None and interaction.usage.total_tokens == 197
    assert interaction.output_text == "Spain won Euro 2024."


def test_dump_gives_back_exactly_the_json_received() -> None:
    interaction = Interaction.model_validate(RESPONSE)
    assert interaction.model_dump() == RESPONSE
    assert [step.model_dump() for step in interaction.steps] == RESPONSE["steps"]
    assert json.loads(interaction.model_dump_json()) == RESPONSE


def test_unknown_types_and_fields_are_kept_not_fatal() -> None:
    data = {
        "id": "v1_x",
        "status": "some_future_status",
        "brand_new_field": {"nested": [1, 2]},
        "steps": [
            {"type": "hologram_call", "id": "h1", "payload": {"x": 1}},
            {
                "type": "model_output",
                "content": [
                    {"type": "smell", "intensity": 3},
                    {"type": "text", "text": "ok", "annotations": [{"type": "vibe", "a": 1}]},
                ],
                "new_step_field": True,
            },
        ],
    }
    interaction = Interaction.model_validate(data)
    assert isinstance(interaction.steps[0], types.UnknownStep)
    output = interaction.steps[1]
    assert isinstance(output, types.ModelOutputStep) and output.content is not None
    assert isinstance(output.content[0], types.UnknownContent)
    assert interaction.model_dump() == data
    assert interaction.output_text == "ok"


def test_unknown_event_and_delta_types_parse_leniently() -> None:
    event = parse_event({"event_type": "interaction.teleported", "where": "mars", "event_id": "e9"})
    assert isinstance(event, types.UnknownEvent)
    assert event.event_id == "e9"
    assert event.model_dump() == {
        "event_type": "interaction.teleported",
        "where": "mars",
        "event_id": "e9",
    }
    delta = parse_event(
        {"event_type": "step.delta", "index": 0, "delta": {"type": "smell", "x": 1}}
    )
    assert isinstance(delta.delta, types.UnknownDelta)


def test_models_built_in_code_carry_their_type_tag() -> None:
    assert types.GoogleSearchTool().model_dump() == {"type": "google_search"}
    fmt = types.TextResponseFormat(mime_type="application/json", schema={"type": "object"})
    assert fmt.model_dump() == {
        "type": "text",
        "mime_type": "application/json",
        "schema": {"type": "object"},
    }


def _steps(*steps: dict) -> Interaction:
    return Interaction.model_validate({"id": "v1", "status": "completed", "steps": list(steps)})


def text_step(*texts: str) -> dict:
    return {"type": "model_output", "content": [{"type": "text", "text": t} for t in texts]}


def test_output_text_is_the_trailing_run_of_text_since_the_last_user_input() -> None:
    call = {"type": "function_call", "id": "c1", "name": "f", "arguments": {}}
    user = {"type": "user_input", "content": [{"type": "text", "text": "hi"}]}
    image = {"type": "image", "data": "AA==", "mime_type": "image/png"}
    assert _steps(text_step("A "), text_step("B")).output_text == "A B"
    assert _steps(text_step("before"), call, text_step("after")).output_text == "after"
    assert _steps(text_step("only"), call).output_text == "only"
    assert _steps(text_step("old"), user, call).output_text == ""
    assert _steps({"type": "thought"}, text_step("x"), {"type": "thought"}).output_text == "x"
    mixed = {
        "type": "model_output",
        "content": [{"type": "text", "text": "a"}, image, {"type": "text", "text": "b"}],
    }
    assert _steps(mixed).output_text == "b"


def test_output_image_is_the_latest_image_since_the_last_user_input() -> None:
    first = {
        "type": "model_output",
        "content": [{"type": "image", "data": "AQ==", "mime_type": "image/png"}],
    }
    second = {
        "type": "model_output",
        "content": [{"type": "image", "data": "Ag==", "mime_type": "image/png"}],
    }
    interaction = _steps(first, second)
    assert interaction.output_image is not None and interaction.output_image.data == "Ag=="
    assert _steps(first, {"type": "user_input", "content": "again"}).output_image is None
    assert interaction.output_audio is None


def test_errors_are_parsed_with_string_or_integer_codes() -> None:
    interaction = Interaction.model_validate(
        {
            "id": "v1",
            "status": "failed",
            "errors": [{"code": "internal", "message": "boom"}, {"code": 13}],
        }
    )
    assert interaction.errors is not None
    assert interaction.error is not None and interaction.error.message == "boom"
    assert interaction.errors[1].code == 13
