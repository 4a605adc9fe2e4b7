"""How long the model thought: the open time of its thought steps, summed over the calls of
a turn, shown in whole seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest import mock

from chatapp.thinking_time import ThinkingClock, thinking_seconds
from interactions_client import StreamEvent


def event(kind: str, index: int, step: str = "") -> StreamEvent:
    body: dict[str, Any] = {"event_type": kind, "index": index}
    if step:
        body["step"] = {"type": step}
    return StreamEvent.model_validate(body)


async def stream(*events: StreamEvent) -> AsyncIterator[StreamEvent]:
    for e in events:
        yield e


async def test_it_sums_the_thought_steps_of_every_call() -> None:
    clock = ThinkingClock()
    first = [
        event("step.start", 0, "thought"),
        event("step.stop", 0),
        event("step.start", 1, "model_output"),
        event("step.stop", 1),
    ]
    second = [event("step.start", 0, "thought"), event("step.stop", 0)]
    # Each event is read at the next tick of a clock that moves 1.5 s a read.
    ticks = iter(1.5 * n for n in range(100))
    with mock.patch("chatapp.thinking_time.time.monotonic", lambda: next(ticks)):
        seen = [e async for e in clock.watch(stream(*first))]
        seen += [e async for e in clock.watch(stream(*second))]
    assert seen == first + second  # the events go through unchanged
    assert clock.ms == 3000  # 1.5 s per thought step; the model_output step does not count


async def test_a_resumed_turn_counts_on_from_what_was_saved() -> None:
    clock = ThinkingClock(4200)
    assert [e async for e in clock.watch(stream(event("step.stop", 3)))]
    assert clock.ms == 4200


def test_whole_seconds_for_display() -> None:
    assert thinking_seconds(None) is None
    assert thinking_seconds(0) is None
    assert thinking_seconds(200) == 1  # it thought: at least 1 s
    assert thinking_seconds(2600) == 3
