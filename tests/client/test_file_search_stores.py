"""`client.file_search_stores` against the simulator: stores, document uploads and imports
with their operations, documents, and a `file_search` turn whose typed steps and
`file_citation` annotations the accumulator keeps."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import interactions_client as ic
from interactions_client import types
from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.simulator.pdf import tiny_pdf
from interactions_client.simulator.server import RunningSimulator
from interactions_client.types.events import parse_event

from ._harness import run_client

HANDBOOK = tiny_pdf(["Welcome to the handbook", "Vacation policy: llamas get 30 days off"])


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(document_processing_seconds=0.1)) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def run(sim: RunningSimulator, request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    sim.app.faults.clear()
    return lambda fn: run_client(str(request.param), sim.base_url, fn)


def test_a_store_gets_a_document_and_a_file_search_turn_cites_its_page(
    run: Any, tmp_path: Path
) -> None:
    path = tmp_path / "handbook.pdf"
    path.write_bytes(HANDBOOK)

    def flow(client: Any) -> Any:
        stores = client.file_search_stores
        if isinstance(client, ic.Client):
            store = stores.create(display_name="Handbook")
            operation = stores.upload(
                store.name,
                path,
                custom_metadata=[{"key": "team", "stringValue": "ops"}],
                chunk_size=256 * 1024,
            )
            done = stores.wait_operation(operation, timeout=5, poll_interval=0.05)
            documents = list(stores.documents.iter(store.name))
            return store, operation, done, documents, stores.get(store.name)

        async def go() -> Any:
            store = await stores.create(display_name="Handbook")
            operation = await stores.upload(
                store.name, path, custom_metadata=[{"key": "team", "stringValue": "ops"}]
            )
            done = await stores.wait_operation(operation, timeout=5, poll_interval=0.05)
            documents = [d async for d in stores.documents.iter(store.name)]
            return store, operation, done, documents, await stores.get(store.name)

        return go()

    store, operation, done, documents, refreshed = run(flow)
    assert isinstance(store, types.FileSearchStore) and store.display_name == "Handbook"
    assert isinstance(operation, types.Operation) and not operation.done
    assert done.done and done.response and done.response.parent == store.name
    (document,) = documents
    assert document.name == done.response.document_name and document.state == "STATE_ACTIVE"
    assert document.display_name == "handbook.pdf" and document.mime_type == "application/pdf"
    assert document.custom_metadata and document.custom_metadata[0].string_value == "ops"
    assert refreshed.active_documents_count == 1 and refreshed.size_bytes == len(HANDBOOK)

    tool = types.FileSearchTool(file_search_store_names=[store.name])
    question = "How many vacation days do llamas get?"
    unary = run(
        lambda c: c.interactions.create(model="gemini-3.5-flash", input=question, tools=[tool])
    )

    def streamed(client: Any) -> Any:
        stream = client.interactions.create(
            model="gemini-3.5-flash", input=question, tools=[tool], stream=True
        )
        if isinstance(client, ic.Client):
            return stream.until_done()

        async def go() -> Any:
            return await (await stream).until_done()

        return go()

    folded = run(streamed)
    for interaction in (unary, folded):
        call, result, answer = interaction.steps[-3:]
        assert isinstance(call, types.FileSearchCallStep)
        assert isinstance(result, types.FileSearchResultStep) and result.call_id == call.id
        assert result.result and result.result[0].page_number == 2
        assert result.result[0].document_name == document.name
        (note,) = answer.content[0].annotations
        assert isinstance(note, types.FileCitation)
        assert note.file_name == "handbook.pdf" and note.page_number == 2
        assert note.document_uri == document.name and note.source == store.name
        assert note.custom_metadata == {"team": "ops"}
        cited = interaction.output_text.encode()[note.start_index : note.end_index].decode()
        assert cited.endswith("“Vacation policy: llamas get 30 days off”")
    assert folded.steps[-1] == unary.steps[-1]  # the stream folds to the unary answer
    assert folded.steps[-2].result == unary.steps[-2].result


def test_an_imported_file_becomes_a_document_and_deletes_need_force(run: Any) -> None:
    def flow(client: Any) -> Any:
        stores = client.file_search_stores
        notes = io.BytesIO(b"# Rota\n\nThe alpaca rota starts on Monday.")
        if isinstance(client, ic.Client):
            store = stores.create(display_name="Rotas")
            file = client.files.upload(notes, mime_type="text/markdown", display_name="rota.md")
            done = stores.wait_operation(
                stores.import_file(store.name, file.name), timeout=5, poll_interval=0.05
            )
            name = done.response.document_name
            with pytest.raises(ic.BadRequestError, match="force"):
                stores.documents.delete(name)
            with pytest.raises(ic.BadRequestError, match="force"):
                stores.delete(store.name)
            document = stores.documents.get(name)
            stores.documents.delete(name, force=True)
            stores.delete(store.name)
            with pytest.raises(ic.NotFoundError):
                stores.get(store.name)
            return document

        async def go() -> Any:
            store = await stores.create(display_name="Rotas")
            file = await client.files.upload(notes, mime_type="text/markdown")
            operation = await stores.import_file(store.name, file.name)
            done = await stores.wait_operation(operation, timeout=5, poll_interval=0.05)
            document = await stores.documents.get(done.response.document_name)
            await stores.delete(store.name, force=True)
            with pytest.raises(ic.NotFoundError):
                await stores.get(store.name)
            return document

        return go()

    document = run(flow)
    assert document.state == "STATE_ACTIVE" and document.mime_type == "text/markdown"


def test_a_failed_indexing_raises_operation_error(run: Any) -> None:
    def flow(client: Any) -> Any:
        stores = client.file_search_stores
        noise = io.BytesIO(bytes(range(256)))
        if isinstance(client, ic.Client):
            store = stores.create()
            operation = stores.upload(store.name, noise, mime_type="image/png")
            return stores.wait_operation(operation, timeout=5, poll_interval=0.05)

        async def go() -> Any:
            store = await stores.create()
            operation = await stores.upload(store.name, noise, mime_type="image/png")
            return await stores.wait_operation(operation, timeout=5, poll_interval=0.05)

        return go()

    with pytest.raises(ic.OperationError, match="No text") as caught:
        run(flow)
    assert caught.value.operation.error and caught.value.operation.error.code == 3


def test_resource_names_are_checked_before_they_reach_a_url(run: Any) -> None:
    with pytest.raises(ValueError, match="fileSearchStores"):
        run(lambda c: c.file_search_stores.get("files/abc"))
    with pytest.raises(ValueError):
        run(lambda c: c.file_search_stores.get("fileSearchStores/../files"))
    with pytest.raises(ValueError):
        run(lambda c: c.file_search_stores.import_file("fileSearchStores/a", "other/x"))


def test_the_accumulator_keeps_file_search_steps_and_citations() -> None:
    steps: list[dict[str, Any]] = [
        {"type": "file_search_call", "id": "fs1"},
        {"type": "file_search_result", "call_id": "fs1", "result": [{"title": "a.pdf"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "Quoted."}]},
    ]
    note = {"type": "file_citation", "file_name": "a.pdf", "page_number": 3}
    events: list[dict[str, Any]] = [
        {
            "event_type": "interaction.created",
            "interaction": {"id": "v1_x", "status": "in_progress"},
        },
        {"event_type": "step.start", "index": 0, "step": steps[0]},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "step.start", "index": 1, "step": {**steps[1], "result": []}},
        {
            "event_type": "step.delta",
            "index": 1,
            "delta": {"type": "file_search_result", **steps[1]},
        },
        {"event_type": "step.stop", "index": 1},
        {"event_type": "step.start", "index": 2, "step": {"type": "model_output", "content": []}},
        {"event_type": "step.delta", "index": 2, "delta": {"type": "text", "text": "Quoted."}},
        {
            "event_type": "step.delta",
            "index": 2,
            "delta": {
                "type": "text_annotation_delta",
                "annotations": [{**note, "start_index": 0, "end_index": 7}],
            },
        },
        {"event_type": "step.stop", "index": 2},
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "v1_x", "status": "completed"},
        },
    ]
    interaction = ic.accumulate(parse_event(e) for e in events)
    assert isinstance(interaction.steps[1], types.FileSearchResultStep)
    assert interaction.steps[1].result and interaction.steps[1].result[0].title == "a.pdf"
    (citation,) = interaction.steps[2].content[0].annotations
    assert isinstance(citation, types.FileCitation) and citation.page_number == 3
