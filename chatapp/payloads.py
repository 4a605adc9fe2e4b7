"""What the page and the websocket say about a turn or a conversation (JSON-ready dicts)."""

from __future__ import annotations

import json
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from . import catalogue
from .answer_meter import meter
from .blocks import block_members, block_starts, joined
from .file_refs import OWNER, FileUrls
from .models import Conversation, Turn
from .rendering import render_steps
from .research import is_plan
from .thinking_time import thinking_seconds
from .versions import versions


def user_parts(turn: Turn, file_url: FileUrls = OWNER) -> list[dict[str, Any]]:
    """The user's message for display: text as plain text, attachments as chips."""
    parts: list[dict[str, Any]] = []
    for item in turn.user_input:
        if item.get("type") == "text":
            parts.append({"kind": "text", "text": item.get("text", "")})
            continue
        part = {
            "kind": "attachment",
            "type": item.get("type"),
            "mime_type": item.get("mime_type"),
            "name": item.get("name") or item.get("type"),
        }
        if src := file_url(item.get("attachment")):
            part["src"] = src
        elif isinstance(item.get("uri"), str) and item["uri"].startswith(("https://", "http://")):
            part["uri"] = item["uri"]
        parts.append(part)
    return parts


def live_text(step: dict[str, Any]) -> str:
    """The plain text of a step still streaming: its answer text or thought summary."""
    items = step.get("content") if step.get("type") == "model_output" else step.get("summary")
    return "".join(i.get("text", "") for i in items or [] if i.get("type") == "text")


def step_view(
    steps: list[dict[str, Any]], index: int, live: bool = False, file_url: FileUrls = OWNER
) -> dict[str, Any]:
    """The view of the display block starting at `index`: live text, or rendered parts."""
    step = joined(steps, index)
    if live:
        return {"index": index, "type": step.get("type"), "live": True, "text": live_text(step)}
    return {"index": index, "type": step.get("type"), "parts": _rendered(step, file_url)}


def _rendered(step: dict[str, Any], file_url: FileUrls) -> list[dict[str, Any]]:
    # A step is rendered when it finishes and again in the turn's final frame: once is enough.
    try:
        key = json.dumps(step, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return render_steps([step], file_url)
    return _rendered_json(key, file_url, translation.get_language())


@lru_cache(maxsize=512)
def _rendered_json(key: str, file_url: FileUrls, language: str | None) -> list[dict[str, Any]]:
    # `language` is in the key: the parts hold translated labels ("Copy code", errors).
    return render_steps([json.loads(key)], file_url)


def step_views(
    steps: list[dict[str, Any]], open_steps: Collection[int] = (), file_url: FileUrls = OWNER
) -> list[dict[str, Any]]:
    """One view per display block: rendered parts once finished, plain text while streaming."""
    views = []
    for index in block_starts(steps):
        live = any(i in open_steps for i in block_members(steps, index))
        views.append(step_view(steps, index, live, file_url))
    return views


def turn_payload(
    turn: Turn,
    siblings: list[Turn] | None = None,
    *,
    steps: list[dict[str, Any]] | None = None,
    open_steps: Collection[int] = (),
    file_url: FileUrls = OWNER,
) -> dict[str, Any]:
    ids = [s.pk for s in siblings] if siblings else [turn.pk]
    position = ids.index(turn.pk) if turn.pk in ids else 0
    payload = {
        "id": turn.pk,
        "conversation": turn.conversation_id,
        "parent": turn.parent_id,
        "siblings": ids,
        "sibling_index": position,
        # Counted the way a reader does: edits on the question, regenerations on the answer.
        "versions": versions(turn, siblings or [turn]),
        "user": user_parts(turn, file_url),
        "user_text": turn.user_text,
        "answer_text": turn.answer_text,  # the answer's Markdown, for Copy
        "model": turn.model,
        "model_name": catalogue.name(turn.model),
        "status": turn.status,
        "steps": step_views(turn.steps if steps is None else steps, open_steps, file_url),
        "usage": turn.usage,
        "meter": meter(turn.model, turn.usage),  # tokens by kind and cost, under the answer
        "error": turn.error,
        "thinking_seconds": thinking_seconds(turn.thinking_ms),
        "created": turn.created.isoformat(),
    }
    payload["structured"] = turn.structured
    payload["research_plan"] = is_plan(turn)
    payload["json_html"] = structured_html(turn) if turn.structured is not None else ""
    payload["html"] = render_turn(payload)
    return payload


def structured_html(turn: Turn) -> str:
    """A structured answer as highlighted, indented JSON ("" when it is not JSON)."""
    from .structured import render_json_html

    try:
        value = json.loads(turn.answer_text)
    except (json.JSONDecodeError, TypeError):
        return ""
    return render_json_html(json.dumps(value, indent=2, ensure_ascii=False))


def render_turn(payload: dict[str, Any]) -> str:
    """The turn's HTML, from the same template the page uses."""
    html: str = render_to_string(
        "chat/_turn.html", {"t": payload, "using_simulator": settings.USE_SIMULATOR}
    )
    return html


def render_step(view: dict[str, Any]) -> str:
    html: str = render_to_string("chat/_step.html", {"step": view})
    return html


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "title": conversation.title or gettext("New chat"),
        "model": conversation.model,
        "pinned": conversation.pinned,
        "archived": conversation.archived,
        "updated": conversation.updated.isoformat(),
        "url": conversation.get_absolute_url(),
    }
