"""Backing off in the background loops (stream writer and reader, worker listener)."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def pause_after_failure(failures: int, what: str) -> None:
    """Back off after the n-th failure in a row of a background loop (Redis away, say),
    logging the first and every hundredth instead of thousands of lines a second."""
    if failures == 1 or failures % 100 == 0:
        log.warning("%s failed (%s times)", what, failures, exc_info=True)
    await asyncio.sleep(min(5.0, 0.1 * 2 ** min(failures, 6)))
