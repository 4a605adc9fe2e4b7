"""Streams of typed events, sync and async, that always close their connection.

A stream yields every event, `error` events included (as the SDK does). It folds what it
yields into its accumulator (a fresh one, or the one given to go on with a multi-call
turn) and `.interaction`; `until_done()` reads to the end and returns the final interaction,
raising `StreamError` (with the partial interaction) if the stream carried an `error` event.
When automatic continuation is on, the events of every hop come out of one stream.

A success answer that is not `text/event-stream` is never read as an empty stream: a JSON
interaction becomes the events that describe it, anything else is an error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from types import TracebackType
from typing import Any

import httpx
from pydantic import ValidationError

from ._accumulate import Accumulator, interaction_events
from ._errors import APIResponseValidationError, StreamError, from_transport_error
from ._request import parse_interaction
from ._sse import ServerSentEvent, SSEDecoder
from .types import Interaction, StreamEvent, parse_event

# Given the `interaction.completed` payload of a hop, open the next hop's response, or None.
NextHop = Callable[[dict[str, Any]], httpx.Response | None]
AsyncNextHop = Callable[[dict[str, Any]], Awaitable[httpx.Response | None]]


def decode_event(sse: ServerSentEvent) -> StreamEvent | None:
    """The typed event of one SSE message; None for the `[DONE]` sentinel."""
    if sse.data == "[DONE]":
        return None
    try:
        payload = json.loads(sse.data)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers past Python's digit limit.
        raise APIResponseValidationError(f"stream event is not JSON: {sse.data[:200]!r}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("event_type"), str):
        if isinstance(payload, dict) and sse.event:
            payload = {**payload, "event_type": sse.event}
        else:
            raise APIResponseValidationError(f"stream event has no event_type: {sse.data[:200]!r}")
    try:
        return parse_event(payload)
    except ValidationError as exc:
        raise APIResponseValidationError(f"malformed stream event: {exc}") from exc


def is_event_stream(response: httpx.Response) -> bool:
    return _media_type(response) == "text/event-stream"


def _media_type(response: httpx.Response) -> str:
    content_type = str(response.headers.get("content-type", ""))
    return content_type.partition(";")[0].strip().lower()


def resource_events(response: httpx.Response) -> list[StreamEvent]:
    """The events a stream would have carried, from a read non-SSE answer to a streaming
    request: it must be an interaction as JSON (see `interaction_events`), else
    APIResponseValidationError."""
    content_type = response.headers.get("content-type") or "no Content-Type"
    expected = f"expected text/event-stream from {response.request.url}, got {content_type}"
    if _media_type(response) != "application/json":
        raise APIResponseValidationError(expected, response=response)
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("id"), str) and data.get("status")):
        raise APIResponseValidationError(
            f"{expected} that is not an interaction: {response.text[:200]!r}", response=response
        )
    parse_interaction(data, response)  # the same checks as a non-streamed answer
    return interaction_events(data)


class _StreamBase:
    def __init__(self, response: httpx.Response, accumulator: Accumulator | None) -> None:
        self.response = response
        self.accumulator = accumulator if accumulator is not None else Accumulator()
        self._final: dict[str, Any] | None = None

    @property
    def interaction(self) -> Interaction:
        """Everything received so far, folded into one interaction."""
        return self.accumulator.interaction

    @property
    def last_event_id(self) -> str | None:
        """The cursor to re-attach with `get(id, stream=True, last_event_id=...)`."""
        return self.accumulator.last_event_id

    def _take(self, sse: ServerSentEvent) -> StreamEvent | None:
        event = decode_event(sse)
        return None if event is None else self._fold(event)

    def _fold(self, event: StreamEvent) -> StreamEvent:
        self.accumulator.feed(event)
        if event.event_type == "interaction.completed":
            self._final = (event.model_dump(mode="json").get("interaction")) or {}
        return event

    def _result(self) -> Interaction:
        if self.accumulator.error is not None:
            raise StreamError(self.accumulator.error, self.interaction)
        return self.interaction


class Stream(_StreamBase):
    """An iterator of `StreamEvent`s; use it in a `with` block or iterate it to the end."""

    def __init__(
        self,
        response: httpx.Response,
        next_hop: NextHop | None = None,
        *,
        accumulator: Accumulator | None = None,
    ) -> None:
        super().__init__(response, accumulator)
        self._next_hop = next_hop
        self._iterator = self._events()

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._iterator

    def __next__(self) -> StreamEvent:
        return next(self._iterator)

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._iterator.close()
        self.response.close()

    def until_done(self) -> Interaction:
        """Read to the end; the final interaction, or StreamError with `.partial`."""
        for _ in self:
            pass
        return self._result()

    def _events(self) -> Generator[StreamEvent, None, None]:
        while True:
            self._final = None
            decoder = SSEDecoder()
            try:
                if is_event_stream(self.response):
                    for chunk in self.response.iter_bytes():
                        for sse in decoder.feed(chunk):
                            event = self._take(sse)
                            if event is None:
                                return
                            yield event
                    for sse in decoder.close():
                        event = self._take(sse)
                        if event is not None:
                            yield event
                else:
                    self.response.read()
                    for event in resource_events(self.response):
                        yield self._fold(event)
            except httpx.TransportError as exc:
                raise from_transport_error(exc) from exc
            finally:
                self.response.close()
            following = self._next_hop(self._final) if self._next_hop and self._final else None
            if following is None:
                return
            self.response = following


class AsyncStream(_StreamBase):
    """The async twin of `Stream`: `async for`, `async with`, `await until_done()`."""

    def __init__(
        self,
        response: httpx.Response,
        next_hop: AsyncNextHop | None = None,
        *,
        accumulator: Accumulator | None = None,
    ) -> None:
        super().__init__(response, accumulator)
        self._next_hop = next_hop
        self._iterator = self._events()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterator

    async def __anext__(self) -> StreamEvent:
        return await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._iterator.aclose()
        await self.response.aclose()

    async def until_done(self) -> Interaction:
        async for _ in self:
            pass
        return self._result()

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        while True:
            self._final = None
            decoder = SSEDecoder()
            try:
                if is_event_stream(self.response):
                    async for chunk in self.response.aiter_bytes():
                        for sse in decoder.feed(chunk):
                            event = self._take(sse)
                            if event is None:
                                return
                            yield event
                    for sse in decoder.close():
                        event = self._take(sse)
                        if event is not None:
                            yield event
                else:
                    await self.response.aread()
                    for event in resource_events(self.response):
                        yield self._fold(event)
            except httpx.TransportError as exc:
                raise from_transport_error(exc) from exc
            finally:
                await self.response.aclose()
            following = (
                await self._next_hop(self._final) if self._next_hop and self._final else None
            )
            if following is None:
                return
            self.response = following
