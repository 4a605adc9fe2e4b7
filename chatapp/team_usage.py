"""Usage of the whole team over a period, by person, by model and by day, with its cost.

Summed in the database: per (person, model) and per (day, model), never turn by turn. The
cost of a group of turns of one model is the cost of their summed usage (the price is linear
in tokens), from `catalogue.cost`, so the admins' price table applies. Tokens count on the
day an answer finished, messages on the day they were sent (as in `chatapp.usage`). What
`ArchivedUsage` keeps (deleted conversations, replaced answers) has no model: it shows as
tokens without a cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import BigIntegerField, Count, F, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils.translation import gettext

from . import catalogue
from .models import ArchivedUsage, Turn
from .usage import RAN_HERE

# Our names -> the keys of a turn's `usage` JSON that `catalogue.cost` reads.
USAGE_KEYS = {
    "input_tokens": "total_input_tokens",
    "output_tokens": "total_output_tokens",
    "cached_tokens": "total_cached_tokens",
    "thought_tokens": "total_thought_tokens",
    "total_tokens": "total_tokens",
}
ARCHIVED = ""  # the "model" of archived usage


def _sum(key: str) -> Any:
    return Coalesce(Sum(Cast(KT(f"usage__{key}"), BigIntegerField())), 0)


@dataclass
class Line:
    """One row of a table: a person's or a model's usage in the period."""

    key: Any  # user id, or model id
    label: str
    messages: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced_tokens: int = 0  # tokens of models without a price, and archived usage
    person: str = ""  # in `pairs`: whose usage of the model `key[1]` this is

    def add(self, amounts: dict[str, int], cost: Decimal | None) -> None:
        self.input_tokens += amounts["input_tokens"]
        self.output_tokens += amounts["output_tokens"]
        self.total_tokens += amounts["total_tokens"]
        if cost is None:
            self.unpriced_tokens += amounts["total_tokens"]
        else:
            self.cost += cost


@dataclass
class TeamReport:
    first: date
    last: date
    people: list[Line]
    models: list[Line]
    total: Line
    tokens_per_day: dict[date, int] = field(default_factory=dict)
    cost_per_day: dict[date, Decimal] = field(default_factory=dict)
    pairs: list[Line] = field(default_factory=list)  # by person and model (the CSV file)


def _cost(model: str, amounts: dict[str, int]) -> Decimal | None:
    if model == ARCHIVED:
        return None
    return catalogue.cost(model, {USAGE_KEYS[name]: value for name, value in amounts.items()})


def _amounts(item: dict[str, Any]) -> dict[str, int]:
    return {name: max(int(item.get(name) or 0), 0) for name in USAGE_KEYS}


class _Tally:
    """The lines one (person, model) group of turns adds to: the person's, the model's,
    the pair's and the total."""

    def __init__(self) -> None:
        self.people: dict[int, Line] = {}
        self.models: dict[str, Line] = {}
        self.pairs: dict[tuple[int, str], Line] = {}
        self.total = Line(key=None, label=gettext("Total"))

    def lines(self, user_id: int, model_id: str) -> tuple[Line, ...]:
        return (
            self.people.setdefault(user_id, Line(key=user_id, label="")),
            self.models.setdefault(model_id, Line(key=model_id, label="")),
            self.pairs.setdefault((user_id, model_id), Line(key=(user_id, model_id), label="")),
            self.total,
        )

    def name(self) -> None:
        """Usernames and model names on the lines, in one query."""
        users = get_user_model().objects.filter(pk__in=self.people.keys())
        names = dict(users.values_list("pk", "username"))
        for user_id, line in self.people.items():
            line.label = names.get(user_id, f"user {user_id}")
        for model_id, line in self.models.items():
            line.label = (
                gettext("Deleted conversations and replaced answers")
                if model_id == ARCHIVED
                else catalogue.info(model_id).name
            )
        for (user_id, model_id), line in self.pairs.items():
            line.person, line.label = self.people[user_id].label, self.models[model_id].label


