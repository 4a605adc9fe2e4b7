"""Interactions and their event logs.

Every interaction (stored or not) owns an append-only event log; its visible ``steps`` are
the fold of that log. Streams tail the log, re-attaching clients replay it, and ``get``
reads the fold, so all three views agree by construction.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from typing import Any

from .events import Folder
from .inputs import JSON
from .model import Draft, Plan

TERMINAL = frozenset(
    {"completed", "requires_action", "requires_continuation", "incomplete", "failed", "cancelled"}
)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(eq=False)
class Record:
    id: str
    owner_key: str  # "model" or "agent"
    owner: str
    stored: bool
    background: bool
    input_steps: list[JSON]
    parent: Record | None  # the previous interaction of the chain, if any
    input_raw: Any = None
    previous_interaction_id: str | None = None
    environment_id: str | None = None
    agent_config: Any = None
    status: str = "in_progress"
    created: str = field(default_factory=now_iso)
    updated: str = ""
    usage: JSON | None = None
    errors: list[JSON] | None = None
    continuation_token: str | None = None
    plan: Plan | None = None
    draft: Draft | None = None
    next_offset: int | None = None
    events: list[JSON] = field(default_factory=list)
    finished: bool = False
    task: asyncio.Task[None] | None = None
    folder: Folder = field(default_factory=Folder)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.updated = self.updated or self.created

    @property
    def steps(self) -> list[JSON]:
        return copy.deepcopy(self.folder.steps)

    def append(self, payload: JSON) -> JSON:
        event = {**payload, "event_id": f"evt_{len(self.events) + 1}"}
        self.events.append(event)
        self.folder.apply(event)
        self.updated = now_iso()
        self._changed.set()
        self._changed = asyncio.Event()
        return event

    def finish(self, status: str) -> None:
        self.status = status
        self.finished = True
        self.updated = now_iso()
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_past(self, count: int) -> None:
        """Return once the log has more than ``count`` events or the run is over."""
        while len(self.events) <= count and not self.finished:
            await self._changed.wait()

    async def wait_finished(self) -> None:
        while not self.finished:
            await self._changed.wait()

    def event_index(self, event_id: str) -> int | None:
        for i, event in enumerate(self.events):
            if event["event_id"] == event_id:
                return i
        return None

    def history(self) -> list[JSON]:
        """The conversation as a follow-up with ``previous_interaction_id`` sees it."""
        chain: list[Record] = []
        node: Record | None = self
        while node is not None:  # iterative: chains can be longer than the recursion limit
            chain.append(node)
            node = node.parent
        out: list[JSON] = []
        for record in reversed(chain):
            out += copy.deepcopy(record.input_steps) + record.steps
        return out

    def head(self) -> JSON:
        return {
            "id": self.id,
            "status": self.status,
            "object": "interaction",
            self.owner_key: self.owner,
            "created": self.created,
            "updated": self.updated,
        }

    def view(self, *, with_input: bool = False, include_input: bool = False) -> JSON:
        out = self.head()
        steps = (copy.deepcopy(self.input_steps) if with_input else []) + self.steps
        if steps:
            out["steps"] = steps
        for key in (
            "usage",
            "previous_interaction_id",
            "continuation_token",
            "environment_id",
            "errors",
            "agent_config",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = copy.deepcopy(value)
        if include_input and self.input_raw is not None:
            out["input"] = copy.deepcopy(self.input_raw)
        return out


class Store:
    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self.running: set[Record] = set()

    def add(self, record: Record) -> None:
        if record.stored:
            self._records[record.id] = record

    def get(self, interaction_id: str) -> Record | None:
        return self._records.get(interaction_id)

    def delete(self, interaction_id: str) -> Record | None:
        return self._records.pop(interaction_id, None)

    def records(self) -> list[Record]:
        return list(self._records.values())

    def __len__(self) -> int:
        return len(self._records)

    def clear(self) -> None:
        self._records.clear()
