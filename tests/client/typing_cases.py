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
    Stream,
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
