"""Triggers: agent interactions run on a cron schedule, and their executions.

Time is the simulator's clock: real time plus an offset that tests move forward
(``POST /_simulator/clock``), so a daily schedule fires without waiting a day. A trigger
whose run time has come fires once, even when several runs were missed (they coalesce);
a run that starts while the previous one is still going is ``skipped``. A run fails when its
interaction cannot start or ends ``failed``/``cancelled``, times out past
``execution_timeout_seconds``; after ``max_consecutive_failures`` failures in a row the
trigger turns to ``error`` and stops firing.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from . import cron
from .errors import ApiError, bad_request, not_found
from .inputs import JSON
from .store import Record
from .webhooks import rfc3339

STATUSES = frozenset({"active", "paused", "error"})


@dataclass
class Execution:
    id: str
    trigger_id: str
    scheduled: datetime
    started: datetime
    status: str = "in_progress"
    interaction_id: str | None = None
    environment_id: str | None = None
    ended: datetime | None = None
    error: str | None = None

    def view(self) -> JSON:
        out: JSON = {
            "id": self.id,
            "trigger_id": self.trigger_id,
            "status": self.status,
            "scheduled_time": rfc3339(self.scheduled),
            "start_time": rfc3339(self.started),
        }
        optional = {
            "interaction_id": self.interaction_id,
            "environment_id": self.environment_id,
            "error": self.error,
            "end_time": rfc3339(self.ended) if self.ended else None,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


@dataclass
class Trigger:
    id: str
    interaction: JSON
    schedule: str
    cron: cron.Cron
    time_zone: str
    tz: ZoneInfo
    created: datetime
    options: JSON  # display_name, environment_id, execution_timeout_seconds, max_…
    status: str = "active"
    updated: datetime | None = None
    next_run: datetime | None = None
    times: dict[str, datetime] = field(default_factory=dict)  # last_run/pause/resume
    failures: int = 0
    previous_interaction_id: str | None = None
    executions: list[Execution] = field(default_factory=list)

    def view(self) -> JSON:
        out: JSON = {
            "id": self.id,
            "interaction": self.interaction,
            "schedule": self.schedule,
            "time_zone": self.time_zone,
            "status": self.status,
            "consecutive_failure_count": self.failures,
            "create_time": rfc3339(self.created),
            "update_time": rfc3339(self.updated or self.created),
            **self.options,
        }
        if self.next_run is not None and self.status == "active":
            out["next_run_time"] = rfc3339(self.next_run)
        out.update({f"{k}_time": rfc3339(v) for k, v in self.times.items()})
        if self.previous_interaction_id:
            out["previous_interaction_id"] = self.previous_interaction_id
        return out


_OPTIONS = {
    "display_name": str,
    "environment_id": str,
    "execution_timeout_seconds": int,
    "max_consecutive_failures": int,
}


def _options(body: JSON) -> JSON:
    out: JSON = {}
    for key, kind in _OPTIONS.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise bad_request(f"trigger '{key}' must be of type {kind.__name__}.")
        if isinstance(value, int) and value < 1:
            raise bad_request(f"trigger '{key}' must be positive.")
        out[key] = value
    return out


@dataclass
class TriggerRegistry:
    """``launch(body)`` starts a background interaction and returns its record (raises
    ApiError when the body is refused); ``check(body)`` only validates it."""

    launch: Callable[[JSON], Record]
    check: Callable[[JSON], None]
    offset: float = 0.0  # seconds the simulated clock is ahead of real time
    triggers: dict[str, Trigger] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _ticker: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def create(self, body: JSON) -> JSON:
        interaction = body.get("interaction")
        if not isinstance(interaction, dict) or not interaction.get("agent"):
            raise bad_request("A trigger needs an 'interaction' that runs an 'agent'.")
        for key in ("schedule", "time_zone"):
            if not isinstance(body.get(key), str):
                raise bad_request(f"A trigger needs a '{key}'.")
        self.check(self._run_body(interaction))
        trigger = Trigger(
            id=secrets.token_hex(8),
            interaction=interaction,
            schedule=body["schedule"],
            cron=cron.parse(body["schedule"]),
            time_zone=body["time_zone"],
            tz=cron.zone(body["time_zone"]),
            created=self.now(),
            options=_options(body),
        )
        trigger.next_run = cron.next_run(trigger.cron, self.now(), trigger.tz)
        self.triggers[trigger.id] = trigger
        self._start_ticker()
        return trigger.view()

    def get(self, trigger_id: str) -> Trigger:
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise not_found(f"Trigger '{trigger_id}' was not found.")
        return trigger

    def update(self, trigger_id: str, body: JSON) -> JSON:
        trigger = self.get(trigger_id)
        if "display_name" in body:
            trigger.options.update(_options({"display_name": body["display_name"]}))
        status = body.get("status")
        if status is not None:
            if status not in STATUSES:
                raise bad_request(f"Unknown trigger status {status!r}.")
            if status == "paused" and trigger.status != "paused":
                trigger.times["last_pause"] = self.now()
            if status == "active" and trigger.status != "active":
                trigger.times["last_resume"] = self.now()
                trigger.failures = 0
                trigger.next_run = cron.next_run(trigger.cron, self.now(), trigger.tz)
            trigger.status = status
        trigger.updated = self.now()
        return trigger.view()

    def delete(self, trigger_id: str) -> None:
        self.get(trigger_id)
        del self.triggers[trigger_id]

    # -- running -----------------------------------------------------------------------

    @staticmethod
    def _run_body(interaction: JSON) -> JSON:
        return {**interaction, "background": True, "store": True}

    def fire(self, trigger: Trigger, scheduled: datetime) -> Execution:
        execution = Execution(
            id=secrets.token_hex(8),
            trigger_id=trigger.id,
            scheduled=scheduled,
            started=self.now(),
            environment_id=trigger.options.get("environment_id"),
        )
        trigger.executions.append(execution)
        trigger.times["last_run"] = execution.started
        running = [e for e in trigger.executions[:-1] if e.status == "in_progress"]
        if running:
            self._end(trigger, execution, "skipped", "The previous run is still in progress.")
            return execution
        try:
            record = self.launch(self._run_body(trigger.interaction))
        except ApiError as exc:
            self._end(trigger, execution, "failed", exc.message)
            return execution
        execution.interaction_id = trigger.previous_interaction_id = record.id
        task = asyncio.get_running_loop().create_task(self._follow(trigger, execution, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return execution

    async def _follow(self, trigger: Trigger, execution: Execution, record: Record) -> None:
        limit = trigger.options.get("execution_timeout_seconds")
        try:
            await asyncio.wait_for(record.wait_finished(), timeout=limit)
        except TimeoutError:
            if record.task is not None:
                record.task.cancel()
            self._end(trigger, execution, "timed_out", f"No answer within {limit} s.")
            return
        if record.status in ("failed", "cancelled"):
            errors = record.errors or [{}]
            reason = str(errors[0].get("message") or f"The interaction was {record.status}.")
            self._end(trigger, execution, "failed", reason)
        else:
            self._end(trigger, execution, "completed", None)

    def _end(self, trigger: Trigger, execution: Execution, status: str, error: str | None) -> None:
        execution.status, execution.error, execution.ended = status, error, self.now()
        if status == "skipped":
            return
        trigger.failures = 0 if status == "completed" else trigger.failures + 1
        limit = trigger.options.get("max_consecutive_failures")
        if limit is not None and trigger.failures >= limit and trigger.status == "active":
            trigger.status = "error"

    def tick(self) -> list[Execution]:
        """Fire every active trigger whose run time has come (once each)."""
        fired = []
        now = self.now()
        for trigger in list(self.triggers.values()):
            due = trigger.next_run
            if trigger.status == "active" and due is not None and due <= now:
                trigger.next_run = cron.next_run(trigger.cron, now, trigger.tz)
                fired.append(self.fire(trigger, due))
        return fired

    def advance(self, seconds: float) -> list[Execution]:
        self.offset += seconds
        return self.tick()

    def _start_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while self.triggers:
            self.tick()
            await asyncio.sleep(1.0)

    def clear(self) -> None:
        """Forget every trigger (callable from any thread: the ticker stops by itself once
        there are none, and runs under way just end)."""
        self.triggers.clear()
        self.offset = 0.0


def page(items: list[JSON], key: str, query: dict[str, str]) -> JSON:
    """One page of ``items`` (``page_size``/``page_token``, snake_case as the SDK sends)."""
    size = int(query.get("page_size") or 50)
    start = 0
    with contextlib.suppress(ValueError):
        start = int(query.get("page_token") or 0)
    out: JSON = {key: items[start : start + size]}
    if start + size < len(items):
        out["next_page_token"] = str(start + size)
    return out
