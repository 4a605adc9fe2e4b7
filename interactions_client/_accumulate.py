"""Folding stream events into the full interaction, with no I/O.

The relay, crash recovery and the tests share this fold, and its result equals what the
non-streamed call returns: text, thought signatures and summaries, annotations, images,
function-call arguments, usage and status. State is kept as plain JSON dicts, so steps come
out exactly as the server described them and can be replayed unchanged.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from ._continuation import CONTINUE_STATUS, sum_usage
from .types import Interaction, InteractionError, StreamEvent, parse_event

_MEDIA = frozenset({"image", "audio", "video", "document"})
# Far more steps than any interaction has; a bigger index is a malformed event.
_MAX_STEPS = 10_000
# Fields of a step that hold content lists; a tool delta never replaces them.
_CONTENT_FIELDS = frozenset({"type", "content", "summary"})


class Accumulator:
    """Feed it events in order; read `.interaction` (typed) or `.snapshot()` (JSON)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.steps: list[dict[str, Any]] = []
        self.error: InteractionError | None = None
        self.hop_ids: list[str] = []
        self.last_event_id: str | None = None
        self._arguments: dict[int, list[str]] = {}
        self._round_start = 0
        self._usage_before_round: dict[str, Any] | None = None

    def begin_round(self, steps: Iterable[dict[str, Any]] = ()) -> None:
        """Fold the next call of a multi-call turn after everything so far.

        `steps` (e.g. the function results sent back after a tool round) are appended as
        they are. The next call's step indices count from 0 again, after them; its usage
        is added to the total; `id` and `status` come from it, `created` and
        `previous_interaction_id` stay the first call's. Automatic continuation starts
        each hop with this same boundary.
        """
        self.steps.extend(copy.deepcopy(list(steps)))
        self._round_start = len(self.steps)
        self._usage_before_round = self.data.get("usage")

    @property
    def round_start(self) -> int:
        """Where the current round's step 0 sits in `steps`."""
        return self._round_start

    def position(self, index: int) -> int:
        """Where a step of the current round sits in the folded `steps` list."""
        return self._round_start + index

    def restore(
        self, snapshot: dict[str, Any], last_event_id: str | None, *, round_start: int = 0
    ) -> None:
        """Start from a saved snapshot, to go on with a re-attached stream.

        `round_start` is where the re-attached call's step 0 sits in the snapshot's steps
        (its `round_start` when saved). Usage the re-attached call reports replaces the
        snapshot's: a snapshot does not say how much of it earlier rounds used.
        """
        steps = copy.deepcopy(list(snapshot.get("steps") or []))
        if not 0 <= round_start <= len(steps):
            raise ValueError(f"round_start {round_start} is outside the {len(steps)} steps")
        self.data = {k: v for k, v in snapshot.items() if k != "steps"}
        self.steps = steps
        self.last_event_id = last_event_id
        self._arguments = {}
        self._round_start = round_start
        self._usage_before_round = None

    # --- event handlers ---

    def feed_interaction(self, interaction: Interaction | dict[str, Any]) -> None:
        """Fold a whole interaction (a create or get answer) into the current round, as the
        events of its stream would: see `interaction_events`."""
        for event in interaction_events(interaction):
            self.feed(event)

    def feed(self, event: StreamEvent) -> None:
        if event.event_id is not None:
            self.last_event_id = event.event_id
        handler = getattr(self, "_on_" + event.event_type.replace(".", "_"), None)
        if handler is not None:
            handler(event.model_dump(mode="json"))

    def _on_interaction_created(self, raw: dict[str, Any]) -> None:
        interaction = raw.get("interaction") or {}
        if self.data.get("status") == CONTINUE_STATUS:
            self.begin_round()  # a new hop of an automatically continued answer
        self._merge_interaction(interaction)

    def _on_interaction_status_update(self, raw: dict[str, Any]) -> None:
        for key in ("status", "continuation_token"):
            if key in raw:
                self.data[key] = raw[key]
        if "usage" in raw:
            self._set_usage(raw["usage"])

    def _slot(self, raw: dict[str, Any]) -> int | None:
        """The position of the event's step, grown into; None for a nonsensical index."""
        index = raw.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < _MAX_STEPS:
            return None
        position = self.position(index)
        while len(self.steps) <= position:
            self.steps.append({})
        return position

    def _on_step_start(self, raw: dict[str, Any]) -> None:
        index = self._slot(raw)
        if index is not None:
            self.steps[index] = copy.deepcopy(raw.get("step") or {})

    def _on_step_delta(self, raw: dict[str, Any]) -> None:
        index = self._slot(raw)
        delta = raw.get("delta")
        if index is not None and isinstance(delta, dict):
            apply_delta(self.steps[index], delta, self._arguments.setdefault(index, []))

    def _on_step_stop(self, raw: dict[str, Any]) -> None:
        index = self._slot(raw)
        if index is None:
            return
        fragments = self._arguments.pop(index, None)
        if fragments and index < len(self.steps):
            text = "".join(fragments)
            try:
                self.steps[index]["arguments"] = json.loads(text)
            except json.JSONDecodeError:
                self.steps[index]["arguments"] = text

    def _on_interaction_completed(self, raw: dict[str, Any]) -> None:
        interaction = raw.get("interaction") or {}
        if interaction.get("steps"):
            # The server's own list is authoritative for this round.
            self.steps[self._round_start :] = copy.deepcopy(interaction["steps"])
        self._merge_interaction(interaction)
        if "continuation_token" not in interaction:
            self.data.pop("continuation_token", None)

    def _on_error(self, raw: dict[str, Any]) -> None:
        self.error = InteractionError.model_validate(raw.get("error") or {})

    # --- helpers ---

    def _merge_interaction(self, interaction: dict[str, Any]) -> None:
        if interaction.get("id") and (not self.hop_ids or self.hop_ids[-1] != interaction["id"]):
            self.hop_ids.append(interaction["id"])
        for key, value in interaction.items():
            if key == "steps":
                continue
            if key == "usage":
                self._set_usage(value)
            elif key in ("previous_interaction_id", "created") and key in self.data:
                continue  # keep the first round's
            else:
                self.data[key] = value

    def _set_usage(self, usage: dict[str, Any]) -> None:
        # Per-event usage counts one round (or hop); earlier ones are added back.
        self.data["usage"] = sum_usage(self._usage_before_round, usage)

    def snapshot(self) -> dict[str, Any]:
        """The interaction so far as JSON, in the API's shape."""
        snap = dict(self.data)
        snap["steps"] = copy.deepcopy(self.steps)
        return snap

    @property
    def interaction(self) -> Interaction:
        snapshot = self.snapshot()
        # A delta before its step.start, or a gap in indices, leaves an untyped placeholder.
        snapshot["steps"] = [s for s in snapshot["steps"] if isinstance(s.get("type"), str)]
        result = Interaction.model_validate(snapshot)
        if len(self.hop_ids) > 1:
            result._continuation_ids = list(self.hop_ids)
        return result


