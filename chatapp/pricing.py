"""The admins' price table as the catalogue sees it: `install()` points
`catalogue.price_overrides` at `overrides`, which reads `ModelPrice` rows through the cache
(shared by all workers with Redis); saving or deleting a price clears it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from . import catalogue
from .catalogue import Price
from .models import ModelPrice

CACHE_KEY = "pricing:overrides:v1"
# A safety net only: every change clears the key at once.
CACHE_SECONDS = 3600


def overrides() -> Mapping[str, Price]:
    """Model id -> the admins' price, for every model that has one."""
    cached: dict[str, Price] | None = cache.get(CACHE_KEY)
    if cached is None:
        cached = {
            row.model: Price(input=row.input, output=row.output, cached_input=row.cached_input)
            for row in ModelPrice.objects.all()
        }
        cache.set(CACHE_KEY, cached, CACHE_SECONDS)
    return cached


def _forget(sender: Any, **kwargs: Any) -> None:
    cache.delete(CACHE_KEY)


def install() -> None:
    catalogue.price_overrides = overrides
    post_save.connect(_forget, sender=ModelPrice, dispatch_uid="chatapp.pricing.saved")
    post_delete.connect(_forget, sender=ModelPrice, dispatch_uid="chatapp.pricing.deleted")
