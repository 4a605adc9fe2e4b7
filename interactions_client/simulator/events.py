"""Steps → SSE events, and the inverse fold (events → steps).

The stream is always derived from finished steps, and stored interactions keep the folded
view of their own event log, so a streamed interaction and its unary/get result agree.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .inputs import JSON

WORDS_PER_CHUNK = 3
# Thought summaries stream as the API sends them: several pieces, larger than text deltas.
WORDS_PER_SUMMARY_CHUNK = 8
ARGUMENT_FRAGMENT = 12
_TOOL_DELTA_FIELDS = ("arguments", "result", "is_error", "signature", "name", "server_name")


def text_chunks(text: str, words: int = WORDS_PER_CHUNK) -> list[str]:
    """Split ``text`` into pieces of a few words; ``"".join(pieces) == text``."""
    pieces = re.findall(r"\S+\s*", text)
    if not pieces:
        return [text] if text else []
    lead = text[: len(text) - len(text.lstrip())]
    pieces[0] = lead + pieces[0]
    return ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]


def step_events(index: int, step: JSON) -> list[JSON]:
    """``step.start`` / ``step.delta``… / ``step.stop`` payloads for one finished step."""
    kind = step.get("type")
    deltas: list[JSON] = []
    if kind == "thought":
        start: JSON = {"type": "thought"}
        for item in step.get("summary") or []:
            text = item.get("text") if item.get("type") == "text" else None
            pieces = text_chunks(text, WORDS_PER_SUMMARY_CHUNK) if isinstance(text, str) else []
            if not pieces:
                deltas.append({"type": "thought_summary", "content": item})
                continue
            deltas += [{"type": "thought_summary", "content": {**item, "text": t}} for t in pieces]
        if "signature" in step:
            deltas.append({"type": "thought_signature", "signature": step["signature"]})
    elif kind == "model_output":
        start = {k: v for k, v in step.items() if k != "content"}
        start["content"] = []
        for item in step.get("content") or []:
            if item.get("type") == "text":
                deltas += [{"type": "text", "text": t} for t in text_chunks(item["text"])]
                if item.get("annotations"):
                    deltas.append(
                        {"type": "text_annotation_delta", "annotations": item["annotations"]}
                    )
            else:
                deltas.append(dict(item))
    elif kind == "function_call":
        start = {**step, "arguments": {}}
        encoded = json.dumps(step.get("arguments", {}), ensure_ascii=False)
        deltas += [
            {"type": "arguments_delta", "arguments": encoded[i : i + ARGUMENT_FRAGMENT]}
            for i in range(0, len(encoded), ARGUMENT_FRAGMENT)
        ]
    else:
        # The SDK requires e.g. `arguments`/`result` already on step.start, so tool steps
        # start complete and repeat their payload in one delta of the step's own type.
        start = dict(step)
        # An MCP delta requires its tool `name`; other tool deltas carry none.
        named = kind in ("mcp_server_tool_call", "mcp_server_tool_result")
        delta = {k: step[k] for k in _TOOL_DELTA_FIELDS if k in step and (named or k != "name")}
        if delta:
            deltas.append({"type": kind, **delta})
    out: list[JSON] = [{"event_type": "step.start", "index": index, "step": start}]
    out += [{"event_type": "step.delta", "index": index, "delta": d} for d in deltas]
    out.append({"event_type": "step.stop", "index": index})
    return out


class Folder:
    """Accumulates ``step.*`` events back into steps (reference §7.4)."""

    def __init__(self) -> None:
        self.steps: list[JSON] = []
        self._arguments: dict[int, str] = {}
        self.open: set[int] = set()

    def apply(self, event: JSON) -> None:
        kind = event.get("event_type")
        index = event.get("index")
        if not isinstance(index, int):
            return
        if kind == "step.start":
            while len(self.steps) <= index:
                self.steps.append({})
            self.steps[index] = copy.deepcopy(event["step"])
            self.open.add(index)
        elif kind == "step.delta":
            self._delta(self.steps[index], index, event["delta"])
        elif kind == "step.stop":
            self.open.discard(index)
            fragments = self._arguments.pop(index, None)
            if fragments is not None:
                try:
                    self.steps[index]["arguments"] = json.loads(fragments)
                except ValueError:
                    pass  # a cancelled call keeps the arguments it started with

    def _delta(self, step: JSON, index: int, delta: JSON) -> None:
        kind = delta.get("type")
        if kind in ("text", "text_annotation_delta"):
            self._text(step.setdefault("content", []), delta)
        elif kind in ("image", "audio", "video", "document"):
            step.setdefault("content", []).append(copy.deepcopy(delta))
        elif kind == "thought_summary":
            self._summary(step.setdefault("summary", []), delta["content"])
        elif kind == "thought_signature":
            step["signature"] = delta["signature"]
        elif kind == "arguments_delta":
            self._arguments[index] = self._arguments.get(index, "") + delta["arguments"]
        else:
            step.update({k: copy.deepcopy(v) for k, v in delta.items() if k != "type"})

    @staticmethod
    def _summary(summary: list[Any], item: JSON) -> None:
        # A summary streamed in pieces folds back into one text item, as it started.
        if item.get("type") == "text" and summary and summary[-1].get("type") == "text":
            summary[-1]["text"] += item.get("text", "")
        else:
            summary.append(copy.deepcopy(item))

    @staticmethod
    def _text(content: list[Any], delta: JSON) -> None:
        if delta["type"] == "text":
            if content and content[-1].get("type") == "text":
                content[-1]["text"] += delta["text"]
            else:
                content.append({"type": "text", "text": delta["text"]})
        elif content and content[-1].get("type") == "text":
            content[-1].setdefault("annotations", []).extend(
                copy.deepcopy(delta.get("annotations") or [])
            )
