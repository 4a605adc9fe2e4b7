"""Unit tests of the simulator's building blocks (no HTTP)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from interactions_client.simulator import model
from interactions_client.simulator.events import Folder, step_events, text_chunks
from interactions_client.simulator.inputs import Context, find_directives, normalize_input
from interactions_client.simulator.png import encode_png, paint
from interactions_client.simulator.schema_fill import fill
from interactions_client.simulator.signing import Signer

SIGNER = Signer(b"k" * 32)


@given(st.text())
def test_text_chunks_reassemble_exactly(text: str) -> None:
    chunks = text_chunks(text)
    assert "".join(chunks) == text
    assert all(chunk for chunk in chunks)


def _draft(body: dict[str, Any]) -> model.Draft:
    steps = normalize_input(body["input"])
    ctx = Context([], steps, body.get("system_instruction"), find_directives(str(body["input"])))
    req = model.Request(body, ctx, body.get("model"), body.get("agent"), "env_x")
    counter = iter(range(1000))
    return model.draft(req, SIGNER, lambda prefix: f"{prefix}_{next(counter)}")


WEATHER = {
    "type": "function",
    "name": "weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gemini-3-pro", "input": "hi"},
        {
            "model": "gemini-2.5-flash",
            "input": "hi",
            "generation_config": {"thinking_summaries": "auto"},
        },
        {"model": "gemini-3-pro", "input": "Weather in Oslo?", "tools": [WEATHER]},
        {"model": "gemini-3-pro", "input": "search ☃", "tools": [{"type": "google_search"}]},
        {
            "model": "m",
            "input": "read https://a.example/x",
            "tools": [{"type": "url_context"}, {"type": "code_execution"}],
        },
        {"model": "gemini-3.1-flash-image", "input": "a red fox"},
        {"agent": "antigravity-preview-05-2026", "input": "fibonacci please"},
        {"model": "m", "input": "[[sim:fail]] x"},
    ],
)
def test_events_fold_back_into_the_same_steps(body: dict[str, Any]) -> None:
    draft = _draft(body)
    folder = Folder()
    for index, step in enumerate(draft.steps):
        for event in step_events(index, step):
            folder.apply(event)
    assert folder.steps == draft.steps and not folder.open


def test_hops_split_the_text_and_keep_annotations() -> None:
    body = {"model": "m", "input": "[[sim:long]] é", "tools": [{"type": "google_search"}]}
    draft = _draft(body)
    text = draft.steps[-1]["content"][0]["text"]
    offset, pieces, tokens = 0, [], []
    while True:
        steps, status, token, nxt = model.split_hop(draft, offset, 500, lambda o, d: f"{o}:{d}")
        pieces.append(steps[-1]["content"][0])
        tokens.append(token)
        if nxt is None:
            break
        assert status == "requires_continuation" and len(pieces[-1]["text"]) <= 500
        offset = nxt
    assert "".join(p["text"] for p in pieces) == text
    assert status == "completed" and tokens[-1] is None and len(pieces) > 3
    for piece in pieces:
        for note in piece.get("annotations", []):
            span = piece["text"].encode()[note["start_index"] : note["end_index"]].decode()
            assert span.endswith(".")


class Color(BaseModel):
    kind: Literal["color"]
    rgb: tuple[int, int, int]


class Shape(BaseModel):
    kind: Literal["shape"]
    sides: Annotated[int, Field(ge=3, le=12)]


class Everything(BaseModel):
    name: Annotated[str, Field(min_length=40, max_length=60)]
    tags: Annotated[list[str], Field(min_length=3)]
    scores: dict[str, float]
    thing: Color | Shape
    tagged: Annotated[Color | Shape, Field(discriminator="kind")]
    maybe: Shape | None = None
    level: Literal["low", "high"] = "low"
    ratio: Annotated[float, Field(gt=0, lt=1)]
    when: Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Tree(BaseModel):
    label: str
    children: list[Tree] = []
    parent: Tree | None = None


@pytest.mark.parametrize("cls", [Color, Shape, Everything, Tree])
def test_schema_fill_satisfies_pydantic_schemas(cls: type[BaseModel]) -> None:
    cls.model_validate(fill(cls.model_json_schema()))


def test_schema_fill_plain_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["integer", "null"], "minimum": 5},
            "b": {"enum": ["x", "y"]},
            "c": {"type": "array", "items": {"type": "number"}, "maxItems": 1},
            "d": {"allOf": [{"properties": {"e": {"type": "boolean"}}, "required": ["e"]}]},
            "f": {"const": 7},
        },
        "required": ["a", "b", "c", "d", "f"],
    }
    assert fill(schema) == {"a": 5, "b": "x", "c": [1.5], "d": {"e": True}, "f": 7}


@settings(max_examples=25)
@given(st.integers(1, 40), st.integers(1, 40), st.binary(min_size=3, max_size=3))
def test_png_encoder(width: int, height: int, pixel: bytes) -> None:
    data = encode_png(width, height, [pixel * width] * height)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and struct.unpack(">II", data[16:24]) == (width, height)
    assert (
        zlib.crc32(data[12 : 16 + length])
        == struct.unpack(">I", data[16 + length : 20 + length])[0]
    )
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (width, height) and image.getpixel((0, 0)) == tuple(pixel)


def test_paint_is_deterministic_and_tinted() -> None:
    assert paint("city", "city") == paint("city", "city")
    assert paint("city", "city") != paint("city", "city in green")


def test_signatures_and_tokens_detect_tampering() -> None:
    signature = SIGNER.thought_signature("seed")
    assert SIGNER.verify_thought_signature(signature)
    assert not Signer(b"other" * 8).verify_thought_signature(signature)
    assert not SIGNER.verify_thought_signature(signature[:-4] + "AAAA")
    assert not SIGNER.verify_thought_signature(None)
    token = SIGNER.continuation_token({"o": 3})
    assert SIGNER.read_continuation_token(token) == {"o": 3}
    assert SIGNER.read_continuation_token(token[:-2] + "xx") is None
    assert SIGNER.read_continuation_token("garbage") is None


def test_directives() -> None:
    assert find_directives("[[sim:429]] hi [[SIM:Long]]") == {"429", "long"}
