"""The simulator's Files API: resumable uploads, states, listing, deletion, expiry, and
interactions that reference a file by its `uri`."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from interactions_client.simulator import Fault, SimulatorConfig, serve
from interactions_client.simulator.pdf import tiny_pdf
from interactions_client.simulator.server import RunningSimulator

MODEL = "gemini-3.5-flash"
KEY = {"x-goog-api-key": "test-key"}
JSON = dict[str, Any]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(video_processing_seconds=0.4)) as running:
        yield running


@pytest.fixture()
def http(sim: RunningSimulator) -> Iterator[httpx.Client]:
    sim.app.faults.clear()
    with httpx.Client(base_url=sim.base_url, headers=KEY, timeout=10) as client:
        yield client


def start(http: httpx.Client, size: int, mime: str, **file: Any) -> httpx.Response:
    return http.post(
        "/upload/v1/files",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime,
        },
        json={"file": file} if file else {},
    )


def chunk(url: str, data: bytes, offset: int, command: str = "upload") -> httpx.Response:
    # Like the SDK: no API key on chunks, the upload URL is the credential.
    headers = {"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)}
    return httpx.post(url, content=data, headers=headers, timeout=10)


def upload(http: httpx.Client, data: bytes, mime: str, **file: Any) -> JSON:
    url = start(http, len(data), mime, **file).headers["x-goog-upload-url"]
    done = chunk(url, data, 0, "upload, finalize")
    assert done.status_code == 200, done.text
    result: JSON = done.json()["file"]
    return result


def ask(http: httpx.Client, item: JSON) -> httpx.Response:
    content = [{"type": "text", "text": "What is in this file?"}, item]
    return http.post("/v1/interactions", json={"model": MODEL, "input": content})


def test_it_uploads_in_chunks_with_the_resumable_protocol(http: httpx.Client) -> None:
    data = b"0123456789" * 100
    started = start(http, len(data), "text/plain", displayName="digits.txt")
    assert started.status_code == 200
    assert started.headers["x-goog-upload-status"] == "active"
    url = started.headers["x-goog-upload-url"]
    assert url.startswith(f"{http.base_url}/upload/v1/files?upload_id=")
    first = chunk(url, data[:400], 0)
    assert first.status_code == 200 and first.headers["x-goog-upload-status"] == "active"
    second = chunk(url, data[400:], 400, "upload, finalize")
    assert second.status_code == 200 and second.headers["x-goog-upload-status"] == "final"
    file = second.json()["file"]
    assert file["name"].startswith("files/") and file["displayName"] == "digits.txt"
    assert file["mimeType"] == "text/plain" and file["sizeBytes"] == "1000"
    assert file["state"] == "ACTIVE" and file["source"] == "UPLOADED"
    assert file["uri"] == f"{http.base_url}/v1/files/{file['name'][6:]}"
    digest = hashlib.sha256(data).hexdigest().encode()
    assert base64.b64decode(file["sha256Hash"]) == digest
    created = datetime.fromisoformat(file["createTime"])
    expires = datetime.fromisoformat(file["expirationTime"])
    assert (expires - created).total_seconds() == pytest.approx(48 * 3600, abs=1)
    assert http.get(f"/v1/{file['name']}").json() == file


def test_it_refuses_a_wrong_offset_and_query_tells_where_to_resume(http: httpx.Client) -> None:
    url = start(http, 10, "text/plain").headers["x-goog-upload-url"]
    assert chunk(url, b"abcd", 0).status_code == 200
    wrong = chunk(url, b"efghij", 2, "upload, finalize")
    assert wrong.status_code == 400 and wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert wrong.headers["x-goog-upload-size-received"] == "4"
    query = chunk(url, b"", 0, "query")
    assert query.headers["x-goog-upload-status"] == "active"
    assert query.headers["x-goog-upload-size-received"] == "4"
    done = chunk(url, b"efghij", 4, "upload, finalize")
    assert done.headers["x-goog-upload-status"] == "final"
    assert done.json()["file"]["sizeBytes"] == "10"


def test_it_refuses_chunks_without_a_started_session(http: httpx.Client) -> None:
    no_start = http.post(
        "/upload/v1/files",
        headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "upload"},
        content=b"data",
    )
    assert no_start.status_code == 400
    assert "X-Goog-Upload-Command: start" in no_start.json()["error"]["message"]
    not_resumable = http.post("/upload/v1/files", content=b"data")
    assert not_resumable.status_code == 400
    unknown = chunk(f"{http.base_url}/upload/v1/files?upload_id=nope", b"x", 0)
    assert unknown.status_code == 404


def test_it_refuses_to_finalize_before_every_byte_arrived(http: httpx.Client) -> None:
    url = start(http, 10, "text/plain").headers["x-goog-upload-url"]
    early = chunk(url, b"abc", 0, "upload, finalize")
    assert early.status_code == 400 and "3 of 10" in early.json()["error"]["message"]
    too_long = chunk(url, b"defghijklmnop", 3)
    assert too_long.status_code == 400


def test_a_cancelled_session_is_gone(http: httpx.Client) -> None:
    url = start(http, 10, "text/plain").headers["x-goog-upload-url"]
    assert chunk(url, b"", 0, "cancel").headers["x-goog-upload-status"] == "cancelled"
    assert chunk(url, b"abc", 0).status_code == 404


def test_a_dropped_chunk_keeps_what_arrived(sim: RunningSimulator, http: httpx.Client) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    url = start(http, len(data), "application/octet-stream").headers["x-goog-upload-url"]
    sim.app.faults.push(Fault(kind="drop", route="upload"))
    with pytest.raises(httpx.TransportError):
        chunk(url, data, 0, "upload, finalize")
    received = int(chunk(url, b"", 0, "query").headers["x-goog-upload-size-received"])
    assert received == 512 * 1024  # whole 256 KiB units of the half that arrived
    done = chunk(url, data[received:], received, "upload, finalize")
    assert done.json()["file"]["sizeBytes"] == str(len(data))
    stored = sim.app.files.get(done.json()["file"]["name"][6:])
    assert stored.path.read_bytes() == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_it_lists_files_in_pages_and_deletes_them(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    sim.app.files.clear()
    names = {upload(http, f"file {i}".encode(), "text/plain")["name"] for i in range(5)}
    first = http.get("/v1/files", params={"pageSize": 3}).json()
    assert len(first["files"]) == 3 and first["nextPageToken"]
    rest = http.get("/v1/files", params={"pageSize": 3, "pageToken": first["nextPageToken"]})
    assert "nextPageToken" not in rest.json()
    assert {f["name"] for f in first["files"] + rest.json()["files"]} == names
    name = sorted(names)[0]
    assert http.delete(f"/v1/{name}").json() == {}
    assert http.get(f"/v1/{name}").status_code == 403
    assert http.delete(f"/v1/{name}").status_code == 403
    assert len(http.get("/v1/files").json()["files"]) == 4


def test_files_need_the_api_key(sim: RunningSimulator) -> None:
    assert httpx.get(f"{sim.base_url}/v1/files").status_code == 401


def test_a_video_is_processing_for_a_while_and_cannot_be_used_meanwhile(
    http: httpx.Client,
) -> None:
    video = upload(http, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video/mp4")
    assert video["state"] == "PROCESSING"
    refused = ask(http, {"type": "video", "uri": video["uri"], "mime_type": "video/mp4"})
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert "not in an ACTIVE state" in refused.json()["error"]["message"]
    deadline = time.monotonic() + 5
    while http.get(f"/v1/{video['name']}").json()["state"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    answer = ask(http, {"type": "video", "uri": video["uri"], "mime_type": "video/mp4"})
    assert answer.status_code == 200 and video["name"] in answer.text


def test_a_file_that_fails_processing_is_failed(http: httpx.Client) -> None:
    failed = upload(http, b"broken", "video/mp4", displayName="clip [[sim:fail]]")
    assert failed["state"] == "FAILED" and failed["error"]["message"]


def test_interactions_answer_about_an_uploaded_file(http: httpx.Client) -> None:
    pdf = tiny_pdf(["Quarterly llama census", "Page two: 42 llamas counted"])
    file = upload(http, pdf, "application/pdf", displayName="census.pdf")
    answer = ask(http, {"type": "document", "uri": file["uri"], "mime_type": "application/pdf"})
    text = answer.json()["steps"][-1]["content"][0]["text"]
    assert "“census.pdf” (application/pdf" in text and file["name"] in text
    assert "page 1 reads: “Quarterly llama census”" in text


def test_a_forced_expiry_makes_the_file_unknown(sim: RunningSimulator, http: httpx.Client) -> None:
    file = upload(http, b"short-lived", "text/plain")
    other = upload(http, b"kept", "text/plain")
    expired = http.post("/_simulator/files/expire", json={"name": file["name"]}).json()
    assert expired == {"expired": [file["name"]]}
    assert http.get(f"/v1/{file['name']}").status_code == 403
    assert http.get(f"/v1/{other['name']}").status_code == 200
    refused = ask(http, {"type": "document", "uri": file["uri"], "mime_type": "text/plain"})
    assert refused.status_code == 403
    assert refused.json()["error"]["status"] == "PERMISSION_DENIED"


def test_a_file_can_be_given_its_own_name_once(http: httpx.Client) -> None:
    named = upload(http, b"x", "text/plain", name="files/my-notes-1")
    assert named["name"] == "files/my-notes-1"
    url = start(http, 1, "text/plain", name="my-notes-1").headers["x-goog-upload-url"]
    assert chunk(url, b"y", 0, "upload, finalize").status_code == 409
    assert start(http, 1, "text/plain", name="-bad").status_code == 400  # refused at start
