"""Small helpers shared by the reliability and security tests."""

from __future__ import annotations

from typing import Any

from chatapp.models import Conversation, Turn


def is_type(kind: str) -> Any:
    return lambda frame: frame["type"] == kind


def is_final(turn_id: int) -> Any:
    return lambda f: f["type"] == "turn" and f.get("final") and f["turn"]["id"] == turn_id


def text_of(turn: Turn) -> str:
    """The answer text of a saved turn (its model_output steps)."""
    return "".join(
        item.get("text", "")
        for step in turn.steps
        if step.get("type") == "model_output"
        for item in step.get("content") or []
        if isinstance(item, dict)
    )


def creates(simulator: Any) -> list[dict[str, Any]]:
    """The create requests the simulator received (one per attempt)."""
    return [
        r
        for r in simulator.app.requests
        if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]


async def conversation(owner: Any, **fields: Any) -> Conversation:
    return await Conversation.objects.acreate(
        owner=owner, model=fields.pop("model", "gemini-3.5-flash"), **fields
    )


async def send(sock: Any, text: str, conversation: int | None = None, **extra: Any) -> dict:
    """Send a message; return the `turn` frame (seq 0) that announces its turn."""
    frame = {"type": "send", "conversation": conversation, "parent": None, "text": text, **extra}
    await sock.send(frame)
    return await sock.until(lambda f: f["type"] in ("turn", "error") and f.get("seq", 0) == 0)


async def active_turns() -> list[Turn]:
    return [t async for t in Turn.objects.filter(status__in=Turn.ACTIVE)]


def covered(frames: list[dict[str, Any]]) -> list[int]:
    """The seqs a list of status/delta/step frames covers (a merged delta covers from..seq)."""
    return [
        seq
        for f in frames
        if f["type"] in ("status", "delta", "step")
        for seq in range(f.get("from", f["seq"]), f["seq"] + 1)
    ]
