"""The numbers of the usage bar chart (tokens per day); the SVG is drawn by
templates/admin/_usage_chart.html on the server: no script, no library."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.translation import ngettext, pgettext


def _number(value: int | Decimal, money: bool) -> str:
    """A figure in the page's language: grouped digits, and dollars with two decimals."""
    if money:
        return "$" + str(formats.number_format(value, 2, force_grouping=True))
    return str(formats.number_format(value, force_grouping=True))


def _amount(value: int | Decimal, money: bool) -> str:
    if money:
        return _number(value, money)
    return str(ngettext("%(n)s token", "%(n)s tokens", int(value)) % {"n": _number(value, money)})


def bar_chart(
    totals: Mapping[date, int | Decimal],
    width: int = 720,
    height: int = 220,
    money: bool = False,
    label: str = "",
) -> dict[str, Any]:
    """The numbers of a bar chart of tokens (or dollars, `money`) per day; the SVG is drawn
    by templates/admin/_usage_chart.html (on the server: no script, no library)."""
    left, bottom, top = 64, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(totals.values(), default=0) or 1
    step = plot_w / max(len(totals), 1)
    bars = []
    for index, (day, value) in enumerate(totals.items()):
        bar_h = round(plot_h * float(value) / float(peak), 1)
        bars.append(
            {
                "x": round(left + index * step + step * 0.15, 1),
                "y": round(top + plot_h - bar_h, 1),
                "width": round(step * 0.7, 1),
                "height": bar_h,
                "title": f"{_short(day)}: {_amount(value, money)}",
            }
        )
    every = max(5, math.ceil(len(totals) * 60 / plot_w))  # a date per 60 px at most
    labels = [
        {"x": round(left + index * step + step / 2, 1), "y": height - 8, "text": _short(day)}
        for index, day in enumerate(totals)
        if index % every == 0 or index == len(totals) - 1
    ]
    return {
        "width": width,
        "height": height,
        "days": len(totals),
        "left": left,
        "right": width - 8,
        "base": top + plot_h,
        "scale_x": left - 6,
        "scale_y": top + 10,
        # The top of the scale.
        "peak": _number(peak, money) if any(totals.values()) else "",
        "label": label,
        "bars": bars,
        "labels": labels,
    }


def _short(day: date) -> str:
    # Translators: a day on the usage chart's axis, in Django's date format ("M j" is "Dec 4").
    return str(formats.date_format(day, pgettext("chart day", "M j")))