# One branch per delta type of the wire spec: a dispatch table would hide no complexity.
def apply_delta(step: dict[str, Any], delta: dict[str, Any], arguments: list[str]) -> None:  # noqa: C901
    """Fold one delta into its step, in place."""
    kind = delta.get("type")
    if kind in ("text", "text_annotation_delta") or kind in _MEDIA:
        content = _content_list(step, "content")
    if kind == "text":
        if content and content[-1].get("type") == "text":
            content[-1]["text"] = content[-1].get("text", "") + delta.get("text", "")
        else:
            content.append({"type": "text", "text": delta.get("text", "")})
    elif kind == "text_annotation_delta":
        if not content or content[-1].get("type") != "text":
            content.append({"type": "text", "text": ""})
        annotations = content[-1].setdefault("annotations", [])
        if isinstance(annotations, list) and isinstance(delta.get("annotations"), list):
            annotations.extend(delta["annotations"])
    elif kind in _MEDIA:
        content.append(dict(delta))
    elif kind == "thought_summary":
        summary = _content_list(step, "summary")
        given = delta.get("content")
        item: dict[str, Any] = given if isinstance(given, dict) else {}
        if item.get("type") == "text" and summary and summary[-1].get("type") == "text":
            summary[-1]["text"] = summary[-1].get("text", "") + item.get("text", "")
        elif item:
            summary.append(dict(item))
    elif kind == "thought_signature":
        step["signature"] = delta.get("signature")
    elif kind == "arguments_delta":
        arguments.append(delta.get("arguments") or "")
    elif kind == step.get("type") or (kind == "function_result" and step.get("type") is None):
        # Tool deltas are named after the step they fill: copy their fields onto it.
        step.update({k: v for k, v in delta.items() if k not in _CONTENT_FIELDS})


def _content_list(step: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The step's list under `key`, made sane: only dict items, created when missing."""
    items = step.get(key)
    if not isinstance(items, list):
        items = step[key] = []
    if not all(isinstance(i, dict) for i in items):
        items[:] = [i for i in items if isinstance(i, dict)]
    return items


def interaction_events(interaction: Interaction | dict[str, Any]) -> list[StreamEvent]:
    """The events equivalent to a whole interaction: `interaction.created` with its fields,
    then `interaction.completed` with all of it, so a fold starts a new hop where a stream
    would and takes the steps as authoritative. A stored view's leading `user_input` steps
    are left out: streams never replay them."""
    if isinstance(interaction, Interaction):
        interaction = interaction.model_dump(mode="json")
    steps = list(interaction.get("steps") or [])
    while steps and isinstance(steps[0], dict) and steps[0].get("type") == "user_input":
        steps.pop(0)
    head = {k: v for k, v in interaction.items() if k != "steps"}
    whole = {**head, "steps": steps} if steps else head
    return [
        parse_event({"event_type": "interaction.created", "interaction": head}),
        parse_event({"event_type": "interaction.completed", "interaction": whole}),
    ]


def accumulate(events: Iterable[StreamEvent]) -> Interaction:
    """The full interaction described by a sequence of events."""
    acc = Accumulator()
    for event in events:
        acc.feed(event)
    return acc.interaction
