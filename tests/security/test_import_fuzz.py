"""Fuzzing the import route (POST /import) with generated JSON documents.

Contract: whatever the file holds, the answer is a success (201) or a 400 whose message
names the field at fault (the response's `field` says which, as a path); never a 500.
The documents are export-shaped with mutated fields: odd strings (lone surrogates, NULs,
private-use and right-to-left characters), odd dates (well-formed but impossible, offsets
of a day or more, years at the ends of the calendar), huge numbers (past 64 bits, past
4,300 digits, past a double) and deep nesting.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from chatapp import export

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

# A number literal that json.dumps cannot write (it is put in the text after dumping).
RAW = "\ue000raw:"
RAW_NUMBERS = ["1e400", "-1e400", "1" + "0" * 5000, "-0", "1e-400", "123456789" * 5]
ODD_STRINGS = [
    "\ud800",
    "\udfff",
    "a\udc80b",
    "\ud83d",  # a high surrogate without its pair
    "\x00",
    "nul\x00inside",
    "\ufeff",
    "\u202etxt.exe",
    "\ue000\ue001",
    "\U0010ffff",
    "",
    " ",
    "x" * 300,
]
FIELD_NAMES = [
    "format",
    "version",
    "title",
    "settings",
    "current_turn",
    "turns",
    "id",
    "parent",
    "status",
    "model",
    "user_text",
    "user_input",
    "steps",
    "usage",
    "error",
    "structured",
    "created",
    "finished",
    "type",
    "text",
    "attachment",
    "content",
    "annotations",
]


def _date(y: int, mo: int, d: int, h: int, mi: int, s: int, tz: str) -> str:
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{tz}"


offsets = st.sampled_from(["", "Z", "+00:00", "+23:59", "-23:59", "+24:00", "-99:99", "+05"])
odd_dates = st.one_of(
    st.builds(
        _date,
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        offsets,
    ),
    st.sampled_from(
        [
            "2024-02-30T00:00:00",
            "2024-01-01T25:61:00",
            "2024-01-01T00:00:00+99:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2024-01-01",
            "99999-01-01T00:00:00",
            "2024-13-01T00:00:00Z",
        ]
    ),
)
odd_strings = st.sampled_from(ODD_STRINGS) | st.text(
    st.characters(codec=None, categories=["Cs", "Cc", "Co", "Zs", "L"]), max_size=8
)
huge_numbers = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30)]) | st.sampled_from(
    [RAW + n for n in RAW_NUMBERS]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | huge_numbers
    | odd_strings
    | odd_dates
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | odd_strings, inner, max_size=4)
    ),
    max_leaves=10,
)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = {"x": value} if level % 2 else [value]
    return value


deep_values = st.integers(40, 90).map(_nested)
any_value = json_values | deep_values


def _turn(index: int) -> dict[str, Any]:
    return {
        "id": index + 1,
        "parent": index or None,
        "model": "gemini-3.5-flash",
        "user_input": [{"type": "text", "text": f"question {index}"}],
        "user_text": f"question {index}",
        "steps": [
            {"type": "thought", "signature": "c2ln"},
            {"type": "model_output", "content": [{"type": "text", "text": f"answer {index}"}]},
        ],
        "status": "completed",
        "usage": {"total_tokens": 3},
        "error": None,
        "structured": None,
        "created": "2024-05-01T10:00:00+00:00",
        "finished": "2024-05-01T10:00:01+00:00",
    }


def _document() -> dict[str, Any]:
    return {
        "format": export.EXPORT_FORMAT,
        "version": export.EXPORT_VERSION,
        "exported": "2024-05-01T10:00:02+00:00",
        "title": "Fuzzed",
        "created": "2024-05-01T09:00:00+00:00",
        "settings": {"model": "gemini-3.5-flash", "temperature": 1, "tools": []},
        "current_turn": 2,
        "turns": [_turn(0), _turn(1)],
    }


# Where a mutation lands: a top-level field, a settings field, a turn field, or deeper in a
# turn's content. Each is a path of keys and indexes into the document.
TOP = ["format", "version", "title", "settings", "current_turn", "turns", "exported"]
SETTINGS = ["model", "system_instruction", "temperature", "thinking_level", "tools", "stateless"]
TURN = [k for k in _turn(0) if k != "id"] + ["id", "interaction_id", "stored"]
paths = st.one_of(
    st.sampled_from(TOP).map(lambda k: (k,)),
    st.sampled_from(SETTINGS).map(lambda k: ("settings", k)),
    st.tuples(st.just("turns"), st.integers(0, 1), st.sampled_from(TURN)),
    st.sampled_from(
        [
            ("turns", 0, "user_input", 0, "text"),
            ("turns", 0, "user_input", 0, "type"),
            ("turns", 1, "user_input", 0),
            ("turns", 1, "steps", 1, "content", 0, "text"),
            ("turns", 1, "steps", 1, "content", 0, "annotations"),
            ("turns", 1, "steps", 1, "content"),
            ("turns", 1, "steps", 0),
            ("turns", 0, "usage", "total_tokens"),
            ("turns", 0, "error", "message"),
            ("turns", 1),
        ]
    ),
)
TEXT_PATHS = [
    ("title",),
    ("settings", "model"),
    ("settings", "system_instruction"),
    ("turns", 0, "user_text"),
    ("turns", 1, "model"),
    ("turns", 0, "user_input", 0, "text"),
    ("turns", 1, "steps", 1, "content", 0, "text"),
    ("turns", 0, "error"),
    ("turns", 1, "id"),
]
DATE_PATHS = [("turns", i, name) for i in (0, 1) for name in ("created", "finished")]
mutation = st.one_of(
    st.tuples(paths, any_value),
    st.tuples(st.sampled_from(TEXT_PATHS), odd_strings),
    st.tuples(st.sampled_from(DATE_PATHS), odd_dates),
)
mutations = st.lists(mutation, min_size=1, max_size=4)
# Mostly as this app writes files (non-ASCII escaped); sometimes raw UTF-8, where a lone
# surrogate makes the file undecodable.
ascii_only = st.sampled_from([True, True, True, False])


def _mutated(changes: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    document = _document()
    for path, value in changes:
        target: Any = document
        for key in path[:-1]:
            if isinstance(target, dict) and isinstance(target.get(key), dict | list):
                target = target[key]
            elif isinstance(target, list) and isinstance(key, int) and key < len(target):
                target = target[key]
            else:
                break
        else:
            last = path[-1]
            if isinstance(target, dict):
                target[last] = value
            elif isinstance(target, list) and isinstance(last, int) and last < len(target):
                target[last] = value
    return document


def _body(document: Any, ascii_only: bool) -> bytes:
    text = json.dumps(document, ensure_ascii=ascii_only)
    # Lone surrogates can only travel escaped (\ud800): UTF-8 cannot hold them.
    text = re.sub(r'"\\ue000raw:([^"]*)"', r"\1", text)  # ensure_ascii=True
    text = re.sub(r'"\ue000raw:([^"]*)"', r"\1", text)
    return text.encode("utf-8", "surrogatepass" if not ascii_only else "strict")


@pytest.fixture
def importer(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def _post(client: Client, body: bytes) -> Any:
    upload = SimpleUploadedFile("fuzz.json", body, content_type="application/json")
    return client.post("/import", {"file": upload}, HTTP_ACCEPT="application/json")


def _field_named(message: str, field: str) -> bool:
    """Whether the message names the field: its last key, or the turn it is in."""
    if field == "file":
        return True
    leaf = re.sub(r"\[\d+\]$", "", field).rsplit(".", 1)[-1]
    if re.fullmatch(r"turns\[\d+\]", field):
        return message.startswith("Turn ")
    return leaf in message


def assert_success_or_named_400(response: Any) -> None:
    assert response.status_code in (201, 400), (response.status_code, response.content[:500])
    body = response.json()
    event(f"{response.status_code} {re.sub(r'[0-9]+', 'N', body.get('field', ''))}")
    if response.status_code == 201:
        assert body["url"] == f"/c/{body['id']}/"
        return
    assert body["errors"] == {"file": [body["error"]]}
    assert isinstance(body.get("field"), str), body
    assert _field_named(body["error"], body["field"]), body


@FUZZ
@given(mutations, ascii_only)
@example([(("turns", 0, "created"), "2024-02-30T00:00:00")], True)
@example([(("turns", 0, "created"), "2024-01-01T25:61:00")], True)
@example([(("turns", 1, "finished"), "2024-01-01T00:00:00+99:00")], True)
@example([(("turns", 0, "created"), "0001-01-01T00:00:00+01:00")], True)
@example([(("turns", 0, "created"), "9999-12-31T23:59:59-01:00")], True)
@example([(("title",), "\ud800")], True)
@example([(("turns", 0, "user_text"), "a\udc80b\x00")], True)
@example([(("turns", 0, "status"), {"a": 1})], True)
@example([(("turns", 0, "status"), ["completed"])], True)
@example([(("turns", 0, "usage", "total_tokens"), RAW + "1e400")], True)
@example([(("version",), RAW + "1" + "0" * 5000)], True)
@example([(("turns", 1, "steps", 1, "content"), _nested(70))], True)
def test_any_import_is_a_success_or_a_400_naming_the_field(
    importer: Client, changes: list[tuple[tuple[Any, ...], Any]], ascii_only: bool
) -> None:
    response = _post(importer, _body(_mutated(changes), ascii_only))
    assert_success_or_named_400(response)
    if response.status_code == 201:
        # What was stored can be exported, and that export imports again.
        exported = importer.get(f"/c/{response.json()['id']}/export.json")
        assert exported.status_code == 200
        assert _post(importer, exported.content).status_code == 201


@FUZZ
@given(st.binary(max_size=300) | json_values.map(lambda v: _body(v, True)))
@example(b'{"format": "gemini-team-chat.conversation", "version": 1, "turns": [], "title": 1e400}')
@example(b"\xef\xbb\xbf" + json.dumps(_document()).encode())
def test_any_bytes_are_a_success_or_a_400(importer: Client, body: bytes) -> None:
    assert_success_or_named_400(_post(importer, body))
