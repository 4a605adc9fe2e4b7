"""The models people can pick: human names, one-line descriptions, context windows and prices.

`settings.CHAT_MODELS` says which ids this deployment offers (by kind); the JSON file
`settings.CHAT_CATALOGUE_FILE` (chatapp/catalogue.json by default) describes known ids. An
offered id missing from the catalogue still works: its name is its id, and it has no known
context window or price.

Prices are US dollars per million tokens, a starting point that admins replace with the team's
own table (see `price_overrides`). Thinking tokens are billed
as output, cached input at the cached rate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

MILLION = Decimal(1_000_000)
KINDS = ("text", "image", "agent")
_KIND_OF_GROUP = {"Text": "text", "Images": "image", "Agents": "agent"}


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    description: str
    kind: str  # one of KINDS
    context_window: int | None  # input tokens
    price: Price | None


def _price(entry: Mapping[str, Any]) -> Price | None:
    if "input_price" not in entry or "output_price" not in entry:
        return None
    return Price(
        input=Decimal(str(entry["input_price"])),
        output=Decimal(str(entry["output_price"])),
        cached_input=Decimal(str(entry.get("cached_input_price", entry["input_price"]))),
    )


@cache
def _entries(path: str) -> dict[str, dict[str, Any]]:
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    return {model_id: entry for model_id, entry in entries.items() if not model_id.startswith("_")}


# Who else may supply prices (the admins' price table, set by the module that keeps it).
price_overrides: Callable[[], Mapping[str, Price]] = dict


def info(model_id: str) -> ModelInfo:
    """What the catalogue knows of `model_id` (a bare record for an unknown id)."""
    entry = _entries(settings.CHAT_CATALOGUE_FILE).get(model_id, {})
    kind = next(
        (_KIND_OF_GROUP[group] for group, ids in settings.CHAT_MODELS.items() if model_id in ids),
        entry.get("kind", "text"),
    )
    return ModelInfo(
        id=model_id,
        name=entry.get("name", model_id),
        description=entry.get("description", ""),
        kind=kind,
        context_window=entry.get("context_window"),
        price=price_overrides().get(model_id) or _price(entry),
    )


def name(model_id: str) -> str:
    """The human name of `model_id` (the id itself when the catalogue doesn't know it)."""
    return str(_entries(settings.CHAT_CATALOGUE_FILE).get(model_id, {}).get("name", model_id))


def default_price(model_id: str) -> Price | None:
    """The catalogue file's price of `model_id`, whatever the admins' table says."""
    return _price(_entries(settings.CHAT_CATALOGUE_FILE).get(model_id, {}))


def offered() -> dict[str, list[ModelInfo]]:
    """The models this deployment offers, by kind, in the order settings list them."""
    return {
        _KIND_OF_GROUP[group]: [info(model_id) for model_id in ids]
        for group, ids in settings.CHAT_MODELS.items()
    }


def is_offered(model_id: str) -> bool:
    return any(model_id in ids for ids in settings.CHAT_MODELS.values())


def cost(model_id: str, usage: Mapping[str, Any] | None) -> Decimal | None:
    """The dollars an answer's `usage` (the API's totals) cost, or None with no known price."""
    price = info(model_id).price
    if price is None or not usage:
        return None
    cached = int(usage.get("total_cached_tokens") or 0)
    fresh_input = max(int(usage.get("total_input_tokens") or 0) - cached, 0)
    output = int(usage.get("total_output_tokens") or 0) + int(
        usage.get("total_thought_tokens") or 0
    )
    dollars = fresh_input * price.input + cached * price.cached_input + output * price.output
    return dollars / MILLION
