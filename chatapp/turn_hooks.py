"""What follows a finished answer, beside its final frame: a written title after a first
answer, and the bookkeeping of a scheduled run."""

from __future__ import annotations

from . import schedules, titles
from .models import Conversation, Turn


async def finished(conversation: Conversation, turn: Turn) -> None:
    titles.after_first_answer(conversation, turn)
    await schedules.after_run(conversation, turn)
