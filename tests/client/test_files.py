"""`client.files` against the simulator on a loopback port: resumable uploads streamed from
disk (and resumed after a dropped chunk), get, list, delete, wait_active and expiry."""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import interactions_client as ic
from interactions_client.simulator import Fault, SimulatorConfig, serve
from interactions_client.simulator.server import RunningSimulator
from interactions_client.types import File

from ._harness import run_client

KIB = 1024
CHUNK = 256 * KIB


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(video_processing_seconds=0.3)) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def run(
    sim: RunningSimulator, kind: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Callable[[Any], Any]], Any]:
    """Run `fn(client)` with a sync or async client (awaiting it for the async one)."""
    sim.app.faults.clear()
    sim.app.requests.clear()
    monkeypatch.setattr("interactions_client._upload.retry_delay", lambda *a, **k: 0.0)

    return lambda fn: run_client(kind, sim.base_url, fn)


def sample(tmp_path: Path, size: int, name: str = "sample.txt") -> tuple[Path, bytes]:
    data = (b"llamas graze on the hill. " * (size // 26 + 1))[:size]
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def chunk_requests(sim: RunningSimulator) -> list[dict[str, Any]]:
    return [r for r in sim.app.requests if "upload_id" in r["query"]]


def test_it_uploads_a_file_in_chunks_and_gets_lists_and_deletes_it(
    sim: RunningSimulator, run: Any, tmp_path: Path
) -> None:
    path, data = sample(tmp_path, 2 * CHUNK + 1000)
    seen: list[tuple[int, int]] = []

    def flow(client: Any) -> Any:
        if isinstance(client, ic.Client):
            file = client.files.upload(
                path, display_name="Notes", chunk_size=CHUNK, on_progress=lambda *a: seen.append(a)
            )
            return file, client.files.get(file.name), list(client.files.iter(page_size=1))

        async def report(sent: int, total: int) -> None:  # async callbacks are awaited
            seen.append((sent, total))

        async def go() -> Any:
            file = await client.files.upload(
                path, display_name="Notes", chunk_size=CHUNK, on_progress=report
            )
            listed = [f async for f in client.files.iter(page_size=1)]
            return file, await client.files.get(file.name), listed

        return go()

    file, fetched, listed = run(flow)
    assert isinstance(file, File) and file.state == "ACTIVE"
    assert file.display_name == "Notes" and file.mime_type == "text/plain"
    assert file.size_bytes == len(data) and file.uri and file.uri.endswith(file.name[5:])
    assert fetched == file and file.name in [f.name for f in listed]
    assert file.expiration_time and file.create_time
    offsets = [r["headers"]["x-goog-upload-offset"] for r in chunk_requests(sim)]
    assert offsets == ["0", str(CHUNK), str(2 * CHUNK)]
    assert seen == [(CHUNK, len(data)), (2 * CHUNK, len(data)), (len(data), len(data))]
    assert sim.app.files.get(file.name[6:]).path.read_bytes() == data

    def delete(client: Any) -> Any:
        return client.files.delete(file.name)

    run(delete)
    with pytest.raises(ic.PermissionDeniedError):
        run(lambda client: client.files.get(file.name))


def test_it_uploads_from_a_binary_stream_from_its_current_position(run: Any) -> None:
    stream = io.BytesIO(b"HEADER" + b"payload")
    stream.seek(6)
    file = run(lambda c: c.files.upload(stream, mime_type="application/octet-stream"))
    assert file.size_bytes == 7
    with pytest.raises(ValueError, match="mime_type"):
        run(lambda c: c.files.upload(io.BytesIO(b"x")))
    empty = run(lambda c: c.files.upload(io.BytesIO(b""), mime_type="text/plain"))
    assert empty.size_bytes == 0 and empty.state == "ACTIVE"


def test_an_interrupted_upload_resumes_from_the_offset_the_server_reports(
    sim: RunningSimulator, run: Any, tmp_path: Path
) -> None:
    path, data = sample(tmp_path, 6 * CHUNK)
    sim.app.faults.push(Fault(kind="drop", route="upload", match="upload_id"))
    file = run(lambda c: c.files.upload(path, chunk_size=2 * CHUNK))
    assert sim.app.files.get(file.name[6:]).path.read_bytes() == data
    commands = [r["headers"]["x-goog-upload-command"] for r in chunk_requests(sim)]
    assert commands[:2] == ["upload", "query"]
    resumed = chunk_requests(sim)[2]["headers"]["x-goog-upload-offset"]
    assert int(resumed) == CHUNK  # the half chunk the server kept is not sent again


def test_a_retryable_status_on_a_chunk_is_retried(
    sim: RunningSimulator, run: Any, tmp_path: Path
) -> None:
    path, data = sample(tmp_path, 2 * CHUNK)
    sim.app.faults.push(Fault(kind="status", status=503, route="upload", match="upload_id"))
    file = run(lambda c: c.files.upload(path, chunk_size=CHUNK))
    assert file.size_bytes == len(data)


def test_an_upload_gives_up_after_the_retry_budget(
    sim: RunningSimulator, run: Any, tmp_path: Path
) -> None:
    path, _ = sample(tmp_path, CHUNK)
    chunks_only = "x-goog-upload-command: upload"
    sim.app.faults.push(Fault(status=503, route="upload", match=chunks_only, times=10))
    with pytest.raises(ic.InternalServerError):
        run(lambda c: c.files.upload(path, chunk_size=CHUNK))
    commands = [r["headers"]["x-goog-upload-command"] for r in chunk_requests(sim)]
    # Two retries (the default budget), each after asking where the upload stands.
    assert commands == ["upload, finalize", "query"] * 2 + ["upload, finalize", "cancel"]


def test_an_upload_that_fails_cancels_its_session_upstream(
    sim: RunningSimulator, run: Any, tmp_path: Path
) -> None:
    path, _ = sample(tmp_path, 2 * CHUNK)
    before = len(sim.app.files)
    sim.app.faults.push(Fault(kind="status", status=400, route="upload", match="upload_id"))
    with pytest.raises(ic.BadRequestError):
        run(lambda c: c.files.upload(path, chunk_size=CHUNK))
    assert chunk_requests(sim)[-1]["headers"]["x-goog-upload-command"] == "cancel"
    assert len(sim.app.uploads) == 0 and len(sim.app.files) == before  # nothing half-made


def test_wait_active_waits_for_a_video_and_reports_failures(run: Any) -> None:
    clip = io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + bytes(500))

    def flow(client: Any) -> Any:
        if isinstance(client, ic.Client):
            file = client.files.upload(clip, mime_type="video/mp4")
            return file, client.files.wait_active(file.name, timeout=5, poll_interval=0.05)

        async def go() -> Any:
            file = await client.files.upload(clip, mime_type="video/mp4")
            return file, await client.files.wait_active(file.name, timeout=5, poll_interval=0.05)

        return go()

    uploaded, active = run(flow)
    assert uploaded.state == "PROCESSING" and active.state == "ACTIVE"
    broken = io.BytesIO(b"broken")
    failed = run(
        lambda c: c.files.upload(broken, mime_type="video/mp4", display_name="[[sim:fail]]")
    )
    with pytest.raises(ic.FileProcessingError, match="failed processing") as caught:
        run(lambda c: c.files.wait_active(failed.name, timeout=5))
    assert caught.value.file.state == "FAILED"
    slow = run(lambda c: c.files.upload(io.BytesIO(b"x"), mime_type="video/mp4"))
    with pytest.raises(TimeoutError):
        run(lambda c: c.files.wait_active(slow.name, timeout=0.01, poll_interval=0.05))


def test_an_expired_file_is_gone_and_refused_in_a_turn(sim: RunningSimulator, run: Any) -> None:
    file = run(lambda c: c.files.upload(io.BytesIO(b"soon gone"), mime_type="text/plain"))
    item = {"type": "document", "uri": file.uri, "mime_type": "text/plain"}
    answer = run(lambda c: c.interactions.create(model="gemini-3.5-flash", input=[item]))
    assert "“soon gone”" in answer.output_text
    assert sim.app.files.expire(file.name[6:]) == [file.name]
    with pytest.raises(ic.PermissionDeniedError):
        run(lambda c: c.files.get(file.name))
    with pytest.raises(ic.PermissionDeniedError, match="may not exist"):
        run(lambda c: c.interactions.create(model="gemini-3.5-flash", input=[item]))


def test_a_300_mb_upload_keeps_client_memory_far_below_the_file(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    size = 300 * 2**20
    path = tmp_path / "big.mp4"
    with path.open("wb") as handle:  # sparse: quick to make, reads back as zeros
        handle.truncate(size)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with ic.Client(api_key="test-key", base_url=sim.base_url) as client:
            file = client.files.upload(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stored = sim.app.files.get(file.name[6:])
    assert file.size_bytes == size and os.path.getsize(stored.path) == size
    # Python allocations of the client *and* the in-process simulator together: about one
    # 8 MiB chunk plus buffers, against 300 MiB of file.
    print(f"peak traced memory {peak / 2**20:.1f} MiB for a 300 MiB upload: {peak / size:.3f}")
    assert peak < size / 20
    sim.app.files.delete(stored.id)
