"""The interactions resource, `client.interactions`: create, get, cancel, delete, wait.

Request specs and result parsing live in the shared base; the sync and async twins only do
I/O and keep their methods in the same order so drift shows in a diff. The overloads give
`create`/`get` the type of what they return: a stream with `stream=True`, else an interaction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

import httpx
from typing_extensions import Unpack

from . import _continuation
from ._accumulate import Accumulator
from ._request import NOT_GIVEN, RequestSpec, bool_param, create_body, parse_interaction, parse_json
from ._streaming import AsyncNextHop, AsyncStream, NextHop, Stream
from .types import Interaction

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

RUNNING_STATUSES = frozenset({"queued", "in_progress"})


class CreateParams(TypedDict, total=False):
    """Keyword arguments of `interactions.create` besides `stream` and `accumulator`; see the
    API reference for each field. Open fields are `object`, not `Any`, so a call that unpacks
    a `CreateParams` still picks the right overload."""

    model: str
    agent: str
    input: object
    previous_interaction_id: str
    store: bool
    background: bool
    tools: object
    tool_choice: object
    response_format: object
    response_mime_type: str
    response_modalities: list[str]
    generation_config: object
    system_instruction: str
    safety_settings: object
    service_tier: str
    webhook_config: object
    environment: object
    agent_config: object
    continuation_token: str
    cached_content: str
    labels: dict[str, str]
    # Client options, not sent as such.
    automatic_continuation: bool | None
    extra_body: Mapping[str, object] | None
    extra_headers: Mapping[str, str] | None
    timeout: float | httpx.Timeout | None


class _InteractionsBase:
    """Request specs and result parsing for the interactions resource."""

    @staticmethod
    def _create_spec(body: dict[str, Any], params: CreateParams) -> RequestSpec:
        return RequestSpec(
            "POST",
            "interactions",
            json=body,
            stream=bool(body.get("stream")),
            # A create whose answer was lost may have created an interaction.
            idempotent=False,
            headers=dict(params.get("extra_headers") or {}),
            timeout=params.get("timeout"),
        )

    @staticmethod
    def _split(
        params: CreateParams, stream: bool, accumulator: Accumulator | None
    ) -> tuple[dict[str, Any], bool]:
        _stream_only(stream is True, accumulator=accumulator)
        options = {"automatic_continuation", "extra_body", "extra_headers", "timeout"}
        fields = {k: v for k, v in params.items() if k not in options}
        fields["stream"] = stream  # NOT_GIVEN (not sent) unless the caller passed it
        body = create_body(fields, params.get("extra_body"))
        return body, _continuation.enabled(body, params.get("automatic_continuation"))

    @staticmethod
    def _get_spec(
        interaction_id: str,
        stream: bool,
        last_event_id: str | None,
        include_input: bool | None,
        timeout: float | httpx.Timeout | None,
        accumulator: Accumulator | None,
    ) -> RequestSpec:
        _stream_only(stream, last_event_id=last_event_id, accumulator=accumulator)
        params: dict[str, Any] = {}
        if include_input is not None:
            params["include_input"] = bool_param(include_input)
        if last_event_id is not None:
            params["last_event_id"] = last_event_id
        params["stream"] = bool_param(stream)
        return RequestSpec(
            "GET",
            f"interactions/{_id(interaction_id)}",
            params=params,
            stream=stream,
            timeout=timeout,
        )

    @staticmethod
    def _cancel_spec(interaction_id: str) -> RequestSpec:
        return RequestSpec("POST", f"interactions/{_id(interaction_id)}/cancel")

    @staticmethod
    def _delete_spec(interaction_id: str) -> RequestSpec:
        return RequestSpec("DELETE", f"interactions/{_id(interaction_id)}")

    @staticmethod
    def _merge(hops: list[Any], response: httpx.Response | None) -> Interaction:
        interaction = parse_interaction(_continuation.merge_hops(hops), response)
        if len(hops) > 1:
            interaction._continuation_ids = [str(h.get("id")) for h in hops]
        return interaction


def _stream_only(stream: bool, **options: object) -> None:
    for name, value in options.items():
        if value is not None and not stream:
            raise ValueError(f"{name} needs stream=True")


def _id(interaction_id: str) -> str:
    if not interaction_id or "/" in interaction_id:
        raise ValueError(f"not an interaction id: {interaction_id!r}")
    return interaction_id


def _next_poll(interval: float, max_interval: float) -> float:
    return min(interval * 1.5, max_interval)


class Interactions(_InteractionsBase):
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
            poll_interval = _next_poll(poll_interval, max_interval)


class AsyncInteractions(_InteractionsBase):
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
            poll_interval = _next_poll(poll_interval, max_interval)
