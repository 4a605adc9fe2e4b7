"""Whose limits apply to a person: their own (`UserLimits`), else their groups'
(`GroupLimits`, the most generous of each limit across groups), else the server defaults.
None means no limit. Read in bulk, so a page of people costs two queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from .models import GroupLimits, UserLimits


@dataclass(frozen=True)
class Effective:
    messages_per_minute: int | None
    tokens_per_day: int | None
    source: str  # "own", "group" or "default"
    groups: tuple[str, ...] = ()  # the groups the limits come from


def _generous(values: list[int | None]) -> int | None:
    """No limit beats any limit; otherwise the highest."""
    return None if any(v is None for v in values) else max(v for v in values if v is not None)


def effective(user_ids: Iterable[int]) -> dict[int, Effective]:
    ids = set(user_ids)
    found: dict[int, Effective] = {}
    own = UserLimits.objects.filter(user_id__in=ids).values_list(
        "user_id", "messages_per_minute", "tokens_per_day"
    )
    for user_id, per_minute, per_day in own:
        found[user_id] = Effective(per_minute, per_day, "own")
    rest = ids - found.keys()
    by_user: dict[int, list[tuple[str, int | None, int | None]]] = {}
    if rest:
        rows = (
            GroupLimits.objects.filter(group__user__in=rest)
            .values_list("group__user", "group__name", "messages_per_minute", "tokens_per_day")
            .order_by("group__name")
        )
        for user_id, name, per_minute, per_day in rows:
            by_user.setdefault(user_id, []).append((name, per_minute, per_day))
    for user_id in rest:
        groups = by_user.get(user_id)
        if groups:
            found[user_id] = Effective(
                _generous([g[1] for g in groups]),
                _generous([g[2] for g in groups]),
                "group",
                tuple(g[0] for g in groups),
            )
        else:
            found[user_id] = Effective(
                settings.DEFAULT_MESSAGES_PER_MINUTE, settings.DEFAULT_TOKENS_PER_DAY, "default"
            )
    return found
