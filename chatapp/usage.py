"""Usage per user per UTC day: messages sent and tokens spent, never what was written.

Read off the turns themselves: a message counts on the day its turn was created, tokens (the
`usage` the relay writes on a turn when it finishes) on the day the answer finished, so that
retrying an old answer counts today. Turns this server never ran are left out: an imported
turn has no `worker`, and its `usage` is only the import file's word.

What the turns would forget is kept in `ArchivedUsage`: the usage of a conversation deleted by
its owner (a `pre_delete` receiver below) and of an answer about to be replaced by a retry
(`retire`, called by the turns service). Deleting a whole account takes its usage with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from .models import ArchivedUsage, Conversation, Turn

DAYS = 30
# Turns that went upstream from this server (imported turns have no worker).
RAN_HERE = ~Q(worker="")
TOKEN_FIELDS = {
    "input_tokens": "total_input_tokens",
    "output_tokens": "total_output_tokens",
    "total_tokens": "total_tokens",
}


def _tokens(key: str) -> Any:
    """The sum of one integer of the turns' `usage` JSON (SQLite and PostgreSQL alike)."""
    return Coalesce(Sum(Cast(KT(f"usage__{key}"), BigIntegerField())), 0)


def start_of_day(moment: datetime | None = None) -> datetime:
    """Midnight UTC of the day of `moment` (now by default)."""
    moment = (moment or timezone.now()).astimezone(UTC)
    return datetime.combine(moment.date(), time.min, tzinfo=UTC)


# --- what the limits read ---


def tokens_today_query(user_id: int) -> tuple[QuerySet[Turn], QuerySet[ArchivedUsage]]:
    """The two queries whose sums are a user's tokens today (turns, then archived usage)."""
    midnight = start_of_day()
    turns = Turn.objects.filter(RAN_HERE, conversation__owner_id=user_id, finished__gte=midnight)
    archived = ArchivedUsage.objects.filter(user_id=user_id, day=midnight.date())
    return turns, archived


def tokens_today(user_id: int) -> int:
    turns, archived = tokens_today_query(user_id)
    live = turns.aggregate(total=_tokens("total_tokens"))
    kept = archived.aggregate(total=Coalesce(Sum("total_tokens"), 0))
    return int(live["total"]) + int(kept["total"])


def messages_last_minute(user_id: int) -> int:
    """What the messages-per-minute limit counts (chatapp.limits.check)."""
    since = timezone.now() - timedelta(seconds=60)
    return Turn.objects.filter(RAN_HERE, conversation__owner_id=user_id, created__gt=since).count()


# --- the admin page ---


@dataclass
class Row:
    day: date
    user_id: int
    username: str = ""
    messages: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass
class Report:
    days: list[date]
    rows: list[Row]  # newest day first, then by username
    totals: dict[date, int] = field(default_factory=dict)  # total tokens per day, all users


def report(days: int = DAYS, today: date | None = None, user_id: int | None = None) -> Report:
    """Per user per day for the last `days` days (today included): aggregates only; one
    person's when `user_id` is given."""
    from django.contrib.auth import get_user_model

    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    rows: dict[tuple[date, int], Row] = {}

    def row(day: date, user_id: int) -> Row:
        return rows.setdefault((day, user_id), Row(day=day, user_id=user_id))

    turns = Turn.objects.filter(RAN_HERE)
    archived = ArchivedUsage.objects.filter(day__gte=first)
    if user_id is not None:
        turns = turns.filter(conversation__owner_id=user_id)
        archived = archived.filter(user_id=user_id)
    sent = (
        turns.filter(created__gte=since)
        .values(day=TruncDate("created", tzinfo=UTC), owner=F("conversation__owner_id"))
        .annotate(messages=Count("pk"))
        .order_by()
    )
    for item in sent:
        row(item["day"], item["owner"]).messages += item["messages"]
    spent = (
        turns.filter(finished__gte=since)
        .values(day=TruncDate("finished", tzinfo=UTC), owner=F("conversation__owner_id"))
        .annotate(**{name: _tokens(key) for name, key in TOKEN_FIELDS.items()})
        .order_by()
    )
    for item in spent:
        _add(row(item["day"], item["owner"]), item)
    for kept in archived:
        target = row(kept.day, kept.user_id)
        target.messages += kept.messages
        _add(target, {name: getattr(kept, name) for name in TOKEN_FIELDS})
    names = dict(
        get_user_model()
        .objects.filter(pk__in={r.user_id for r in rows.values()})
        .values_list("pk", "username")
    )
    totals = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0)
    for r in rows.values():
        r.username = names.get(r.user_id, f"user {r.user_id}")
        if r.day in totals:
            totals[r.day] += r.total_tokens
    ordered = sorted(rows.values(), key=lambda r: (-r.day.toordinal(), r.username))
    return Report(days=list(totals), rows=ordered, totals=totals)


def _add(target: Row, amounts: dict[str, Any]) -> None:
    for name in TOKEN_FIELDS:
        setattr(target, name, getattr(target, name) + int(amounts.get(name) or 0))


# --- keeping what the turns forget ---


def _archive(user_id: int, day: date, amounts: dict[str, int]) -> None:
    if not any(amounts.values()):
        return
    with transaction.atomic():
        row, _ = ArchivedUsage.objects.get_or_create(user_id=user_id, day=day)
        ArchivedUsage.objects.filter(pk=row.pk).update(
            **{name: F(name) + value for name, value in amounts.items() if value}
        )


def retire(turn: Turn) -> None:
    """Keep the tokens of an answer a retry is about to replace (its message still counts)."""
    if not turn.worker or not isinstance(turn.usage, dict):
        return
    owner = Conversation.objects.filter(pk=turn.conversation_id).values_list("owner_id").first()
    if owner is not None:
        amounts = {name: _int(turn.usage.get(key)) for name, key in TOKEN_FIELDS.items()}
        day = (turn.finished or turn.created).astimezone(UTC).date()
        _archive(owner[0], day, amounts)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@receiver(pre_delete, sender=Conversation, dispatch_uid="chatapp.usage.archive_conversation")
def archive_conversation(
    sender: Any, instance: Conversation, origin: Any = None, **kwargs: Any
) -> None:
    """A conversation deleted on its own (not with its owner's account) keeps its usage."""
    origin_model = origin.model if isinstance(origin, QuerySet) else type(origin)
    if origin_model is not Conversation:
        return
    turns = Turn.objects.filter(RAN_HERE, conversation=instance)
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    sent = turns.values(day=TruncDate("created", tzinfo=UTC)).annotate(n=Count("pk")).order_by()
    for item in sent:
        per_day[item["day"]]["messages"] = item["n"]
    spent = (
        turns.filter(finished__isnull=False)
        .values(day=TruncDate("finished", tzinfo=UTC))
        .annotate(**{name: _tokens(key) for name, key in TOKEN_FIELDS.items()})
        .order_by()
    )
    for item in spent:
        for name in TOKEN_FIELDS:
            per_day[item["day"]][name] += max(int(item[name]), 0)
    for day, amounts in per_day.items():
        _archive(instance.owner_id, day, amounts)
