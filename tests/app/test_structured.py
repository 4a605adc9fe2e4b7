"""Structured output: checking pasted schemas, checking answers, showing them as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from chatapp.structured import (
    check_answer,
    check_schema,
    parse_schema_text,
    render_json_html,
    response_format,
)


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: list[str] = Field(description="List of ingredients.")
    prep_time_minutes: int | None = Field(description="Prep time in minutes.")


class Step(BaseModel):
    text: str
    substeps: list[Step] = []


class Book(BaseModel):
    title: str
    recipes: list[Recipe]


RECIPE = Recipe.model_json_schema()


# --- check_schema ---


def test_pydantic_schemas_pass() -> None:
    assert "anyOf" in json.dumps(RECIPE)
    assert check_schema(RECIPE) == []
    book = Book.model_json_schema()
    assert "$defs" in book and check_schema(book) == []
    step = Step.model_json_schema()  # self-referencing: the top level is only a "$ref"
    assert "type" not in step and check_schema(step) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        {"type": "object"},
    ],
)
def test_good_schemas(schema: dict[str, Any]) -> None:
    assert check_schema(schema) == []


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([{"type": "object"}], "must be a JSON object"),
        ("object", "must be a JSON object"),
        ({"type": "string"}, 'top-level "type" must be "object" or "array"'),
        ({"properties": {}}, 'top-level "type"'),
        ({"type": "strng"}, "At type: 'strng' is not a JSON type (use one of: array"),
        (
            {"type": "object", "properties": {"a": {"type": "integr"}}},
            "At properties/a/type: 'integr' is not a JSON type",
        ),
        ({"type": "object", "required": "a"}, "At required: 'a' is not of type 'array'"),
        ({"type": "object", "properties": {"type": 5}}, "At properties/type: 5 is not of type"),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}, "#/$defs/Missing"),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
            "does not point at a part of this schema",
        ),
        ({"type": "object", "description": "x" * 21_000}, "too large (21.0 KB"),
        ({"type": "object", "properties": {"x": float("nan")}}, "not plain JSON"),
    ],
)
def test_bad_schemas(schema: Any, message: str) -> None:
    errors = check_schema(schema)
    assert errors and any(message in error for error in errors), errors


def test_deep_schema_is_refused() -> None:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(30):
        schema = {"type": "object", "properties": {"x": schema}}
    assert check_schema(schema) == ["The schema is nested too deeply (limit 20 levels)."]


# --- parse_schema_text ---


def test_parse_schema_text() -> None:
    assert parse_schema_text("") == (None, [])
    assert parse_schema_text("  \n ") == (None, [])
    assert parse_schema_text(json.dumps(RECIPE, indent=4)) == (RECIPE, [])


def test_parse_schema_text_reports_line_and_column() -> None:
    schema, errors = parse_schema_text('{\n  "type": "object",\n  "properties": {,}\n}')
    assert schema is None
    assert errors == [
        "Not valid JSON: Expecting property name enclosed in double quotes (line 3, column 18)."
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "object", "maximum": NaN}', "NaN is not a JSON number"),
        ('{"type": "text"}', "At type: 'text' is not a JSON type"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        (" " * 100_001, None),  # blank: no schema, not an error
        ('{"type": "object", "description": "' + "x" * 100_000 + '"}', "too long"),
    ],
)
def test_parse_schema_text_errors(text: str, message: str | None) -> None:
    schema, errors = parse_schema_text(text)
    assert schema is None
    if message is None:
        assert errors == []
    else:
        assert len(errors) == 1 and message in errors[0], errors


def test_response_format() -> None:
    assert response_format(RECIPE) == {
        "type": "text",
        "mime_type": "application/json",
        "schema": RECIPE,
    }


# --- check_answer ---


def test_valid_answer_is_pretty_printed() -> None:
    answer = (
        '{"recipe_name":"Banana bread","ingredients":["banana","flour"],"prep_time_minutes":null}'
    )
    verdict = check_answer(answer, RECIPE)
    assert verdict["valid"] is True and verdict["errors"] == []
    assert verdict["pretty"] == json.dumps(json.loads(answer), indent=2)
    assert Recipe.model_validate_json(answer).recipe_name == "Banana bread"


def test_invalid_answer_lists_errors_with_paths() -> None:
    answer = json.dumps({"recipe_name": 3, "ingredients": ["a", 2]})
    verdict = check_answer(answer, RECIPE)
    assert verdict["valid"] is False
    assert sorted(verdict["errors"]) == [
        "$.ingredients[1]: 2 is not of type 'string'",
        "$.recipe_name: 3 is not of type 'string'",
        "$: 'prep_time_minutes' is a required property",
    ]
    assert verdict["pretty"].startswith('{\n  "recipe_name": 3,')


def test_at_most_five_errors_and_short_messages() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    verdict = check_answer(json.dumps(["x" * 1000] * 20), schema)
    assert len(verdict["errors"]) == 5
    assert all(len(error) <= 300 for error in verdict["errors"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Here is your recipe: banana bread", "The answer is not JSON: Expecting value (line 1"),
        ("", "The answer is not JSON: Expecting value (line 1, column 1)."),
        ('{"a": 1', "The answer is not JSON"),
        ("[" * 100_000, "The answer is not usable JSON: it is nested too deeply."),
        ("1" * 5000, "The answer is not JSON: Exceeds the limit"),
    ],
)
def test_answer_that_is_not_json(text: str, message: str) -> None:
    verdict = check_answer(text, RECIPE)
    assert verdict["valid"] is False and verdict["pretty"] is None
    assert verdict["errors"][0].startswith(message)


def test_check_answer_never_raises() -> None:
    verdict = check_answer("{}", {"type": "object", "properties": {"a": {"$ref": "#/nope"}}})
    assert verdict["valid"] is True  # the broken reference is never reached
    verdict = check_answer('{"a": 1}', {"type": "object", "properties": {"a": {"$ref": "#/no"}}})
    assert verdict["valid"] is False and "could not be applied" in verdict["errors"][0]
    assert verdict["pretty"] == '{\n  "a": 1\n}'
    assert check_answer(None, RECIPE)["valid"] is False  # type: ignore[arg-type]


# --- render_json_html ---


def test_render_json_html_escapes_string_values() -> None:
    pretty = json.dumps({"name": "</script><script>alert('x')</script>", "n": 1}, indent=2)
    html = render_json_html(pretty)
    assert html.startswith('<pre class="highlight json"><code>')
    assert html.endswith("</code></pre>")
    assert "<script>" not in html and "</script>" not in html
    assert "&lt;/script&gt;&lt;script&gt;" in html
    assert '"name": ' in html  # quotes are harmless in element text (the page highlights it)


def test_render_json_html_of_non_json_text_is_still_escaped() -> None:
    html = render_json_html('<img src=x onerror="alert(1)"> & {')
    assert "<img" not in html and "&lt;img" in html and "&amp;" in html
