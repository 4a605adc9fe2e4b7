"""My usage: a person's own messages and tokens per day, and what their limits leave them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import languages, limit_rules, usage, usage_chart


@login_required
def my_usage(request: HttpRequest) -> HttpResponse:
    data = usage.report(user_id=request.user.pk)
    applied = limit_rules.effective([request.user.pk])[request.user.pk]
    per_minute, per_day = applied.messages_per_minute, applied.tokens_per_day
    today = usage.tokens_today(request.user.pk)
    this_minute = usage.messages_last_minute(request.user.pk) if per_minute else 0
    context = {
        "report": data,
        "chart": usage_chart.bar_chart(data.totals),
        "days": usage.DAYS,
        "applied": applied,  # where the limits come from
        "per_minute": per_minute,
        "left_this_minute": max(per_minute - this_minute, 0) if per_minute else None,
        "per_day": per_day,
        "today": today,
        "left_today": None if per_day is None else max(per_day - today, 0),
        "used_share": None if not per_day else min(100, round(100 * today / per_day)),
        "chosen_language": languages.preferred(request.user.pk) or "",  # "" follows the browser
        "totals": {
            "messages": sum(r.messages for r in data.rows),
            "tokens": sum(r.total_tokens for r in data.rows),
        },
    }
    return render(request, "usage.html", context)
