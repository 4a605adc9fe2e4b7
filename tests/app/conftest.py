"""Fixtures for the chat: users, the simulator on loopback as upstream, and websockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client as DjangoClient

from chatapp import upstream as upstream_clients
from chatapp import workers
from chatapp.asgi import application
from interactions_client.simulator import SimulatorConfig, serve


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    with serve(SimulatorConfig(slow_seconds_per_token=0.05, background_seconds=0.3)) as server:
        yield server


@pytest.fixture
def upstream(simulator: Any, settings: Any) -> Any:
    """The relay talks to the simulator over loopback, like to the real API."""
    settings.USE_SIMULATOR = False
    settings.GEMINI_API_KEY = "test-key"
    settings.GEMINI_BASE_URL = simulator.base_url
    upstream_clients._clients.clear()
    simulator.app.reset()
    yield simulator
    upstream_clients._clients.clear()


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def bob(db: Any) -> Any:
    return get_user_model().objects.create_user("bob", password="pw-bob-123")


def session_cookie(user: Any) -> str:
    client = DjangoClient()
    client.force_login(user)
    return client.cookies["sessionid"].value


class Socket:
    """A browser-like websocket: sends frames, collects what the server says."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.comm = communicator
        self.frames: list[dict[str, Any]] = []
        self.sizes: list[int] = []  # of each message on the wire
        self.chunks = 0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.comm.send_json_to(frame)

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        """The next frame; a long one arrives in `chunk` frames and is joined, as the page does."""
        pieces: list[str] = []
        while True:
            text = await self.comm.receive_from(timeout=timeout)
            self.sizes.append(len(text))
            frame = json.loads(text)
            if frame.get("type") != "chunk":
                break
            self.chunks += 1
            pieces.append(frame["data"])
            if frame["n"] == frame["of"] - 1:
                frame = json.loads("".join(pieces))
                break
        self.frames.append(frame)
        return frame

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        """Read frames until one matches (all are kept in `frames`)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.receive(timeout)
                if predicate(frame):
                    return frame

    async def until_final(self, turn_id: int | None = None, timeout: float = 10) -> dict[str, Any]:
        return await self.until(
            lambda f: (
                f["type"] == "turn"
                and f.get("final")
                and (turn_id is None or f["turn"]["id"] == turn_id)
            ),
            timeout,
        )

    async def close(self) -> None:
        await self.comm.disconnect()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Any]]:
    opened: list[Socket] = []

    async def open_socket(
        user: Any = None, origin: bytes = b"http://127.0.0.1:8000", cookie: str = ""
    ) -> Socket:
        """A socket of `user` in a new session, or in the session of `cookie`."""
        headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
        if user is not None and not cookie:
            cookie = await asyncio.to_thread(session_cookie, user)
        if cookie:
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        connected, code = await comm.connect()
        socket = Socket(comm)
        socket.connected, socket.close_code = connected, code  # type: ignore[attr-defined]
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        try:
            await socket.close()
        except Exception:
            pass
    # Let generations started by a test finish before the database goes away.
    for generation in list(workers._generations.values()):
        if generation.task:
            generation.task.cancel()
            await asyncio.gather(generation.task, return_exceptions=True)
