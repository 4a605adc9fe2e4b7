"""Deep Research with collaborative planning.

The agent first answers with a plan (`collaborative_planning: true`); the person edits it
(a revision is a new message, answered with a revised plan) or starts it ("Start research":
the next request says `collaborative_planning: false`, which runs the plan in the
background). The API marks no answer as a plan: a plan is a Deep Research answer that has
researched nothing yet (no tool steps, no citations). The report arrives through the
background path every agent turn takes (`chatapp.relay`, `chatapp.background`).
"""

from __future__ import annotations

from typing import Any

from .models import Conversation, ResearchStart, Turn

PLAN_STEPS = frozenset({"thought", "model_output"})


def is_deep_research(model: str) -> bool:
    return model.startswith("deep-research")


def is_plan(turn: Turn) -> bool:
    """Whether this finished answer is a proposed plan waiting for an edit or a start."""
    if not is_deep_research(turn.model) or turn.status != Turn.Status.COMPLETED:
        return False
    steps = turn.steps or []
    outputs = [s for s in steps if s.get("type") == "model_output"]
    if not outputs or any(s.get("type") not in PLAN_STEPS for s in steps):
        return False
    return not any(
        isinstance(item, dict) and item.get("annotations")
        for step in outputs
        for item in step.get("content") or []
    )


def remember_start(turn: Turn, start: bool) -> None:
    """Keep the person's "Start research" with the turn (a retry or a recovery sends the
    same request again); the request is built right after from `turn.start_research`."""
    turn.start_research = start  # type: ignore[attr-defined]
    conversation = turn.conversation
    if is_deep_research(conversation.model) and not conversation.background:
        # The API runs it only in the background: the conversation says so (unseen dot,
        # notification, Stop cancels upstream), as its settings will show.
        conversation.background = True
        Conversation.objects.filter(pk=conversation.pk).update(background=True)
    if start:
        ResearchStart.objects.get_or_create(turn_id=turn.pk)


def started_research(turn: Turn) -> bool:
    start = getattr(turn, "start_research", None)
    if start is None:
        start = ResearchStart.objects.filter(turn_id=turn.pk).exists()
    return bool(start)


def agent_fields(path: list[Turn]) -> dict[str, Any]:
    """The `agent_config` of a Deep Research turn: plan first, research once started."""
    turn, parent = path[-1], (path[-2] if len(path) > 1 else None)
    start = parent is not None and is_plan(parent) and started_research(turn)
    return {
        "agent_config": {
            "type": "deep-research",
            "thinking_summaries": "auto",  # its progress, streamed to the page
            "collaborative_planning": not start,
        }
    }
