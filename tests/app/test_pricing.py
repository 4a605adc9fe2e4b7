"""The admins' price table when the shared cache (Redis) is away: prices still come from the
table, and saving one still works (an answer's final frame shows its cost; a cache outage must
never lose that frame, which tests/deploy/test_outages.py found)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chatapp import catalogue, pricing
from chatapp.models import ModelPrice

pytestmark = pytest.mark.django_db


class CacheAway:
    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

        return fail


def test_prices_are_read_from_the_table_while_the_cache_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ModelPrice.objects.create(model="gemini-3.5-flash", input=2, output=4, cached_input=1)
    monkeypatch.setattr(pricing, "cache", CacheAway())
    assert pricing.overrides()["gemini-3.5-flash"].output == Decimal(4)
    usage = {"total_input_tokens": 1_000_000, "total_output_tokens": 0}
    assert catalogue.cost("gemini-3.5-flash", usage) == Decimal(2)


def test_a_price_is_saved_and_removed_while_the_cache_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pricing, "cache", CacheAway())
    price = ModelPrice.objects.create(model="gemini-2.5-flash", input=1, output=1, cached_input=0)
    price.delete()
    assert "gemini-2.5-flash" not in pricing.overrides()
