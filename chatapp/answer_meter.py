"""What one answer used: its tokens by kind and its cost, from the API's `usage` totals and
the catalogue's prices (the admins' table at /team/prices wins), shown under the answer."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.formats import number_format

from . import catalogue

SMALLEST = Decimal("0.0001")


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and value > 0 else 0


def dollars(amount: Decimal) -> str:
    """A cost readable at a glance: cents for real money, four decimals for fractions of one."""
    if amount == 0:
        return "$0"
    if amount < SMALLEST:
        return "< $" + number_format(SMALLEST, 4)
    places = 2 if amount >= 1 else 4
    # number_format cuts digits off: round first.
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return "$" + number_format(rounded, places)


def meter(model_id: str, usage: Any) -> dict[str, Any] | None:
    """Tokens in, out, of thinking and cached, what the answer filled of the context window
    (its input and output: what the next message carries), and its cost ("" when unknown)."""
    if not isinstance(usage, dict) or not usage:
        return None
    counts = {
        "input": _count(usage, "total_input_tokens"),
        "output": _count(usage, "total_output_tokens"),
        "thinking": _count(usage, "total_thought_tokens"),
        "cached": _count(usage, "total_cached_tokens"),
    }
    cost = catalogue.cost(model_id, usage)
    return {
        **counts,
        "context": counts["input"] + counts["output"],
        "cost": "" if cost is None else dollars(cost),
    }
