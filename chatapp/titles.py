"""Conversation titles: a provisional one from the first message at once, then one written
by a small, cheap model call after the first answer (`CHAT_TITLE_MODEL`), which a person can
also ask for again. Directives (`[[sim:…]]`) never reach a title; a title the person set
themselves is never overwritten, and until then an edit of the first message renames."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

log = logging.getLogger(__name__)

MAX_TITLE = 60
# The simulator reads directives whatever their case (interactions_client.simulator.inputs).
DIRECTIVE = re.compile(r"\[\[\s*sim:[^\]]*\]\]", re.IGNORECASE)
INSTRUCTION = (
    "Write a title of at most six words for the conversation below, in its language. "
    "Reply with the title only: no quotes, no final punctuation."
)
# What the model is shown of the conversation: enough for a title, and cheap.
SHOWN_CHARS = 2000
_pending: set[asyncio.Task[str]] = set()


def without_directives(text: str) -> str:
    return DIRECTIVE.sub("", text)


def title_from(text: str) -> str:
    """The first line of the message, cut at a word boundary, without Markdown noise."""
    text = DIRECTIVE.sub("", text)
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    # Headings, quotes, bullets and code ticks are noise in a title; arithmetic is not.
    line = re.sub(r"^(?:[#>]+|[-*+]\s|\d+\.\s)\s*", "", line).replace("`", "").strip()
    line = re.sub(r"\s+", " ", line)
    if len(line) <= MAX_TITLE:
        return line or gettext("New chat")
    cut = line[:MAX_TITLE].rsplit(" ", 1)[0]
    return (cut if len(cut) > MAX_TITLE // 2 else line[:MAX_TITLE]).rstrip(",.;:") + "…"


def cleaned(answer: str) -> str:
    """A model's reply as a title: one line, no quotes, Markdown or directives ("" if none)."""
    line = next((ln for ln in DIRECTIVE.sub("", answer).splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:title\s*:\s*)", "", line.strip(), flags=re.IGNORECASE)
    line = line.lstrip(" \t\"'“”‘’*#`_").rstrip(" \t\"'“”‘’*#`_.!;:")
    line = re.sub(r"\s+", " ", line)
    return title_from(line) if line else ""


async def write(conversation_id: int, question: str, answer: str) -> str:
    """Ask the title model for a title; "" when it gives none or fails."""
    from . import upstream

    # An answer may quote the question's directives: the title call must not obey them.
    shown = (
        f"User: {without_directives(question)[:SHOWN_CHARS]}\n\n"
        f"Assistant: {without_directives(answer)[:SHOWN_CHARS]}"
    )
    try:
        interaction = await upstream.client(conversation_id).interactions.create(
            model=settings.CHAT_TITLE_MODEL,
            input=shown,
            system_instruction=INSTRUCTION,
            store=False,
            generation_config={"max_output_tokens": 32},
        )
    except Exception as exc:  # a title is a nicety: the provisional one stays
        log.warning("writing a title for conversation %s failed: %s", conversation_id, exc)
        return ""
    return cleaned(interaction.output_text or "")


async def retitle(conversation: Any, question: str, answer: str, *, replacing: str) -> str:
    """Write a title and keep it if the conversation still has `replacing` as its title;
    the conversation frame tells the sidebar. The new title, or "" if none was kept."""
    from . import delivery, frames
    from .models import Conversation

    title = await write(conversation.pk, question, answer)
    if not title or title == replacing:
        return ""
    kept = await Conversation.objects.filter(
        pk=conversation.pk, title=replacing, title_by_hand=False
    ).aupdate(title=title)
    if not kept:
        return ""  # renamed meanwhile: the person's title wins
    conversation.title = title
    delivery.publish(frames.conversation_frame(conversation))
    return title


def follow_edit(conversation: Any, text: str) -> bool:
    """An edit of the first message renames a conversation its owner has not named; the
    edited answer's written title follows (`after_first_answer`). Whether it renamed."""
    from .models import Conversation

    title = title_from(text)
    if conversation.title_by_hand or title == conversation.title:
        return False
    renamed = Conversation.objects.filter(pk=conversation.pk, title_by_hand=False).update(
        title=title
    )
    if renamed:
        conversation.title = title
    return bool(renamed)


def after_first_answer(conversation: Any, turn: Any) -> None:
    """Once the first answer of a conversation is complete, give it a written title."""
    if not settings.CHAT_TITLE_MODEL or turn.parent_id is not None or turn.status != "completed":
        return
    task = asyncio.get_running_loop().create_task(
        retitle(conversation, turn.user_text, turn.answer_text, replacing=conversation.title)
    )
    _pending.add(task)  # kept until done: a task nobody holds may be collected
    task.add_done_callback(_pending.discard)
