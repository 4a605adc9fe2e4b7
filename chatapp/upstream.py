"""The one place that builds the upstream client: Google's API when a key is set, else the
offline simulator served in this process (so `make run` needs one process and no port)."""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache

import httpx
from django.conf import settings

from interactions_client import AsyncClient

from .tracing import TracedTransport


@lru_cache(maxsize=1)
def _simulator_app():  # type: ignore[no-untyped-def]
    from interactions_client.simulator import SimulatorConfig, create_app

    return create_app(
        SimulatorConfig(
            tokens_per_second=settings.SIMULATOR_TOKENS_PER_SECOND or None,
            # A long-running dev server must not keep every request body it ever saw.
            max_recorded_requests=0,
        )
    )


def _timeout() -> httpx.Timeout:
    # The read timeout bounds silence between two stream events, not the whole answer.
    return httpx.Timeout(settings.UPSTREAM_READ_TIMEOUT_SECONDS, connect=10.0)


def make_clients() -> list[AsyncClient]:
    """The clients of one event loop: several small connection pools, not one big one.

    httpx's default pool silently caps a worker at 100 concurrent streams, and its
    bookkeeping grows with the square of the open connections (27 % of the CPU at 500
    streams), so turns are spread over `UPSTREAM_POOLS` pools of `UPSTREAM_POOL_CONNECTIONS`.
    """
    if settings.USE_SIMULATOR:
        return [make_client()]
    return [make_client() for _ in range(max(1, settings.UPSTREAM_POOLS))]


def make_client() -> AsyncClient:
    if not settings.USE_SIMULATOR:
        size = settings.UPSTREAM_POOL_CONNECTIONS
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        http = httpx.AsyncClient(
            timeout=_timeout(),
            transport=TracedTransport(httpx.AsyncHTTPTransport(limits=limits)),
        )
        return AsyncClient(
            api_key=settings.GEMINI_API_KEY,
            base_url=settings.GEMINI_BASE_URL or None,
            api_version=settings.GEMINI_API_VERSION,
            timeout=_timeout(),
            max_retries=settings.UPSTREAM_MAX_RETRIES,
            http_client=http,
        )
    from interactions_client.asgi_transport import StreamingASGITransport

    return AsyncClient(
        api_key="simulator",
        base_url="http://simulator.invalid",
        api_version=settings.GEMINI_API_VERSION,
        timeout=_timeout(),
        max_retries=settings.UPSTREAM_MAX_RETRIES,
        transport=TracedTransport(StreamingASGITransport(_simulator_app())),
    )


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def client(key: int = 0) -> AsyncClient:
    """An upstream client of this event loop (a pool belongs to one loop); turns are spread
    over the pools by `key` (the turn id)."""
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = make_clients()
    pool = _clients[loop]
    return pool[key % len(pool)]
