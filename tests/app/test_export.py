"""Export (Markdown of the branch on screen, JSON of the whole tree) and import of JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chatapp import import_schema, importer
from chatapp.export import EXPORT_FORMAT
from chatapp.file_refs import referenced_files
from chatapp.models import Conversation, McpServer, Turn

from .test_sharing import add_turn, answer, build_tree

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def tree(alice: Any) -> dict[str, Any]:
    return build_tree(alice)


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def export(client: Client, conversation: Conversation) -> dict[str, Any]:
    response = client.get(f"/c/{conversation.pk}/export.json")
    assert response.status_code == 200
    return json.loads(response.content)  # type: ignore[no-any-return]


def upload(client: Client, body: bytes | str, name: str = "chat.json") -> Any:
    raw = body.encode() if isinstance(body, str) else body
    return client.post(
        "/import",
        {"file": SimpleUploadedFile(name, raw, content_type="application/json")},
        HTTP_ACCEPT="application/json",
    )


def shape(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The tree as (question, parent's question, answer) triples: no ids, no import notes."""
    by_id = {t["id"]: t for t in data["turns"]}

    def plain(text: str) -> str:
        return re.sub(r"\s*\[a file from the original conversation[^]]*\]", "", text)

    return sorted(
        (
            plain(t["user_text"]),
            plain(by_id[t["parent"]]["user_text"]) if t["parent"] else None,
            plain(t["answer_text"]),
        )
        for t in data["turns"]
    )


# --- export ---


