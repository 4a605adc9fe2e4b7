"""Server-sent events of a streamed interaction, tagged by `event_type`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from ._base import WireModel, open_union
from .deltas import Delta
from .interaction import Interaction, InteractionError, Usage
from .steps import Step


class StreamEvent(WireModel):
    """Common face of every event: absent attributes read as None."""

    event_type: str
    event_id: str | None = None
    index: int | None = None
    step: Step | None = None
    delta: Delta | None = None
    interaction: Interaction | None = None


class InteractionCreatedEvent(StreamEvent):
    event_type: Literal["interaction.created"] = "interaction.created"
    interaction: Interaction | None = None


class InteractionStatusUpdateEvent(StreamEvent):
    event_type: Literal["interaction.status_update"] = "interaction.status_update"
    interaction_id: str | None = None
    status: str | None = None
    usage: Usage | None = None
    continuation_token: str | None = None


class StepStartEvent(StreamEvent):
    event_type: Literal["step.start"] = "step.start"


class StepDeltaMetadata(WireModel):
    total_usage: Usage | None = None


class StepDeltaEvent(StreamEvent):
    event_type: Literal["step.delta"] = "step.delta"
    metadata: StepDeltaMetadata | None = None


class StepStopEvent(StreamEvent):
    event_type: Literal["step.stop"] = "step.stop"
    usage: Usage | None = None
    step_usage: Usage | None = None


class InteractionCompletedEvent(StreamEvent):
    """The last event of one HTTP stream; its interaction carries the final status."""

    event_type: Literal["interaction.completed"] = "interaction.completed"


class ErrorEvent(StreamEvent):
    """An in-band failure: yielded like any event, never raised by iteration."""

    event_type: Literal["error"] = "error"
    error: InteractionError | None = None


class UnknownEvent(StreamEvent):
    """An event type this client does not know; every field is kept."""


EVENT_VARIANTS: list[type[WireModel]] = [
    InteractionCreatedEvent,
    InteractionStatusUpdateEvent,
    StepStartEvent,
    StepDeltaEvent,
    StepStopEvent,
    InteractionCompletedEvent,
    ErrorEvent,
]

Event = Annotated[
    InteractionCreatedEvent
    | InteractionStatusUpdateEvent
    | StepStartEvent
    | StepDeltaEvent
    | StepStopEvent
    | InteractionCompletedEvent
    | ErrorEvent
    | UnknownEvent,
    BeforeValidator(open_union(EVENT_VARIANTS, UnknownEvent, key="event_type")),
]

_parse = open_union(EVENT_VARIANTS, UnknownEvent, key="event_type")


def parse_event(data: dict[str, Any]) -> StreamEvent:
    """Parse one event's JSON payload into its typed event."""
    event: StreamEvent = _parse(data)
    return event
