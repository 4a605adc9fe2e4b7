"""How long the model thought during one turn ("Thought for N s", kept on the turn).

The API does not say: the relay's streams are watched, and the time each `thought` step is
open (from its `step.start` to its `step.stop`) is summed over every call of the turn,
continuation hops and tool rounds alike.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator

from interactions_client import StreamEvent


class ThinkingClock:
    def __init__(self, ms: int = 0) -> None:
        self.ms = ms

    async def watch(self, stream: AsyncIterable[StreamEvent]) -> AsyncIterator[StreamEvent]:
        """The events of `stream`, unchanged, timing its thought steps on the way."""
        opened: dict[int, float] = {}  # a step's index in this stream -> when it started
        async for event in stream:
            index = event.index
            if index is None:
                pass
            elif event.event_type == "step.start" and getattr(event.step, "type", "") == "thought":
                opened[index] = time.monotonic()
            elif event.event_type == "step.stop" and index in opened:
                self.ms += round((time.monotonic() - opened.pop(index)) * 1000)
            yield event


def thinking_seconds(ms: int | None) -> int | None:
    """Whole seconds for display: at least 1 when the model thought at all."""
    return max(1, round(ms / 1000)) if ms else None
