"""The admins' price table as the catalogue sees it: `install()` points
`catalogue.price_overrides` at `overrides`, which reads `ModelPrice` rows through the cache
(shared by all workers with Redis); saving or deleting a price clears it.

The cache is a convenience: with Redis away, prices are read from the table (an answer's
final frame shows its cost, and must never be lost to a cache outage)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from . import catalogue
from .catalogue import Price
from .models import ModelPrice

log = logging.getLogger(__name__)

CACHE_KEY = "pricing:overrides:v1"
# A safety net only: every change clears the key at once.
CACHE_SECONDS = 3600


def _load() -> dict[str, Price]:
    return {
        row.model: Price(input=row.input, output=row.output, cached_input=row.cached_input)
        for row in ModelPrice.objects.all()
    }


def _load_in_a_thread() -> dict[str, Price]:
    try:
        return _load()
    finally:
        connection.close()  # this thread's own connection


def overrides() -> Mapping[str, Price]:
    """Model id -> the admins' price, for every model that has one."""
    try:
        cached: dict[str, Price] | None = cache.get(CACHE_KEY)
    except Exception:  # the shared cache (Redis) is away
        log.warning("price cache unavailable, reading the table", exc_info=True)
        return _load_here()
    if cached is None:
        cached = _load_here()
        try:
            cache.set(CACHE_KEY, cached, CACHE_SECONDS)
        except Exception:
            log.warning("price cache unavailable, not kept", exc_info=True)
    return cached


def _load_here() -> dict[str, Price]:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _load()
    # Called from async code (a consumer, the relay), where the ORM refuses to run: the one
    # query goes to a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_load_in_a_thread).result()


def _forget(sender: Any, **kwargs: Any) -> None:
    _delete()
    # Again once committed: a worker may have cached the old table in between.
    transaction.on_commit(_delete)


def _delete() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception:  # Redis away: it kept nothing new either; the key expires on its own
        log.warning("price cache unavailable, not cleared", exc_info=True)


def install() -> None:
    catalogue.price_overrides = overrides
    post_save.connect(_forget, sender=ModelPrice, dispatch_uid="chatapp.pricing.saved")
    post_delete.connect(_forget, sender=ModelPrice, dispatch_uid="chatapp.pricing.deleted")
