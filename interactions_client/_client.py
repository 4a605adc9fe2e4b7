"""`Client` and `AsyncClient`: configuration and HTTP with retries.

Configuration, headers and request building live in the shared base; the sync and async twins
only do I/O and keep their methods in the same order so drift shows in a diff. The
resources they carry are in `_interactions.py`, `_files.py`, `_file_search_stores.py`,
`_triggers.py` and `_webhooks.py`.
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ._errors import MissingAPIKeyError, from_transport_error, make_status_error
from ._file_search_stores import AsyncFileSearchStores, FileSearchStores
from ._files import AsyncFiles, Files
from ._interactions import AsyncInteractions, CreateParams, Interactions
from ._request import NOT_GIVEN, RequestSpec
from ._retry import DEFAULT_MAX_RETRIES, retry_delay, should_retry_exception, should_retry_status
from ._triggers import AsyncTriggers, Triggers
from ._version import API_REVISION, __version__
from ._webhooks import AsyncWebhooks, Webhooks
from .types.interaction import TERMINAL_STATUSES

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1"
# A short connect timeout; the read timeout bounds silence between stream events.
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)


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
        prefix = "upload/" if spec.upload else ""
        kwargs: dict[str, Any] = {
            "method": spec.method,
            "url": spec.url or f"{self.base_url}/{prefix}{self.api_version}/{spec.path}",
            "headers": headers,
            "params": spec.params,
        }
        if spec.content is not None:
            kwargs["content"] = spec.content
        else:
            kwargs["json"] = spec.json
        if spec.timeout is not None:
            kwargs["timeout"] = spec.timeout
        return kwargs


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
        self.files = Files(self)
        self.file_search_stores = FileSearchStores(self)
        self.triggers = Triggers(self)
        self.webhooks = Webhooks(self)

    def send(self, spec: RequestSpec) -> httpx.Response:
        """Send with retries; a streaming response comes back open, any other one read."""
        request = self._http.build_request(**self._request_kwargs(spec))
        attempt = 0
        max_retries = self.max_retries if spec.retry else 0
        while True:
            try:
                response = self._http.send(request, stream=True)
                if not (spec.stream and response.is_success):
                    response.read()
            except httpx.TransportError as exc:
                if attempt < max_retries and should_retry_exception(
                    exc, idempotent=spec.idempotent
                ):
                    time.sleep(retry_delay(attempt))
                    attempt += 1
                    continue
                raise from_transport_error(exc) from exc
            if response.is_success:
                return response
            response.close()
            if attempt < max_retries and should_retry_status(response.status_code):
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
        self.files = AsyncFiles(self)
        self.file_search_stores = AsyncFileSearchStores(self)
        self.triggers = AsyncTriggers(self)
        self.webhooks = AsyncWebhooks(self)

    async def send(self, spec: RequestSpec) -> httpx.Response:
        request = self._http.build_request(**self._request_kwargs(spec))
        attempt = 0
        max_retries = self.max_retries if spec.retry else 0
        while True:
            try:
                response = await self._http.send(request, stream=True)
                if not (spec.stream and response.is_success):
                    await response.aread()
            except httpx.TransportError as exc:
                if attempt < max_retries and should_retry_exception(
                    exc, idempotent=spec.idempotent
                ):
                    await asyncio.sleep(retry_delay(attempt))
                    attempt += 1
                    continue
                raise from_transport_error(exc) from exc
            if response.is_success:
                return response
            await response.aclose()
            if attempt < max_retries and should_retry_status(response.status_code):
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
