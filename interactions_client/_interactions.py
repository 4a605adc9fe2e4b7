"""The interactions resource, `client.interactions`: create, get, cancel, delete, wait.

Request specs and result parsing live in the shared base (`_interaction_specs.py`); the sync
and async twins only do I/O and keep their methods in the same order so drift shows in a
diff. The overloads give `create`/`get` the type of what they return: a stream with
`stream=True`, else an interaction.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx
from typing_extensions import Unpack

from . import _continuation
from ._accumulate import Accumulator
from ._interaction_specs import RUNNING_STATUSES, CreateParams, InteractionsBase, next_poll
from ._request import NOT_GIVEN, parse_interaction, parse_json
from ._streaming import AsyncNextHop, AsyncStream, NextHop, Stream
from .types import Interaction

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncInteractions", "CreateParams", "Interactions"]


class Interactions(InteractionsBase):
    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CreateParams]
    ) -> Interaction: ...
    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        accumulator: Accumulator | None = None,
        **params: Unpack[CreateParams],
    ) -> Stream: ...
    @overload
    def create(
        self,
        *,
        stream: bool,
        accumulator: Accumulator | None = None,
        **params: Unpack[CreateParams],
    ) -> Interaction | Stream: ...
    def create(
        self,
        *,
        stream: bool = NOT_GIVEN,
        accumulator: Accumulator | None = None,
        **params: Unpack[CreateParams],
    ) -> Interaction | Stream:
        """Create an interaction: an `Interaction`, or a `Stream` of events with stream=True.

        An answer that stops at `requires_continuation` is continued automatically (one
        interaction, or one stream, with every hop) unless automatic_continuation=False.
        A stream folds into `accumulator` when given (after what it holds), else a new one.
        """
        body, auto = self._split(params, stream, accumulator)
        response = self._client.send(self._create_spec(body, params))
        if body.get("stream"):
            hops = self._stream_hops(body, params) if auto else None
            return Stream(response, hops, accumulator=accumulator)
        hop_bodies = [parse_json(response)]
        sent = body.get("continuation_token")
        while auto and (following := _continuation.next_hop_body(body, hop_bodies[-1], sent)):
            sent = following["continuation_token"]
            hop_bodies.append(parse_json(self._client.send(self._create_spec(following, params))))
        return self._merge(hop_bodies, response)

    def _stream_hops(self, body: dict[str, Any], params: CreateParams) -> NextHop:
        sent: list[str | None] = [body.get("continuation_token")]

        def next_hop(final: dict[str, Any]) -> httpx.Response | None:
            following = _continuation.next_hop_body(body, final, sent[-1])
            if following is None:
                return None
            sent.append(following["continuation_token"])
            return self._client.send(self._create_spec(following, params))

        return next_hop

    @overload
    def get(
        self,
        id: str,
        *,
        stream: Literal[False] = False,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Interaction: ...
    @overload
    def get(
        self,
        id: str,
        *,
        stream: Literal[True],
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        accumulator: Accumulator | None = None,
    ) -> Stream: ...
    @overload
    def get(
        self,
        id: str,
        *,
        stream: bool,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        accumulator: Accumulator | None = None,
    ) -> Interaction | Stream: ...
    def get(
        self,
        id: str,
        *,
        stream: bool = False,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        accumulator: Accumulator | None = None,
    ) -> Interaction | Stream:
        """Fetch an interaction, or with stream=True re-attach to its events (after
        `last_event_id` when given), folded into `accumulator` when given."""
        response = self._client.send(
            self._get_spec(id, stream, last_event_id, include_input, timeout, accumulator)
        )
        if stream:
            return Stream(response, accumulator=accumulator)
        return parse_interaction(parse_json(response), response)

    def cancel(self, id: str) -> Interaction:
        """Cancel a running background interaction."""
        response = self._client.send(self._cancel_spec(id))
        return parse_interaction(parse_json(response), response)

    def delete(self, id: str) -> None:
        self._client.send(self._delete_spec(id))

    def wait(
        self,
        id: str,
        *,
        poll_interval: float = 1.0,
        max_interval: float = 10.0,
        timeout: float | None = None,
    ) -> Interaction:
        """Poll `get` with backoff until the interaction is no longer queued or running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            interaction = self.get(id)
            if interaction.status not in RUNNING_STATUSES:
                return interaction
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                raise TimeoutError(f"interaction {id} still {interaction.status} after {timeout}s")
            time.sleep(poll_interval)
            poll_interval = next_poll(poll_interval, max_interval)


