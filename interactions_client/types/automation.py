"""Triggers (scheduled agent interactions), their executions, webhooks, and the events
webhooks deliver. Snake_case JSON, like the interactions themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ._base import WireModel

#: Trigger states: `error` is a trigger paused by `max_consecutive_failures` failures.
TRIGGER_STATUSES = frozenset({"active", "paused", "error"})
#: Execution states.
EXECUTION_STATUSES = frozenset({"in_progress", "completed", "failed", "skipped", "timed_out"})
#: Events a webhook can subscribe to (open: newer ones pass through).
WEBHOOK_EVENTS = frozenset(
    {
        "batch.succeeded",
        "batch.cancelled",
        "batch.expired",
        "batch.failed",
        "interaction.requires_action",
        "interaction.completed",
        "interaction.failed",
        "interaction.cancelled",
        "video.generated",
    }
)


class Trigger(WireModel):
    """An agent interaction run on a cron `schedule` in `time_zone`."""

    id: str | None = None
    interaction: dict[str, Any] | None = None
    """The create body of the agent interaction each run starts."""
    schedule: str | None = None
    time_zone: str | None = None
    status: str | None = None
    display_name: str | None = None
    environment_id: str | None = None
    execution_timeout_seconds: int | None = None
    max_consecutive_failures: int | None = None
    consecutive_failure_count: int | None = None
    previous_interaction_id: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    next_run_time: datetime | None = None
    last_run_time: datetime | None = None
    last_pause_time: datetime | None = None
    last_resume_time: datetime | None = None


class TriggerList(WireModel):
    triggers: list[Trigger] = Field(default_factory=list)
    next_page_token: str | None = None


class TriggerExecution(WireModel):
    """One run of a trigger: the interaction it started, or why it did not finish."""

    id: str | None = None
    trigger_id: str | None = None
    status: str | None = None
    interaction_id: str | None = None
    environment_id: str | None = None
    error: str | None = None
    scheduled_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


class TriggerExecutionList(WireModel):
    trigger_executions: list[TriggerExecution] = Field(default_factory=list)
    next_page_token: str | None = None


class SigningSecret(WireModel):
    truncated_secret: str | None = None
    expire_time: datetime | None = None


class Webhook(WireModel):
    id: str | None = None
    name: str | None = None
    uri: str | None = None
    subscribed_events: list[str] = Field(default_factory=list)
    state: str | None = None
    """`enabled`, `disabled` or `disabled_due_to_failed_deliveries`."""
    signing_secrets: list[SigningSecret] | None = None
    new_signing_secret: str | None = None
    """The whole signing secret (`whsec_…`): only in the answer to create, keep it."""
    create_time: datetime | None = None
    update_time: datetime | None = None


class WebhookList(WireModel):
    webhooks: list[Webhook] = Field(default_factory=list)
    next_page_token: str | None = None


class WebhookEvent(WireModel):
    """A verified webhook delivery: `type` (e.g. `interaction.completed`) and its `data`
    (for interactions, `{"id", "status"}`); `webhook_id` is the delivery's id."""

    type: str
    timestamp: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    webhook_id: str | None = None
