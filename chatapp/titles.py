"""Conversation titles made from the first message."""

from __future__ import annotations

import re

MAX_TITLE = 60


def title_from(text: str) -> str:
    """The first line of the message, cut at a word boundary, without Markdown noise."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    # Headings, quotes, bullets and code ticks are noise in a title; arithmetic is not.
    line = re.sub(r"^(?:[#>]+|[-*+]\s|\d+\.\s)\s*", "", line).replace("`", "").strip()
    line = re.sub(r"\s+", " ", line)
    if len(line) <= MAX_TITLE:
        return line or "New chat"
    cut = line[:MAX_TITLE].rsplit(" ", 1)[0]
    return (cut if len(cut) > MAX_TITLE // 2 else line[:MAX_TITLE]).rstrip(",.;:") + "…"