def _biggest_first(line: Line) -> tuple[int, str]:
    return -line.total_tokens, line.label


def report(first: date, last: date, user_id: int | None = None) -> TeamReport:
    """Everyone's usage from `first` to `last` (UTC days, both included); one person's when
    `user_id` is given."""
    since = datetime.combine(first, time.min, tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    tally = _Tally()
    ran = Turn.objects.filter(RAN_HERE)
    archived_rows = ArchivedUsage.objects.filter(day__gte=first, day__lte=last)
    if user_id is not None:
        ran = ran.filter(conversation__owner_id=user_id)
        archived_rows = archived_rows.filter(user_id=user_id)
    spent = ran.filter(finished__gte=since, finished__lt=until)
    sums = {name: _sum(key) for name, key in USAGE_KEYS.items()}
    by_person_model = (
        spent.values("model", owner=F("conversation__owner_id")).annotate(**sums).order_by()
    )
    for item in by_person_model:
        amounts = _amounts(item)
        cost = _cost(item["model"], amounts)
        for line in tally.lines(item["owner"], item["model"]):
            line.add(amounts, cost)
    sent = (
        ran.filter(created__gte=since, created__lt=until)
        .values("model", owner=F("conversation__owner_id"))
        .annotate(n=Count("pk"))
        .order_by()
    )
    for item in sent:
        for line in tally.lines(item["owner"], item["model"]):
            line.messages += item["n"]
    archived = (
        archived_rows.values("user_id")
        .annotate(
            messages=Sum("messages"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            total_tokens=Sum("total_tokens"),
        )
        .order_by()
    )
    for item in archived:
        amounts = _amounts(item)
        for line in tally.lines(item["user_id"], ARCHIVED):
            line.messages += int(item["messages"] or 0)
            line.add(amounts, None)
    tally.name()
    tokens_per_day, cost_per_day = _per_day(spent, archived_rows, first, last)
    return TeamReport(
        first=first,
        last=last,
        people=sorted(tally.people.values(), key=_biggest_first),
        models=sorted(tally.models.values(), key=_biggest_first),
        total=tally.total,
        tokens_per_day=tokens_per_day,
        cost_per_day=cost_per_day,
        pairs=sorted(tally.pairs.values(), key=lambda line: (line.person, -line.total_tokens)),
    )


def _per_day(
    spent: Any, archived: Any, first: date, last: date
) -> tuple[dict[date, int], dict[date, Decimal]]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    tokens = dict.fromkeys(days, 0)
    costs = dict.fromkeys(days, Decimal(0))
    sums = {name: _sum(key) for name, key in USAGE_KEYS.items()}
    rows = spent.values("model", day=TruncDate("finished", tzinfo=UTC)).annotate(**sums)
    for item in rows.order_by():
        amounts = _amounts(item)
        tokens[item["day"]] = tokens.get(item["day"], 0) + amounts["total_tokens"]
        cost = _cost(item["model"], amounts)
        if cost is not None:
            costs[item["day"]] = costs.get(item["day"], Decimal(0)) + cost
    for kept in archived.values_list("day", "total_tokens"):
        tokens[kept[0]] = tokens.get(kept[0], 0) + kept[1]
    return tokens, costs


def period(query: dict[str, str], today: date, default_days: int = 30) -> tuple[date, date]:
    """The period a page asks for: `days` (a preset), or `from`/`to` (ISO dates); the last
    `default_days` days otherwise. At most a year, never past today, `from` before `to`."""
    days = query.get("days", "")
    if days.isascii() and days.isdigit() and 0 < int(days) <= 366:
        return today - timedelta(days=int(days) - 1), today
    try:
        last = min(date.fromisoformat(query.get("to") or today.isoformat()), today)
        first = date.fromisoformat(query["from"]) if query.get("from") else None
    except ValueError:
        first, last = None, today
    if first is None or first > last:
        first = last - timedelta(days=default_days - 1)
    return max(first, last - timedelta(days=365)), last
