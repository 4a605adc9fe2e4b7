"""The simulator's file search stores: stores, documents, operations, and the `file_search`
tool's steps and `file_citation` annotations."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.simulator.pdf import tiny_pdf
from interactions_client.simulator.server import RunningSimulator

MODEL = "gemini-3.5-flash"
KEY = {"x-goog-api-key": "test-key"}
JSON = dict[str, Any]
HANDBOOK = tiny_pdf(["Welcome to the team handbook", "Vacation policy: llamas get 30 days off"])


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(document_processing_seconds=0.2)) as running:
        yield running


@pytest.fixture()
def http(sim: RunningSimulator) -> Iterator[httpx.Client]:
    sim.app.faults.clear()
    with httpx.Client(base_url=sim.base_url, headers=KEY, timeout=10) as client:
        yield client


def create_store(http: httpx.Client, name: str = "Team handbook") -> JSON:
    store: JSON = http.post("/v1/fileSearchStores", json={"displayName": name}).json()
    return store


def upload_document(
    http: httpx.Client, store: str, data: bytes, mime: str, **metadata: Any
) -> JSON:
    started = http.post(
        f"/upload/v1/{store}:uploadToFileSearchStore",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(len(data)),
            "X-Goog-Upload-Header-Content-Type": mime,
        },
        json=metadata,
    )
    assert started.status_code == 200, started.text
    headers = {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"}
    done = httpx.post(started.headers["x-goog-upload-url"], content=data, headers=headers)
    assert done.headers["x-goog-upload-status"] == "final"
    operation: JSON = done.json()
    return operation


def wait(http: httpx.Client, operation: JSON) -> JSON:
    deadline = time.monotonic() + 5
    while not operation.get("done"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        operation = http.get(f"/v1/{operation['name']}").json()
    return operation


def search(http: httpx.Client, stores: list[str], prompt: str, **tool: Any) -> httpx.Response:
    tools = [{"type": "file_search", "file_search_store_names": stores, **tool}]
    return http.post("/v1/interactions", json={"model": MODEL, "input": prompt, "tools": tools})


def test_stores_are_created_listed_and_deleted(http: httpx.Client) -> None:
    made = [create_store(http, f"Base {i}") for i in range(3)]
    assert made[0]["name"].startswith("fileSearchStores/base-0-")
    assert made[0]["displayName"] == "Base 0" and made[0]["createTime"]
    assert http.get(f"/v1/{made[0]['name']}").json() == made[0]
    first = http.get("/v1/fileSearchStores", params={"pageSize": 2}).json()
    rest = http.get("/v1/fileSearchStores", params={"pageToken": first["nextPageToken"]}).json()
    listed = {s["name"] for s in first["fileSearchStores"] + rest.get("fileSearchStores", [])}
    assert {s["name"] for s in made} <= listed
    assert http.delete(f"/v1/{made[0]['name']}").json() == {}
    assert http.get(f"/v1/{made[0]['name']}").status_code == 404


def test_an_uploaded_document_is_pending_then_active(http: httpx.Client) -> None:
    store = create_store(http)["name"]
    operation = upload_document(
        http,
        store,
        HANDBOOK,
        "application/pdf",
        displayName="handbook.pdf",
        customMetadata=[{"key": "team", "stringValue": "ops"}],
    )
    assert operation["name"].startswith(f"{store}/upload/operations/")
    assert not operation.get("done")
    pending = http.get(f"/v1/{store}/documents").json()["documents"]
    assert [d["state"] for d in pending] == ["STATE_PENDING"]
    assert http.get(f"/v1/{store}").json()["pendingDocumentsCount"] == "1"
    done = wait(http, operation)
    document_name = done["response"]["documentName"]
    assert done["response"]["parent"] == store and document_name.startswith(f"{store}/documents/")
    document = http.get(f"/v1/{document_name}").json()
    assert document["state"] == "STATE_ACTIVE" and document["displayName"] == "handbook.pdf"
    assert document["mimeType"] == "application/pdf" and document["sizeBytes"] == str(len(HANDBOOK))
    assert document["customMetadata"] == [{"key": "team", "stringValue": "ops"}]
    counts = http.get(f"/v1/{store}").json()
    assert counts["activeDocumentsCount"] == "1" and "pendingDocumentsCount" not in counts


def test_an_imported_file_outlives_its_files_api_copy(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    store = create_store(http)["name"]
    started = http.post(
        "/upload/v1/files",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": "40",
            "X-Goog-Upload-Header-Content-Type": "text/markdown",
        },
        json={"file": {"displayName": "notes.md"}},
    )
    body = b"# Notes\n\nThe alpaca rota starts Monday.\n"[:40]
    headers = {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"}
    uploaded = httpx.post(started.headers["x-goog-upload-url"], content=body, headers=headers)
    file_name = uploaded.json()["file"]["name"]
    operation = http.post(f"/v1/{store}:importFile", json={"fileName": file_name})
    assert operation.json()["name"].startswith(f"{store}/operations/")
    done = wait(http, operation.json())
    assert "ImportFileResponse" in done["response"]["@type"]
    sim.app.files.expire()  # the document keeps its own copy
    answer = search(http, [store], "When does the alpaca rota start?").json()
    note = answer["steps"][-1]["content"][0]["annotations"][0]
    assert note["file_name"] == "notes.md" and "page_number" not in note
    assert http.post(f"/v1/{store}:importFile", json={"fileName": "files/gone"}).status_code == 403


def test_a_document_without_text_fails_indexing(http: httpx.Client) -> None:
    store = create_store(http)["name"]
    operation = upload_document(http, store, bytes(range(256)), "image/png", displayName="x")
    done = wait(http, operation)
    assert done["error"]["code"] == 3 and "No text" in done["error"]["message"]
    states = [d["state"] for d in http.get(f"/v1/{store}/documents").json()["documents"]]
    assert states == ["STATE_FAILED"]
    assert http.get(f"/v1/{store}").json()["failedDocumentsCount"] == "1"


def test_deleting_needs_force_when_there_is_content(http: httpx.Client) -> None:
    store = create_store(http)["name"]
    done = wait(http, upload_document(http, store, b"Some text here", "text/plain"))
    document = done["response"]["documentName"]
    refused = http.delete(f"/v1/{document}")
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert http.delete(f"/v1/{store}").json()["error"]["status"] == "FAILED_PRECONDITION"
    assert http.delete(f"/v1/{document}", params={"force": "true"}).json() == {}
    assert http.get(f"/v1/{document}").status_code == 404
    wait(http, upload_document(http, store, b"More text here", "text/plain"))
    assert http.delete(f"/v1/{store}", params={"force": "true"}).json() == {}


def test_file_search_gives_steps_and_page_citations(http: httpx.Client) -> None:
    store = create_store(http)["name"]
    wait(http, upload_document(http, store, HANDBOOK, "application/pdf", displayName="hb.pdf"))
    answer = search(http, [store], "How many vacation days do llamas get?").json()
    kinds = [s["type"] for s in answer["steps"]]
    assert kinds == ["thought", "file_search_call", "file_search_result", "model_output"]
    call, result = answer["steps"][1], answer["steps"][2]
    assert result["call_id"] == call["id"]
    assert result["result"][0]["title"] == "hb.pdf" and result["result"][0]["page_number"] == 2
    item = answer["steps"][-1]["content"][0]
    (note,) = item["annotations"]
    cited = item["text"].encode()[note["start_index"] : note["end_index"]].decode()
    assert cited == "hb.pdf, page 2 says: “Vacation policy: llamas get 30 days off”"
    assert note["type"] == "file_citation" and note["page_number"] == 2
    assert note["file_name"] == "hb.pdf" and note["source"] == store
    assert note["document_uri"] == result["result"][0]["document_name"]
    media = http.get(f"/v1/{note['media_id']}", params={"alt": "media"})
    assert media.content == HANDBOOK


def test_file_search_streams_the_same_steps(http: httpx.Client) -> None:
    store = create_store(http)["name"]
    wait(http, upload_document(http, store, HANDBOOK, "application/pdf", displayName="hb.pdf"))
    body = {
        "model": MODEL,
        "input": "llamas vacation",
        "stream": True,
        "tools": [{"type": "file_search", "file_search_store_names": [store]}],
    }
    raw = http.post("/v1/interactions", json=body).text
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    starts = [e["step"]["type"] for e in events if e["event_type"] == "step.start"]
    assert starts == ["thought", "file_search_call", "file_search_result", "model_output"]
    deltas = [e["delta"] for e in events if e["event_type"] == "step.delta"]
    assert any(d["type"] == "file_search_result" and d["result"] for d in deltas)
    notes = [d for d in deltas if d["type"] == "text_annotation_delta"]
    assert notes[0]["annotations"][0]["type"] == "file_citation"


def test_file_search_filters_on_metadata_and_refuses_unknown_stores(http: httpx.Client) -> None:
    store = create_store(http)["name"]
    for team in ("ops", "sales"):
        upload = upload_document(
            http,
            store,
            f"The {team} team budget is set for llamas.".encode(),
            "text/plain",
            displayName=f"{team}.txt",
            customMetadata=[{"key": "team", "stringValue": team}],
        )
        wait(http, upload)
    both = search(http, [store], "llamas budget").json()
    assert len(both["steps"][-1]["content"][0]["annotations"]) == 2
    only = search(http, [store], "llamas budget", metadata_filter='team = "sales"').json()
    (note,) = only["steps"][-1]["content"][0]["annotations"]
    assert note["file_name"] == "sales.txt" and note["custom_metadata"] == {"team": "sales"}
    nothing = search(http, [store], "quantum chromodynamics").json()
    assert "found nothing" in nothing["steps"][-1]["content"][0]["text"]
    assert search(http, ["fileSearchStores/nope"], "x").status_code == 404
    assert search(http, [], "x").status_code == 400
