"""Database writes that outlive a PostgreSQL restart.

A generation keeps streaming while the database is away; its writes wait and try again.
After a failure the connection of the database thread is dropped (Django only does that
between requests, and a generation is not one), and the pool hands out a checked one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRYABLE = (OperationalError, InterfaceError)


async def forget_broken_connections() -> None:
    """Drop the database thread's connection if an error made it unusable."""
    await sync_to_async(close_old_connections)()


async def with_retries(write: Callable[[], Awaitable[T]], what: str) -> T:
    """`write()`, again and again while the database is unreachable, for up to
    CHAT_DB_RETRY_SECONDS; then its error."""
    deadline = time.monotonic() + settings.CHAT_DB_RETRY_SECONDS
    failures = 0
    while True:
        try:
            return await write()
        except RETRYABLE as exc:
            failures += 1
            await forget_broken_connections()
            if time.monotonic() >= deadline:
                raise
            if failures == 1 or failures % 20 == 0:
                log.warning("%s failed (%s times), trying again: %s", what, failures, exc)
            await asyncio.sleep(min(2.0, 0.1 * 2**failures))


async def every(
    interval: float, work: Callable[[], Awaitable[object]], what: str, wake: asyncio.Event
) -> None:
    """A worker's background pass (`work`), for ever: every `interval` seconds, or at once
    when `wake` is set. A failed pass (a database or API hiccup) is logged, its broken
    connection dropped, and the loop goes on."""
    while True:
        try:
            await work()
        except Exception as exc:
            log.warning("%s pass failed: %s", what, exc)
            await forget_broken_connections()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)
        wake.clear()
