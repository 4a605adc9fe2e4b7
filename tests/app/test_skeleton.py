from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.test import override_settings

from chatapp import upstream
from interactions_client import APIConnectionError, AsyncClient
from interactions_client.asgi_transport import StreamingASGITransport
from interactions_client.simulator import Fault, SimulatorConfig, create_app


@pytest.mark.django_db
def test_the_chat_says_answers_come_from_the_offline_simulator(
    client: DjangoClient, alice: Any
) -> None:
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Offline simulator" in response.content


@pytest.mark.django_db
@override_settings(USE_SIMULATOR=False)
def test_the_chat_does_not_claim_the_simulator_when_a_key_is_set(
    client: DjangoClient, alice: Any
) -> None:
    client.force_login(alice)
    assert b"Offline simulator" not in client.get("/").content


def test_healthz(client: DjangoClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_without_a_key_the_upstream_is_the_in_process_simulator() -> None:
    async def go() -> str:
        client = upstream.make_client()
        async with client:
            interaction = await client.interactions.create(model="gemini-3.5-flash", input="ping")
        return interaction.output_text

    assert "ping" in asyncio.run(go())


@override_settings(
    USE_SIMULATOR=False, GEMINI_API_KEY="team-key", GEMINI_BASE_URL="https://gw.test"
)
def test_with_a_key_the_upstream_is_the_configured_api() -> None:
    client = upstream.make_client()
    assert client.api_key == "team-key" and client.base_url == "https://gw.test"


def test_the_in_process_transport_streams_instead_of_buffering() -> None:
    app = create_app(SimulatorConfig(tokens_per_second=20))

    async def go() -> tuple[float, float]:
        client = AsyncClient(
            api_key="k", base_url="http://sim.invalid", transport=StreamingASGITransport(app)
        )
        started = time.monotonic()
        stream = await client.interactions.create(
            model="gemini-3.5-flash", input="hello " * 20, stream=True
        )
        first_at = None
        async with stream:
            async for _event in stream:
                if first_at is None:
                    first_at = time.monotonic() - started
        return first_at or 0.0, time.monotonic() - started

    first, total = asyncio.run(go())
    # With pacing, the whole answer takes a while, but the first event comes at once.
    assert first < total / 3


def test_an_app_that_drops_the_connection_is_a_connection_error() -> None:
    app = create_app(SimulatorConfig())
    app.faults.push(Fault(kind="drop", after_events=3))

    async def go() -> None:
        client = AsyncClient(
            api_key="k", base_url="http://sim.invalid", transport=StreamingASGITransport(app)
        )
        stream = await client.interactions.create(model="gemini-3.5-flash", input="hi", stream=True)
        async with stream:
            async for _ in stream:
                pass

    with pytest.raises(APIConnectionError):
        asyncio.run(go())
