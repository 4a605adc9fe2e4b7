"""`Client` and `AsyncClient`: configuration, HTTP with retries, and the interactions resource.

Configuration, headers, request building and response parsing live in shared bases; the sync
and async twins only do I/O and keep their methods in the same order so drift shows in a diff.
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Mapping
from typing import Any, TypedDict

import httpx
from typing_extensions import Unpack

from . import _continuation
from ._errors import MissingAPIKeyError, from_transport_error, make_status_error
from ._request import (
    NOT_GIVEN,
    RequestSpec,
    bool_param,
    create_body,
    parse_interaction,
    parse_json,
)
from ._retry import DEFAULT_MAX_RETRIES, retry_delay, should_retry_exception, should_retry_status
from ._streaming import AsyncStream, Stream
from ._version import API_REVISION, __version__
from .types import Interaction
from .types.interaction import TERMINAL_STATUSES

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1"
# A short connect timeout; the read timeout bounds silence between stream events.
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
RUNNING_STATUSES = frozenset({"queued", "in_progress"})


class CreateParams(TypedDict, total=False):
    """Keyword arguments of `interactions.create`; see the API reference for each field."""

    model: str
    agent: str
    input: Any
    previous_interaction_id: str
    store: bool
    stream: bool
    background: bool
    tools: Any
    tool_choice: Any
    response_format: Any
    response_mime_type: str
    response_modalities: list[str]
    generation_config: Any
    system_instruction: str
    safety_settings: Any
    service_tier: str
    webhook_config: Any
    environment: Any
    agent_config: Any
    continuation_token: str
    cached_content: str
    labels: dict[str, str]
    # Client options, not sent as such.
    automatic_continuation: bool | None
    extra_body: Mapping[str, Any] | None
    extra_headers: Mapping[str, str] | None
    timeout: float | httpx.Timeout | None


class _BaseClient:
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        api_version: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        self.api_key = api_key if api_key is not None else os.environ.get("GEMINI_API_KEY")
        self.base_url = (
            base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.api_version = api_version.strip("/")
        self.timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})

    @property
    def user_agent(self) -> str:
        return (
            f"gemini-team-chat-interactions-client/{__version__} "
            f"httpx/{httpx.__version__} python/{platform.python_version()}"
        )

    def _request_kwargs(self, spec: RequestSpec) -> dict[str, Any]:
        if not self.api_key:
            raise MissingAPIKeyError(
                "No Gemini API key: pass Client(api_key=...) or set GEMINI_API_KEY."
            )
        headers = {
            "x-goog-api-key": self.api_key,
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if spec.stream else "application/json",
            "Api-Revision": API_REVISION,
            "User-Agent": self.user_agent,
            **self.default_headers,
            **spec.headers,
        }
        kwargs: dict[str, Any] = {
            "method": spec.method,
            "url": f"{self.base_url}/{self.api_version}/{spec.path}",
            "headers": headers,
            "params": spec.params,
            "json": spec.json,
        }
        if spec.timeout is not None:
            kwargs["timeout"] = spec.timeout
        return kwargs


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
    def _split(params: CreateParams) -> tuple[dict[str, Any], bool]:
        options = {"automatic_continuation", "extra_body", "extra_headers", "timeout"}
        fields = {k: v for k, v in params.items() if k not in options}
        body = create_body(fields, params.get("extra_body"))
        return body, _continuation.enabled(body, params.get("automatic_continuation"))

    @staticmethod
    def _get_spec(
        interaction_id: str,
        stream: bool,
        last_event_id: str | None,
        include_input: bool | None,
        timeout: float | httpx.Timeout | None,
    ) -> RequestSpec:
        if last_event_id is not None and not stream:
            raise ValueError("last_event_id needs stream=True")
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


def _id(interaction_id: str) -> str:
    if not interaction_id or "/" in interaction_id:
        raise ValueError(f"not an interaction id: {interaction_id!r}")
    return interaction_id


def _next_poll(interval: float, max_interval: float) -> float:
    return min(interval * 1.5, max_interval)


class Interactions(_InteractionsBase):
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, **params: Unpack[CreateParams]) -> Any:
        """Create an interaction: an `Interaction`, or a `Stream` of events with stream=True.

        An answer that stops at `requires_continuation` is continued automatically (one
        interaction, or one stream, with every hop) unless automatic_continuation=False.
        """
        body, auto = self._split(params)
        response = self._client.send(self._create_spec(body, params))
        if body.get("stream"):
            return Stream(response, self._stream_hops(body, params) if auto else None)
        hops = [parse_json(response)]
        sent = body.get("continuation_token")
        while auto and (following := _continuation.next_hop_body(body, hops[-1], sent)):
            sent = following["continuation_token"]
            hops.append(parse_json(self._client.send(self._create_spec(following, params))))
        return self._merge(hops, response)

    def _stream_hops(self, body: dict[str, Any], params: CreateParams) -> Any:
        sent: list[str | None] = [body.get("continuation_token")]

        def next_hop(final: dict[str, Any]) -> httpx.Response | None:
            following = _continuation.next_hop_body(body, final, sent[-1])
            if following is None:
                return None
            sent.append(following["continuation_token"])
            return self._client.send(self._create_spec(following, params))

        return next_hop

    def get(
        self,
        id: str,
        *,
        stream: bool = False,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Any:
        """Fetch an interaction, or with stream=True re-attach to its events (after
        `last_event_id` when given)."""
        response = self._client.send(
            self._get_spec(id, stream, last_event_id, include_input, timeout)
        )
        if stream:
            return Stream(response)
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
                return interaction  # type: ignore[no-any-return]
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                raise TimeoutError(f"interaction {id} still {interaction.status} after {timeout}s")
            time.sleep(poll_interval)
            poll_interval = _next_poll(poll_interval, max_interval)


class AsyncInteractions(_InteractionsBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, **params: Unpack[CreateParams]) -> Any:
        """Awaitable twin of `Interactions.create`; returns an `AsyncStream` with stream=True."""
        body, auto = self._split(params)
        response = await self._client.send(self._create_spec(body, params))
        if body.get("stream"):
            return AsyncStream(response, self._stream_hops(body, params) if auto else None)
        hops = [parse_json(response)]
        sent = body.get("continuation_token")
        while auto and (following := _continuation.next_hop_body(body, hops[-1], sent)):
            sent = following["continuation_token"]
            next_response = await self._client.send(self._create_spec(following, params))
            hops.append(parse_json(next_response))
        return self._merge(hops, response)

    def _stream_hops(self, body: dict[str, Any], params: CreateParams) -> Any:
        sent: list[str | None] = [body.get("continuation_token")]

        async def next_hop(final: dict[str, Any]) -> httpx.Response | None:
            following = _continuation.next_hop_body(body, final, sent[-1])
            if following is None:
                return None
            sent.append(following["continuation_token"])
            return await self._client.send(self._create_spec(following, params))

        return next_hop

    async def get(
        self,
        id: str,
        *,
        stream: bool = False,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: float | httpx.Timeout | None = None,  # noqa: ASYNC109 (SDK surface)
    ) -> Any:
        response = await self._client.send(
            self._get_spec(id, stream, last_event_id, include_input, timeout)
        )
        if stream:
            return AsyncStream(response)
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
                return interaction  # type: ignore[no-any-return]
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                raise TimeoutError(f"interaction {id} still {interaction.status} after {timeout}s")
            await asyncio.sleep(poll_interval)
            poll_interval = _next_poll(poll_interval, max_interval)


class Client(_BaseClient):
    """The synchronous client: `Client().interactions.create(model=..., input=...)`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._http = http_client or httpx.Client(transport=transport, timeout=self.timeout)
        self.interactions = Interactions(self)

    def send(self, spec: RequestSpec) -> httpx.Response:
        """Send with retries; a streaming response comes back open, any other one read."""
        request = self._http.build_request(**self._request_kwargs(spec))
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=True)
                if not (spec.stream and response.is_success):
                    response.read()
            except httpx.TransportError as exc:
                if attempt < self.max_retries and should_retry_exception(
                    exc, idempotent=spec.idempotent
                ):
                    time.sleep(retry_delay(attempt))
                    attempt += 1
                    continue
                raise from_transport_error(exc) from exc
            if response.is_success:
                return response
            response.close()
            if attempt < self.max_retries and should_retry_status(response.status_code):
                time.sleep(retry_delay(attempt, response.headers))
                attempt += 1
                continue
            raise make_status_error(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient(_BaseClient):
    """The asynchronous client, same surface as `Client` with awaitable methods."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=self.timeout)
        self.interactions = AsyncInteractions(self)

    async def send(self, spec: RequestSpec) -> httpx.Response:
        request = self._http.build_request(**self._request_kwargs(spec))
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=True)
                if not (spec.stream and response.is_success):
                    await response.aread()
            except httpx.TransportError as exc:
                if attempt < self.max_retries and should_retry_exception(
                    exc, idempotent=spec.idempotent
                ):
                    await asyncio.sleep(retry_delay(attempt))
                    attempt += 1
                    continue
                raise from_transport_error(exc) from exc
            if response.is_success:
                return response
            await response.aclose()
            if attempt < self.max_retries and should_retry_status(response.status_code):
                await asyncio.sleep(retry_delay(attempt, response.headers))
                attempt += 1
                continue
            raise make_status_error(response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


__all__ = ["NOT_GIVEN", "AsyncClient", "Client", "CreateParams", "TERMINAL_STATUSES"]
