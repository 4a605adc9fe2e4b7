"""Display blocks: how the steps of one answer group on screen, live and after a reload.

An answer may take several upstream calls: continuation hops (the API cut a long answer) and
tool rounds (a function ran, the model went on). On screen it reads as one answer:

- all its `thought` steps are one "Thinking" block, at the place of the first;
- all its `model_output` steps are one block of text, at the place of the first: the texts
  of a continuation hop join as they are (a hop may cut a sentence), texts separated by a
  tool round join as paragraphs (`ROUND_BREAK`);
- every other step (a tool call, a tool result) is a block of its own.

A `user_input` step (stateless replays) starts a new answer. A block is named by the index of
its first step: delta and step frames carry that index, and the page keeps one element per
block. Streamed text goes through `streamed_text`, so that the page's live text of a block
is exactly the text of the block once it is final.
"""

from __future__ import annotations

from typing import Any

ROUND_BREAK = "\n\n"
_GROUPED = ("thought", "model_output")


def _groups(steps: list[dict[str, Any]]) -> list[list[int]]:
    groups: list[list[int]] = []
    first: dict[str, int] = {}  # kind of step -> its group in the current answer
    for index, step in enumerate(steps):
        kind = step.get("type") if isinstance(step, dict) else None
        if kind == "user_input":
            first = {}
        if kind in _GROUPED and kind in first:
            groups[first[str(kind)]].append(index)
            continue
        if kind in _GROUPED:
            first[str(kind)] = len(groups)
        groups.append([index])
    return groups


def block_start(steps: list[dict[str, Any]], index: int) -> int:
    """The first step of the display block holding step `index`."""
    for group in _groups(steps):
        if index in group:
            return group[0]
    return index


def block_members(steps: list[dict[str, Any]], start: int) -> list[int]:
    """The indexes of the steps of the block that starts at `start`."""
    for group in _groups(steps):
        if group[0] == start:
            return group
    return [start]


def block_starts(steps: list[dict[str, Any]]) -> list[int]:
    return [group[0] for group in _groups(steps)]


def _only_thoughts_between(steps: list[dict[str, Any]], before: int, after: int) -> bool:
    return all(steps[i].get("type") == "thought" for i in range(before + 1, after))


def joined(steps: list[dict[str, Any]], start: int) -> dict[str, Any]:
    """The block that starts at `start` as one step of its kind (see the module docstring)."""
    members = block_members(steps, start)
    if len(members) == 1:
        return steps[start]
    if steps[start].get("type") == "thought":
        return _joined_thoughts([steps[i] for i in members])
    content: list[dict[str, Any]] = []
    for previous, index in zip([None, *members], members, strict=False):
        hop = previous is None or _only_thoughts_between(steps, previous, index)
        for item in steps[index].get("content") or []:
            if not isinstance(item, dict):
                continue
            last = content[-1] if content else None
            if last and last.get("type") == item.get("type") == "text":
                content[-1] = _joined_texts(last, item, "" if hop else ROUND_BREAK)
            else:
                content.append(item)
            hop = True  # only the first item of a later round starts a new paragraph
    return {**steps[members[-1]], "content": content}


def _joined_thoughts(thoughts: list[dict[str, Any]]) -> dict[str, Any]:
    texts, others = [], []
    for step in thoughts:
        for item in step.get("summary") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") != "text":
                others.append(item)
            elif str(item.get("text", "")).strip():
                texts.append(str(item["text"]))
    summary = [{"type": "text", "text": ROUND_BREAK.join(texts)}] if texts else []
    return {**thoughts[-1], "summary": summary + others}


def _joined_texts(last: dict[str, Any], item: dict[str, Any], glue: str) -> dict[str, Any]:
    """Two text items as one; citation byte offsets of the later one move along."""
    head = str(last.get("text", "")) + glue
    shift = len(head.encode())
    moved = [_shifted(a, shift) for a in item.get("annotations") or []]
    merged = {**last, "text": head + str(item.get("text", ""))}
    if last.get("annotations") or moved:
        merged["annotations"] = [*(last.get("annotations") or []), *moved]
    return merged


def _shifted(annotation: Any, shift: int) -> Any:
    if not isinstance(annotation, dict):
        return annotation
    moved = dict(annotation)
    for key in ("start_index", "end_index"):
        if isinstance(moved.get(key), int):
            moved[key] += shift
    return moved


def streamed_text(steps: list[dict[str, Any]], index: int, kind: str, text: str) -> str:
    """`text` streamed into step `index` (already folded into `steps`) as its block's page
    shows it: the first text of a later thought, or of the answer after a tool round, starts
    a new paragraph."""
    start = block_start(steps, index)
    if start == index or not _first_text(steps[index], kind, text):
        return text
    members = [i for i in block_members(steps, start) if i < index]
    if not any(_has_text(steps[i], kind) for i in members):
        return text
    if kind == "text" and _only_thoughts_between(steps, members[-1], index):
        return text  # a continuation hop: the text goes on as it is
    return ROUND_BREAK + text


def _items(step: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    items = step.get("summary" if kind == "thought_summary" else "content") or []
    return [i for i in items if isinstance(i, dict) and i.get("type") == "text"]


def _first_text(step: dict[str, Any], kind: str, text: str) -> bool:
    items = _items(step, kind)
    return len(items) == 1 and items[0].get("text") == text


def _has_text(step: dict[str, Any], kind: str) -> bool:
    return any(str(i.get("text", "")).strip() for i in _items(step, kind))
