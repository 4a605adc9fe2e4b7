"""Browser-like websockets to a live server's /ws/chat/: the session cookie and the page's
Origin. `LiveSocket` for synchronous tests, `ws_connect` for asyncio benchmarks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import httpx
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as sync_connect

from .servers import LiveServer


class LiveSocket:
    """A browser-like websocket to a live server (the `websockets` sync client)."""

    def __init__(self, server: LiveServer, session: str, origin: str | None = None) -> None:
        self.ws: ClientConnection = sync_connect(
            server.url.replace("http://", "ws://") + "/ws/chat/",
            origin=origin or server.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={session}"},
            open_timeout=10,
            max_size=None,
            proxy=None,
            legacy=True,  # a connection object kept open across calls, closed by close()
        )
        self.frames: list[dict[str, Any]] = []
        self.raw: list[str] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame in {timeout}s; last: {self.frames[-3:]}")
            try:
                raw = self.ws.recv(timeout=remaining)
            except TimeoutError:
                continue
            text = raw if isinstance(raw, str) else raw.decode()
            self.raw.append(text)
            frame = json.loads(text)
            self.frames.append(frame)
            if predicate(frame):
                return frame

    def until_final(self, turn_id: int, timeout: float = 30) -> dict[str, Any]:
        frame = self.until(
            lambda f: f["type"] == "turn" and f.get("final") and f["turn"]["id"] == turn_id,
            timeout,
        )
        return frame["turn"]  # type: ignore[no-any-return]

    def close(self) -> None:
        with suppress(Exception):
            self.ws.close()


async def ws_connect(port: int, cookies: httpx.Cookies, scheme: str = "http") -> Any:
    """An asyncio websocket with every cookie and the page's Origin (`scheme` "https": a
    page served through the TLS proxy)."""
    from websockets.asyncio.client import connect

    return await connect(
        f"ws://127.0.0.1:{port}/ws/chat/",
        origin=f"{scheme}://127.0.0.1:{port}",  # type: ignore[arg-type]
        additional_headers={
            "Cookie": "; ".join(f"{c.name}={c.value}" for c in cookies.jar),
            # As the TLS proxy says; the server compares the Origin with the scheme exactly.
            "X-Forwarded-Proto": scheme,
        },
        proxy=None,
        open_timeout=60,
        ping_interval=None,  # browsers do not ping
        max_queue=None,  # a tab reads every frame; no backpressure from the client
        max_size=2**24,
    )
