"""Calls whose static types `test_typing.py` checks with mypy; never run.

`assert_type` fails the check when an overload returns the wrong type; a `type: ignore`
that is not needed fails it too (strict mode warns about unused ignores), so the ignored
lines prove those calls are refused.
"""

from __future__ import annotations

from typing import assert_type

from interactions_client import (
    Accumulator,
    AsyncClient,
    AsyncStream,
    Client,
    CreateParams,
    Interaction,
    ReplayGuard,
    Stream,
    verify_webhook,
)
from interactions_client.types import (
    Document,
    File,
    FileList,
    FileSearchStore,
    Operation,
    Trigger,
    TriggerExecution,
    TriggerExecutionList,
    Webhook,
    WebhookEvent,
)


def sync_calls(client: Client, flag: bool, request: CreateParams) -> None:
    acc = Accumulator()
    assert_type(client.interactions.create(model="m", input="x"), Interaction)
    assert_type(client.interactions.create(model="m", input="x", stream=False), Interaction)
    assert_type(client.interactions.create(model="m", input="x", stream=True), Stream)
    assert_type(client.interactions.create(model="m", stream=True, accumulator=acc), Stream)
    assert_type(client.interactions.create(stream=True, **request), Stream)
    assert_type(client.interactions.create(model="m", stream=flag), Interaction | Stream)
    assert_type(client.interactions.get("v1_a"), Interaction)
    assert_type(client.interactions.get("v1_a", stream=True, last_event_id="e"), Stream)
    assert_type(client.interactions.get("v1_a", stream=True, accumulator=acc), Stream)
    assert_type(client.interactions.get("v1_a", stream=flag), Interaction | Stream)
    client.interactions.create(model="m", accumulator=acc)  # type: ignore[call-overload]
    client.interactions.get("v1_a", last_event_id="e")  # type: ignore[call-overload]
    client.interactions.get("v1_a", accumulator=acc)  # type: ignore[call-overload]


async def async_calls(client: AsyncClient, request: CreateParams) -> None:
    acc = Accumulator()
    assert_type(await client.interactions.create(model="m", input="x"), Interaction)
    assert_type(await client.interactions.create(model="m", stream=True), AsyncStream)
    assert_type(await client.interactions.create(stream=True, **request), AsyncStream)
    assert_type(await client.interactions.get("v1_a"), Interaction)
    assert_type(await client.interactions.get("v1_a", stream=True, accumulator=acc), AsyncStream)
    await client.interactions.create(model="m", accumulator=acc)  # type: ignore[call-overload]


def sync_resources(client: Client) -> None:
    assert_type(client.files.upload("a.mp4", display_name="a"), File)
    assert_type(client.files.wait_active("files/a", timeout=1), File)
    assert_type(client.files.list(page_size=2), FileList)
    assert_type(client.file_search_stores.create(display_name="kb"), FileSearchStore)
    operation = client.file_search_stores.upload("fileSearchStores/kb", "a.pdf")
    assert_type(client.file_search_stores.wait_operation(operation), Operation)
    assert_type(
        client.file_search_stores.documents.get("fileSearchStores/kb/documents/d"), Document
    )
    client.files.upload(b"raw bytes")  # type: ignore[arg-type]


async def async_resources(client: AsyncClient) -> None:
    assert_type(await client.files.upload("a.mp4"), File)
    assert_type(await client.files.get("files/a"), File)
    operation = await client.file_search_stores.import_file("fileSearchStores/kb", "files/a")
    assert_type(await client.file_search_stores.wait_operation(operation), Operation)
    assert_type([f async for f in client.files.iter()], list[File])


def automation(client: Client, body: bytes, headers: dict[str, str]) -> None:
    run = {"agent": "deep-research-preview-04-2026", "input": "x"}
    trigger = client.triggers.create(interaction=run, schedule="0 9 * * *", time_zone="UTC")
    assert_type(trigger, Trigger)
    assert_type(client.triggers.run("t"), TriggerExecution)
    assert_type(client.triggers.list_executions("t"), TriggerExecutionList)
    assert_type(
        client.webhooks.create(uri="https://h", subscribed_events=["batch.failed"]), Webhook
    )
    assert_type(client.webhooks.rotate_signing_secret("w"), str)
    assert_type(verify_webhook(body, headers, "whsec_a", seen=ReplayGuard()), WebhookEvent)
    client.triggers.create(interaction=run, schedule="0 9 * * *")  # type: ignore[call-arg]


async def async_automation(client: AsyncClient) -> None:
    assert_type(await client.triggers.update("t", status="paused"), Trigger)
    assert_type([t async for t in client.triggers.iter()], list[Trigger])
    assert_type(await client.webhooks.get("w"), Webhook)
