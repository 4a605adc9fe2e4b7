"""Runs the same client test through `Client` and `AsyncClient` over an httpx.MockTransport."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from interactions_client import AsyncClient, Client

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://api.test"

COMPLETED = {
    "id": "v1_done",
    "status": "completed",
    "steps": [{"type": "model_output", "content": [{"type": "text", "text": "Hello!"}]}],
    "usage": {"total_tokens": 3},
}
STREAM_EVENTS = [
    {
        "event_type": "interaction.created",
        "interaction": {"id": "v1_s", "status": "in_progress"},
        "event_id": "evt_1",
    },
    {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}, "event_id": "evt_2"},
    {
        "event_type": "step.delta",
        "index": 0,
        "delta": {"type": "text", "text": "Hel"},
        "event_id": "evt_3",
    },
    {
        "event_type": "step.delta",
        "index": 0,
        "delta": {"type": "text", "text": "lo!"},
        "event_id": "evt_4",
    },
    {"event_type": "step.stop", "index": 0, "event_id": "evt_5"},
    {
        "event_type": "interaction.completed",
        "interaction": {"id": "v1_s", "status": "completed", "usage": {"total_tokens": 3}},
        "event_id": "evt_6",
    },
]


class Recorder:
    """A handler answering from a list of responses (or callables), recording requests."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def body(self, i: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[i].content)


def sse(*payloads: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {p['event_type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads
    )


def sse_response(*payloads: dict[str, Any], chunks: list[bytes] | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=ChunkStream(chunks if chunks is not None else [sse(*payloads)]),
    )


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent in the given chunks; an exception in the list is raised at that point."""

    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks
        self.closed = False

    def _items(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        yield from self._items()

    async def __aiter__(self):  # type: ignore[override]
        for chunk in self._items():
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class Api:
    """One face over both clients: every call returns plain results, run to completion."""

    def __init__(self, kind: str, handler: Handler, **options: Any) -> None:
        self.kind = kind
        options.setdefault("api_key", "test-key")
        options.setdefault("base_url", BASE)
        transport = httpx.MockTransport(handler)
        if kind == "sync":
            self.client: Any = Client(transport=transport, **options)
        else:
            self.client = AsyncClient(transport=transport, **options)

    def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.client.interactions, name)
        if self.kind == "sync":
            return method(*args, **kwargs)
        return asyncio.run(method(*args, **kwargs))

    def create(self, **kwargs: Any) -> Any:
        return self._run("create", **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._run("get", *args, **kwargs)

    def cancel(self, *args: Any) -> Any:
        return self._run("cancel", *args)

    def delete(self, *args: Any) -> Any:
        return self._run("delete", *args)

    def wait(self, *args: Any, **kwargs: Any) -> Any:
        return self._run("wait", *args, **kwargs)

    def stream(
        self, method: str = "create", limit: int | None = None, **kwargs: Any
    ) -> tuple[list[Any], Any]:
        """Events of a stream (the first `limit` of them) and the stream object, closed."""
        if self.kind == "sync":
            stream = getattr(self.client.interactions, method)(stream=True, **kwargs)
            with stream:
                got = []
                for event in stream:
                    got.append(event)
                    if limit is not None and len(got) == limit:
                        break
            return got, stream

        async def run() -> tuple[list[Any], Any]:
            stream = await getattr(self.client.interactions, method)(stream=True, **kwargs)
            async with stream:
                got = []
                async for event in stream:
                    got.append(event)
                    if limit is not None and len(got) == limit:
                        break
            return got, stream

        return asyncio.run(run())

    def until_done(self, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return self.client.interactions.create(stream=True, **kwargs).until_done()

        async def run() -> Any:
            stream = await self.client.interactions.create(stream=True, **kwargs)
            return await stream.until_done()

        return asyncio.run(run())


def run_client(kind: str, base_url: str, fn: Callable[[Any], Any]) -> Any:
    """`fn(client)` with a real sync or async client on `base_url`; an awaitable it returns
    is awaited, so one test body drives both twins."""
    options: dict[str, Any] = {"api_key": "test-key", "base_url": base_url}
    if kind == "sync":
        with Client(**options) as client:
            return fn(client)

    async def main() -> Any:
        async with AsyncClient(**options) as client:
            outcome = fn(client)
            return await outcome if inspect.isawaitable(outcome) else outcome

    return asyncio.run(main())
