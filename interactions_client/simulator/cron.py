"""Standard five-field cron schedules (minute hour day-of-month month day-of-week) in a
time zone: parsing, and the next run time after a moment.

Fields take ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, and comma lists;
day-of-week 0 and 7 are Sunday. When both day fields are restricted, a day matches either
(cron's rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import bad_request

_LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
_NAMES = ["minute", "hour", "day of month", "month", "day of week"]


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7
        in_days, in_weekdays = moment.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return in_days and in_weekdays
        return in_days or in_weekdays


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _LIMITS[index]
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(part)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = int(first), int(last)
        else:
            start = end = int(base)
            if step is not None:
                end = high
        if not low <= start <= end <= high:
            raise ValueError(part)
        values.update(range(start, end + 1, step or 1))
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


def parse(schedule: str) -> Cron:
    parts = schedule.split()
    if len(parts) != 5:
        raise bad_request(f"schedule {schedule!r} is not a five-field cron expression.")
    fields = []
    for index, text in enumerate(parts):
        try:
            fields.append(_field(text, index))
        except ValueError:
            raise bad_request(
                f"schedule {schedule!r}: invalid {_NAMES[index]} field {text!r}."
            ) from None
    minutes, hours, days, months, weekdays = fields
    any_day, any_weekday = parts[2] == "*", parts[4] == "*"
    return Cron(minutes, hours, days, months, weekdays, any_day, any_weekday)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"time_zone {name!r} is not an IANA time zone.") from None


def next_run(cron: Cron, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first matching minute strictly after ``after`` (aware), in UTC; None within 5 years."""
    moment = after.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = moment + timedelta(days=366 * 5)
    while moment < end:
        if moment.month not in cron.months or not cron.day_matches(moment):
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if moment.hour not in cron.hours:
            moment = (moment + timedelta(hours=1)).replace(minute=0)
            continue
        if moment.minute in cron.minutes:
            return moment.astimezone(ZoneInfo("UTC"))
        moment += timedelta(minutes=1)
    return None
