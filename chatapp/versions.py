"""Versions of a turn, the way a reader counts them: edits are versions of the question,
regenerations are versions of the answer to one question.

Both are sibling turns (same parent) in the tree; siblings whose message is the same are
answers to one question (a regeneration copies the message exactly), and each different
message is a version of the question.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .models import Turn


def _message_key(turn: Turn) -> str:
    return json.dumps(turn.user_input, sort_keys=True, ensure_ascii=False)


def _questions(siblings: Sequence[Turn]) -> list[list[Turn]]:
    """Siblings grouped by message, groups and turns each oldest first."""
    groups: dict[str, list[Turn]] = {}
    for sibling in siblings:
        groups.setdefault(_message_key(sibling), []).append(sibling)
    return list(groups.values())


def _nav(ids: list[int], position: int) -> dict[str, Any]:
    return {
        "index": position,
        "count": len(ids),
        "prev": ids[position - 1] if position > 0 else None,
        "next": ids[position + 1] if position + 1 < len(ids) else None,
    }


def versions(turn: Turn, siblings: Sequence[Turn]) -> dict[str, dict[str, Any]]:
    """`question` and `answer`: index, count, and the turn to show for the previous and next
    version (a question's version shows its newest answer)."""
    groups = _questions(siblings if any(s.pk == turn.pk for s in siblings) else [turn])
    mine = next(i for i, group in enumerate(groups) if any(t.pk == turn.pk for t in group))
    answers = [t.pk for t in groups[mine]]
    return {
        "question": _nav([group[-1].pk for group in groups], mine),
        "answer": _nav(answers, answers.index(turn.pk)),
    }