def test_markdown_export_of_the_branch_on_screen(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    conversation = tree["conversation"]
    b = tree["b"]
    b.steps = [
        {"type": "google_search_call", "id": "c1", "arguments": {"queries": ["trains to Lyon"]}},
        {"type": "google_search_result", "call_id": "c1", "result": [{"url": "x"}]},
        {
            "type": "model_output",
            "content": [
                {
                    "type": "text",
                    "text": "Trains leave hourly. Tickets cost €30.",
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url": "https://sncf.example/times",
                            "title": "Timetable",
                            "start_index": 0,
                            "end_index": 20,
                        },
                        {
                            "type": "url_citation",
                            "url": "https://sncf.example/prices",
                            "title": "Prices",
                            "start_index": 21,
                            "end_index": 40,
                        },
                    ],
                }
            ],
        },
        {"type": "code_execution_call", "id": "c2", "arguments": {"code": "print('```')"}},
    ]
    b.save()
    response = alice_client.get(f"/c/{conversation.pk}/export.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="trip-plans.md"'
    text = response.content.decode()
    assert text.startswith("# Trip plans\n")
    assert "**You:** first question" in text
    assert "**gemini-3.5-flash:** answer to first question" in text
    assert "**You:** bravo question" in text and "alpha" not in text
    # The uploaded image of the question, as a link to the owner's file.
    assert f"- ![image](http://testserver/files/{tree['image_b'].uuid})" in text
    assert "Trains leave hourly.[1] Tickets cost €30.[2]" in text
    assert "1. [Timetable](<https://sncf.example/times>)" in text
    assert "2. [Prices](<https://sncf.example/prices>)" in text
    assert '```\ngoogle_search({"queries": ["trains to Lyon"]})\n```' in text
    # A fence longer than any backtick run inside the code.
    assert "````python\nprint('```')\n````" in text
    assert "c2ln" not in text  # thought signatures stay out

    assert alice_client.get(f"/c/{conversation.pk}/export.md?leaf=²").content.decode() == text
    other = alice_client.get(f"/c/{conversation.pk}/export.md?leaf={tree['a'].pk}")
    text = other.content.decode()
    assert "alpha answer" in text and "bravo" not in text
    assert f"alpha answer\n\n![image](http://testserver/files/{tree['image_a'].uuid})" in text


def test_markdown_blocks_start_on_their_own_line(alice_client: Client, alice: Any) -> None:
    conversation = Conversation.objects.create(owner=alice, title="Lists", model="m")
    add_turn(conversation, None, "- a list question", steps=answer("# Heading\n\n- one"))
    text = alice_client.get(f"/c/{conversation.pk}/export.md").content.decode()
    assert "**You:**\n\n- a list question" in text
    assert "**gemini-3.5-flash:**\n\n# Heading\n\n- one" in text


def test_json_export_holds_the_whole_tree(alice_client: Client, tree: dict[str, Any]) -> None:
    conversation = tree["conversation"]
    conversation.system_instruction = "Be brief."
    conversation.temperature = 0.5
    conversation.save()
    response = alice_client.get(f"/c/{conversation.pk}/export.json")
    assert response["Content-Disposition"] == 'attachment; filename="trip-plans.json"'
    assert response["Content-Type"] == "application/json; charset=utf-8"
    data = json.loads(response.content)
    assert data["format"] == EXPORT_FORMAT and data["version"] == 1
    assert data["title"] == "Trip plans"
    assert data["settings"]["system_instruction"] == "Be brief."
    assert data["settings"]["temperature"] == 0.5
    assert data["current_turn"] == tree["b"].pk
    turns = {t["id"]: t for t in data["turns"]}
    assert set(turns) == {tree["root"].pk, tree["a"].pk, tree["b"].pk}
    for turn in Turn.objects.filter(conversation=conversation):
        exported = turns[turn.pk]
        assert exported["parent"] == turn.parent_id
        assert exported["steps"] == turn.steps  # exactly as stored, signatures included
        assert exported["user_input"] == turn.user_input
        assert exported["interaction_id"] == turn.interaction_id
        assert exported["status"] == "completed"
        assert exported["created"] == turn.created.isoformat()
        assert "usage" in exported


def test_exports_are_the_owners_only(
    alice_client: Client, bob_client: Client, tree: dict[str, Any]
) -> None:
    pk = tree["conversation"].pk
    for suffix in ("export.md", "export.json"):
        assert bob_client.get(f"/c/{pk}/{suffix}").status_code == 404
        assert Client().get(f"/c/{pk}/{suffix}").status_code == 302
        assert alice_client.post(f"/c/{pk}/{suffix}").status_code == 405


def test_an_untitled_conversation_gets_a_filename(alice_client: Client, alice: Any) -> None:
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash", title="¿?")
    response = alice_client.get(f"/c/{conversation.pk}/export.json")
    expected = f'attachment; filename="conversation-{conversation.pk}.json"'
    assert response["Content-Disposition"] == expected


# --- import ---


def test_round_trip_to_another_user(
    alice_client: Client, bob_client: Client, bob: Any, tree: dict[str, Any]
) -> None:
    exported = export(alice_client, tree["conversation"])
    response = upload(bob_client, json.dumps(exported))
    assert response.status_code == 201, response.content
    result = response.json()
    imported = Conversation.objects.get(pk=result["id"])
    assert imported.owner == bob and result["url"] == f"/c/{imported.pk}/"
    assert imported.title == "Trip plans" and result["turns"] == 3
    # Alice's files are not Bob's: left out, with a note.
    assert result["notes"] == [
        "2 files referenced in the export are not yours here and were left out."
    ]
    again = export(bob_client, imported)
    assert shape(again) == shape(exported)
    for turn in imported.turns.all():
        assert turn.interaction_id == "" and turn.stored is False
        assert referenced_files([turn.user_input, turn.steps]) == set()
    a = imported.turns.get(user_text="alpha question")
    assert a.steps[0] == {"type": "thought", "signature": "c2ln"}
    assert a.steps[1]["content"][1]["type"] == "text"
    assert "not included in the import" in a.steps[1]["content"][1]["text"]
    b = imported.turns.get(user_text__startswith="bravo question")
    assert "not included in the import" in b.user_text
    # The branch on screen is the one that was on screen.
    assert imported.current_turn == imported.turns.get(user_text__startswith="bravo question")
    # Bob's page shows the imported conversation, and his own export of it.
    assert bob_client.get(imported.get_absolute_url()).status_code == 200


def test_round_trip_to_the_same_user_keeps_everything(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    exported = export(alice_client, tree["conversation"])
    result = upload(alice_client, json.dumps(exported)).json()
    assert result["notes"] == []
    again = export(alice_client, Conversation.objects.get(pk=result["id"]))
    assert shape(again) == shape(exported)
    steps = sorted(json.dumps(t["steps"], sort_keys=True) for t in exported["turns"])
    assert sorted(json.dumps(t["steps"], sort_keys=True) for t in again["turns"]) == steps
    inputs = sorted(json.dumps(t["user_input"], sort_keys=True) for t in exported["turns"])
    assert sorted(json.dumps(t["user_input"], sort_keys=True) for t in again["turns"]) == inputs
    assert all(t["interaction_id"] == "" for t in again["turns"])
    assert all(t["stored"] is False for t in again["turns"])


def test_every_setting_travels_through_export_and_import(alice_client: Client, alice: Any) -> None:
    # Not one default: a setting the export or the import forgot would come back different.
    chosen = {
        "model": "gemini-3.1-flash-image",
        "system_instruction": "Be brief.",
        "temperature": 0.5,
        "thinking_level": Conversation.ThinkingLevel.HIGH,
        "stateless": True,
        "google_search": True,
        "google_maps": True,
        "url_context": True,
        "code_execution": True,
        "tools": ["calculator"],
        "mcp_servers": ["team-tools"],
        "response_schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
        "background": True,
    }
    assert set(chosen) == set(Conversation.SETTINGS)
    McpServer.objects.create(name="team-tools", url="https://mcp.example.com/mcp")
    original = Conversation.objects.create(owner=alice, title="Settings", **chosen)
    add_turn(original, None, "hi")
    exported = export(alice_client, original)
    assert exported["settings"] == chosen
    response = upload(alice_client, json.dumps(exported))
    assert response.status_code == 201 and response.json()["notes"] == []
    imported = Conversation.objects.get(pk=response.json()["id"])
    assert {name: getattr(imported, name) for name in chosen} == chosen


def test_a_non_javascript_import_redirects_to_the_new_conversation(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    exported = export(alice_client, tree["conversation"])
    file = SimpleUploadedFile("chat.json", json.dumps(exported).encode())
    response = alice_client.post("/import", {"file": file})
    assert response.status_code == 302
    assert response.url == Conversation.objects.latest("pk").get_absolute_url()


def minimal(turns: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    data = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "title": "Hand made",
        "settings": {"model": "gemini-3.5-flash"},
        "turns": turns
        if turns is not None
        else [
            {"id": 1, "parent": None, "user_text": "hi", "steps": answer("hello")},
            {"id": 2, "parent": 1, "user_text": "again", "steps": answer("hello again")},
        ],
    }
    data.update(extra)
    return data


def test_a_hand_made_file_is_imported_carefully(alice_client: Client) -> None:
    data = minimal(
        [
            {"id": "a", "parent": None, "user_input": [{"type": "text", "text": "hi"}]},
            {"id": "b", "parent": "a", "status": "in_progress", "interaction_id": "v1_theirs"},
            {"id": "c", "parent": "a", "status": "requires_action", "user_text": "nul\u0000byte"},
        ],
        settings={"model": "gpt-9", "tools": ["rm_rf"], "temperature": 7, "stateless": True},
        current_turn="c",
    )
    response = upload(alice_client, json.dumps(data))
    assert response.status_code == 201, response.content
    notes = response.json()["notes"]
    assert any("gpt-9" in n for n in notes) and any("rm_rf" in n for n in notes)
    conversation = Conversation.objects.get(pk=response.json()["id"])
    assert conversation.model == "gemini-3.5-flash" and conversation.tools == []
    assert conversation.temperature is None and conversation.stateless is True
    a, b, c = conversation.turns.order_by("pk")
    assert a.user_text == "hi" and a.status == "completed" and b.parent == a
    # Nothing runs for an imported turn, and no upstream state is borrowed.
    assert b.status == c.status == "stopped" and b.interaction_id == ""
    assert c.user_text == "nulbyte" and conversation.current_turn == c


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a conversation exported from this app"),
        (json.dumps({"format": "something else", "version": 1}), "not a conversation exported"),
        (json.dumps(minimal(version=2)), "Unsupported export version 2"),
        (json.dumps(minimal(version="1")), 'Unsupported export version "1"'),
        (json.dumps(minimal(turns={})), "“turns” must be a list"),
        (json.dumps(minimal([{"id": 1, "parent": 7}])), "parent 7, which is not in the file"),
        (
            json.dumps(minimal([{"id": 1, "parent": 2}, {"id": 2, "parent": 1}])),
            "form a cycle",
        ),
        (json.dumps(minimal([{"id": 1, "parent": 1}])), "form a cycle"),
        (
            json.dumps(minimal([{"id": 1, "parent": None}, {"id": 1, "parent": None}])),
            "appears twice",
        ),
        (json.dumps(minimal([{"id": 1, "status": "hacked"}])), "unknown status"),
        (json.dumps(minimal([{"id": 1, "steps": "text"}])), "“steps” must be a list"),
        (json.dumps(minimal([{"id": 1, "steps": [{"no": "type"}]}])), "with a “type”"),
        (json.dumps(minimal([{"id": True}])), "no usable “id”"),
        (json.dumps(minimal([{"id": 1, "created": "yesterday"}])), "ISO 8601"),
        (json.dumps(minimal([{"id": 1, "usage": [1]}])), "“usage” must be an object"),
        (json.dumps(minimal(title=["x"])), "title must be a string"),
        ('{"format": "gemini-team-chat.conversation", "version": NaN}', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_bad_files_are_refused_clearly(alice_client: Client, body: Any, message: str) -> None:
    response = upload(alice_client, body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert response.json()["errors"]["file"] == [response.json()["error"]]
    assert not Conversation.objects.exists() and not Turn.objects.exists()


def test_deeply_nested_steps_are_refused(alice_client: Client) -> None:
    deep: Any = "bottom"
    for _ in range(200):
        deep = {"x": deep}
    body = json.dumps(minimal([{"id": 1, "steps": [{"type": "function_call", "arguments": deep}]}]))
    response = upload(alice_client, body)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


def test_sizes_are_capped(alice_client: Client, monkeypatch: Any) -> None:
    many = [{"id": i, "parent": i - 1 if i else None} for i in range(6)]
    monkeypatch.setattr(import_schema, "MAX_IMPORT_TURNS", 5)
    response = upload(alice_client, json.dumps(minimal(many)))
    assert response.status_code == 400 and "limited to 5" in response.json()["error"]

    monkeypatch.setattr(importer, "MAX_IMPORT_BYTES", 1000)
    response = upload(alice_client, json.dumps(minimal()) + " " * 1000)
    assert response.status_code == 413 and "too large" in response.json()["error"]
    assert not Conversation.objects.exists()


def test_a_huge_request_is_refused_before_it_is_read(alice_client: Client) -> None:
    response = alice_client.post(
        "/import",
        data=b"x",
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(importer.MAX_IMPORT_BYTES + 10**6),
    )
    assert response.status_code == 413


def test_a_long_chain_imports_in_order(alice_client: Client) -> None:
    chain = [
        {"id": i, "parent": i - 1 if i else None, "user_text": f"q{i}", "steps": answer(f"a{i}")}
        for i in range(300)
    ]
    chain.reverse()  # children before parents in the file: still fine
    response = upload(alice_client, json.dumps(minimal(chain)))
    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get()
    page = alice_client.get(conversation.get_absolute_url()).content.decode()
    assert page.count('class="turn ') == 300 and "a299" in page


def test_import_needs_a_file_a_user_and_the_csrf_token(alice: Any) -> None:
    body = json.dumps(minimal()).encode()
    anonymous = Client().post("/import", {"file": SimpleUploadedFile("c.json", body)})
    assert anonymous.status_code == 302 and anonymous.url.startswith("/login/")

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/import", {"file": SimpleUploadedFile("c.json", body)})
    assert response.status_code == 403
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/import",
        {"csrfmiddlewaretoken": token},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400 and "Choose one JSON export" in response.json()["error"]
    response = client.post(
        "/import",
        {"file": SimpleUploadedFile("c.json", body), "csrfmiddlewaretoken": token},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    assert client.get("/import").status_code == 405


def turn_with(**fields: Any) -> dict[str, Any]:
    return {"id": 1, "parent": None, "user_text": "hi", "steps": answer("hello"), **fields}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        # Well-formed but impossible dates and offsets were a 500.
        (minimal([turn_with(created="2024-02-30T10:00:00")]), "turns[0].created", "day is out"),
        (minimal([turn_with(created="2024-01-01T25:61:00")]), "turns[0].created", "hour must"),
        (
            minimal([turn_with(finished="2024-01-01T00:00:00+99:00")]),
            "turns[0].finished",
            "“finished” is not a valid date",
        ),
        # Valid, but outside the calendar once in UTC.
        (
            minimal([turn_with(created="0001-01-01T00:00:00+01:00")]),
            "turns[0].created",
            "out of range",
        ),
        (minimal([turn_with(created="9999-12-31T23:59:59-01:00")]), "turns[0].created", "range"),
        (minimal([turn_with(created=20240101)]), "turns[0].created", "ISO 8601"),
        # A status that cannot be looked up in a set was a 500.
        (minimal([turn_with(status={"a": 1})]), "turns[0].status", "unknown status"),
        (minimal([turn_with(status=["completed"])]), "turns[0].status", "unknown status"),
        (minimal([turn_with(), turn_with(id=2, parent=9)]), "turns[1].parent", "parent 9"),
        (minimal([turn_with(usage=[1])]), "turns[0].usage", "“usage” must be an object"),
        (minimal([turn_with(id=[1])]), "turns[0].id", "no usable “id”"),
        (minimal([turn_with(), 7]), "turns[1]", "Turn 2 is not an object"),
        (minimal(title=["x"]), "title", "title must be a string"),
        (minimal(version=2), "version", "version 2"),
        (minimal(format="other"), "format", "“format”"),
    ],
)
def test_each_field_error_is_a_400_naming_the_field(
    alice_client: Client, body: dict[str, Any], field: str, message: str
) -> None:
    response = upload(alice_client, json.dumps(body))
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert message in response.json()["error"]
    assert not Conversation.objects.exists() and not Turn.objects.exists()


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1" + "0" * 5000], ids=["inf", "-inf", "5000-digits"]
)
def test_numbers_nothing_can_store_are_refused(alice_client: Client, number: str) -> None:
    # 1e400 reads as inf, which JSON and PostgreSQL's jsonb cannot hold (it was a 500).
    body = json.dumps(minimal([turn_with(usage={"total_tokens": 0})])).replace("0}", number + "}")
    response = upload(alice_client, body)
    assert response.status_code == 400, response.content
    assert "not valid JSON" in response.json()["error"] and response.json()["field"] == "file"


def test_lone_surrogates_and_nuls_are_cleaned_not_stored(alice_client: Client) -> None:
    # "\ud800" without its pair cannot be encoded as UTF-8: saving it was a 500.
    data = minimal(
        [
            turn_with(user_text="q\udfff", model="m\ud800"),
            turn_with(id=2, parent=1, steps=answer("a\ud83d\u0000!"), user_text="\ud83d\ude00"),
        ],
        title="t\ud800i\u0000tle",
        settings={"model": "gemini-3.5-flash", "system_instruction": "be \udc80 brief"},
    )
    response = upload(alice_client, json.dumps(data))  # ensure_ascii: "\ud800" escapes
    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get()
    assert conversation.title == "t\ufffditle"
    assert conversation.system_instruction == "be \ufffd brief"
    first, second = conversation.turns.order_by("pk")
    assert first.user_text == "q\ufffd" and first.model == "m\ufffd"
    assert second.answer_text == "a\ufffd!"
    assert second.user_text == "\U0001f600"  # a valid pair is one character, kept
