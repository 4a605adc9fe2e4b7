"""Minimal raw-ASGI plumbing: parsed requests, JSON responses and SSE framing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .errors import ApiError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MISSING = object()


class SimulatedDrop(Exception):
    """Raised after part of a response was sent, so the server aborts the connection."""


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    scheme: str = "http"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` as the client addressed us (for URLs we hand out)."""
        return f"{self.scheme}://{self.headers.get('host', 'localhost')}"

    def json(self) -> Any:
        """The parsed body; raises ApiError 400 when it is not valid JSON."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Invalid JSON payload received. {exc}") from exc

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ApiError:
            return None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")


async def read_request(scope: Scope, receive: Receive) -> HttpRequest:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    head = read_head(scope)
    head.body = b"".join(chunks)
    return head


def read_head(scope: Scope) -> HttpRequest:
    """The request without its body (upload chunks are streamed to disk instead)."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
    method, scheme = scope["method"].upper(), str(scope.get("scheme", "http"))
    return HttpRequest(method, scope["path"], query, headers, b"", scheme)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def send_json(
    send: Send, status: int, body: Any, headers: list[tuple[str, str]] | None = None
) -> None:
    payload = json.dumps(body, ensure_ascii=False, indent=2).encode()
    raw = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def send_truncated_json(send: Send, body: Any) -> None:
    """Headers and the first half of a JSON body; the caller then aborts the connection."""
    payload = json.dumps(body, ensure_ascii=False, indent=2).encode()
    headers = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send(
        {"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True}
    )


async def send_error(send: Send, error: ApiError) -> None:
    await send_json(send, error.code, error.body(), error.headers)


async def start_sse(send: Send) -> None:
    headers = [
        (b"content-type", b"text/event-stream"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})


def sse_frame(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event["event_type"]).encode() + b"\ndata: " + dumps(event) + b"\n\n"


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def sleep_unless_disconnected(receive: Receive, seconds: float) -> bool:
    """Sleep ``seconds``; returns False early if the client went away meanwhile."""
    try:
        await asyncio.wait_for(wait_disconnect(receive), timeout=seconds)
    except TimeoutError:
        return True
    return False