class AsyncInteractions(InteractionsBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CreateParams]
    ) -> Interaction: ...
    @overload
    async def create(
        self,
        *,
        stream: Literal[True],
        accumulator: Accumulator | None = None,
        **params: Unpack[CreateParams],
    ) -> AsyncStream: ...
    @overload
    async def create(
        self,
        *,
        stream: bool,
        accumulator: Accumulator | None = None,
        **params: Unpack[CreateParams],
    ) -> Interaction | AsyncStream: ...
    async def create(
        self,
        *,
        stream: bool = NOT_GIVEN,
        accumulator: Accumulator | None = None,
        **params: Unpack[CreateParams],
    ) -> Interaction | AsyncStream:
        """Awaitable twin of `Interactions.create`; returns an `AsyncStream` with stream=True."""
        body, auto = self._split(params, stream, accumulator)
        response = await self._client.send(self._create_spec(body, params))
        if body.get("stream"):
            hops = self._stream_hops(body, params) if auto else None
            return AsyncStream(response, hops, accumulator=accumulator)
        hop_bodies = [parse_json(response)]
        sent = body.get("continuation_token")
        while auto and (following := _continuation.next_hop_body(body, hop_bodies[-1], sent)):
            sent = following["continuation_token"]
            next_response = await self._client.send(self._create_spec(following, params))
            hop_bodies.append(parse_json(next_response))
        return self._merge(hop_bodies, response)

    def _stream_hops(self, body: dict[str, Any], params: CreateParams) -> AsyncNextHop:
        sent: list[str | None] = [body.get("continuation_token")]

        async def next_hop(final: dict[str, Any]) -> httpx.Response | None:
            following = _continuation.next_hop_body(body, final, sent[-1])
            if following is None:
                return None
            sent.append(following["continuation_token"])
            return await self._client.send(self._create_spec(following, params))

        return next_hop

    @overload
    async def get(
        self,
        id: str,
        *,
        stream: Literal[False] = False,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 (SDK surface)
    ) -> Interaction: ...
    @overload
    async def get(
        self,
        id: str,
        *,
        stream: Literal[True],
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 (SDK surface)
        accumulator: Accumulator | None = None,
    ) -> AsyncStream: ...
    @overload
    async def get(
        self,
        id: str,
        *,
        stream: bool,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 (SDK surface)
        accumulator: Accumulator | None = None,
    ) -> Interaction | AsyncStream: ...
    async def get(
        self,
        id: str,
        *,
        stream: bool = False,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 (SDK surface)
        accumulator: Accumulator | None = None,
    ) -> Interaction | AsyncStream:
        response = await self._client.send(
            self._get_spec(id, stream, last_event_id, include_input, timeout, accumulator)
        )
        if stream:
            return AsyncStream(response, accumulator=accumulator)
        return parse_interaction(parse_json(response), response)

    async def cancel(self, id: str) -> Interaction:
        response = await self._client.send(self._cancel_spec(id))
        return parse_interaction(parse_json(response), response)

    async def delete(self, id: str) -> None:
        await self._client.send(self._delete_spec(id))

    async def wait(
        self,
        id: str,
        *,
        poll_interval: float = 1.0,
        max_interval: float = 10.0,
        timeout: float | None = None,  # noqa: ASYNC109 (SDK surface)
    ) -> Interaction:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            interaction = await self.get(id)
            if interaction.status not in RUNNING_STATUSES:
                return interaction
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                raise TimeoutError(f"interaction {id} still {interaction.status} after {timeout}s")
            await asyncio.sleep(poll_interval)
            poll_interval = next_poll(poll_interval, max_interval)
