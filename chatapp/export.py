"""Export: the branch on screen as Markdown, or the whole tree as JSON (steps as stored).

The JSON is the format `chatapp.importer` reads back (`EXPORT_FORMAT`, `EXPORT_VERSION`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from .branches import Tree, turn_id
from .file_refs import FileUrls
from .models import Conversation, Turn

EXPORT_FORMAT = "gemini-team-chat.conversation"
EXPORT_VERSION = 1
# Markdown that only works at the start of a line: headings, lists, quotes, fences, tables.
_BLOCK_START = re.compile(r"\s*(#|[-*+] |\d+[.)] |>|`{3}|~{3}|\||!\[)|    ")


def export_filename(conversation: Conversation, extension: str) -> str:
    slug = slugify(conversation.title)[:80].strip("-") or f"conversation-{conversation.pk}"
    return f"{slug}.{extension}"


def export_data(conversation: Conversation) -> dict[str, Any]:
    """The whole tree as JSON: every turn, its steps exactly as stored."""
    turns = sorted(conversation.turns.all(), key=lambda t: (t.created, t.pk))
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported": timezone.now().isoformat(),
        "title": conversation.title,
        "created": conversation.created.isoformat(),
        "settings": {name: getattr(conversation, name) for name in Conversation.SETTINGS},
        "current_turn": conversation.current_turn_id,
        "turns": [
            {
                "id": t.pk,
                "parent": t.parent_id,
                "model": t.model,
                "user_input": t.user_input,
                "user_text": t.user_text,
                "steps": t.steps,
                "answer_text": t.answer_text,
                "status": t.status,
                "usage": t.usage,
                "error": t.error,
                "structured": t.structured,
                "interaction_id": t.interaction_id,
                "stored": t.stored,
                "created": t.created.isoformat(),
                "finished": t.finished.isoformat() if t.finished else None,
            }
            for t in turns
        ],
    }


def export_markdown(conversation: Conversation, base_url: str, leaf: str | None = None) -> str:
    """The branch on screen (or the one ending at `leaf`) as a Markdown document."""
    tree = Tree.of(conversation.turns.all())
    wanted = turn_id(leaf) if leaf else None
    if wanted is not None and wanted in tree.by_id:
        branch = tree.path_to(tree.by_id[wanted])
    else:
        branch = tree.branch(conversation.current_turn_id)
    title = one_line(conversation.title) or "Conversation"
    lines = [f"# {title}", ""]
    for turn in branch:
        lines += _markdown_turn(turn, base_url)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_turn(turn: Turn, base_url: str) -> list[str]:
    out = [_labelled("You", turn.user_text), ""]
    files = [
        _media_link(i, base_url)
        for i in turn.user_input
        if isinstance(i, dict) and i.get("type") != "text"
    ]
    out += [f"- {f}" for f in files if f]
    if files:
        out.append("")
    sources: dict[str, tuple[int, str]] = {}
    answer = [part for step in turn.steps for part in _step_markdown(step, base_url, sources)]
    if turn.error and isinstance(turn.error, dict):
        answer.append(f"_Error: {one_line(str(turn.error.get('message') or ''))}_")
    elif turn.status not in (Turn.Status.COMPLETED, Turn.Status.INCOMPLETE) and not answer:
        answer.append(f"_(no answer: {turn.status})_")
    body = "\n\n".join(a for a in answer if a.strip())
    out += [_labelled(one_line(turn.model) or "Model", body), ""]
    if sources:
        out.append("Sources:")
        for url, (n, title) in sorted(sources.items(), key=lambda s: s[1][0]):
            out.append(f"{n}. [{_link_label(title or url)}](<{url}>)")
        out.append("")
    out += ["---", ""]
    return out


def _step_markdown(step: Any, base_url: str, sources: dict[str, tuple[int, str]]) -> list[str]:
    """One step of the answer as Markdown blocks; cited sources are added to `sources`."""
    if not isinstance(step, dict):
        return []
    kind = str(step.get("type") or "")
    if kind == "model_output":
        blocks = []
        for item in step.get("content") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "text":
                blocks.append(_cited(str(item.get("text") or ""), item, sources))
            elif link := _media_link(item, base_url):
                blocks.append(link)
        return blocks
    if kind.endswith("_call"):
        return [_fenced(_call_text(step, kind), "python" if "code" in kind else "")]
    if kind.endswith("_result") and (result := _result_text(step)):
        return [_fenced(result, "text")]
    return []


def _labelled(label: str, body: str) -> str:
    """`**label:** text`, or the label on its own line when the text starts with a block."""
    body = body.strip("\n")
    separator = "\n\n" if _BLOCK_START.match(body) else " "
    return f"**{_link_label(label)}:**{separator}{body}".rstrip()


def _cited(text: str, item: dict[str, Any], sources: dict[str, tuple[int, str]]) -> str:
    """The text with `[n]` after each cited span (annotation offsets are UTF-8 bytes)."""
    raw = text.encode("utf-8")
    marks: list[tuple[int, int]] = []
    for ann in item.get("annotations") or []:
        if not isinstance(ann, dict) or ann.get("type") not in ("url_citation", "place_citation"):
            continue
        url = ann.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        if url not in sources:
            sources[url] = (len(sources) + 1, one_line(str(ann.get("title") or "")))
        end = ann.get("end_index")
        if isinstance(end, int) and 0 <= end <= len(raw):
            while end < len(raw) and raw[end] & 0xC0 == 0x80:
                end += 1  # never cut a character in two
            marks.append((end, sources[url][0]))
    for end, n in sorted(set(marks), reverse=True):
        raw = raw[:end] + f"[{n}]".encode() + raw[end:]
    return raw.decode("utf-8")


def _media_link(item: dict[str, Any], base_url: str) -> str:
    kind = str(item.get("type") or "file")
    label = _link_label(str(item.get("name") or kind))
    if url := FileUrls.absolute(base_url)(item.get("attachment")):
        return f"![{label}]({url})" if kind == "image" else f"[{label}]({url})"
    uri = item.get("uri")
    if isinstance(uri, str) and uri.startswith(("https://", "http://")):
        return f"[{label}](<{uri}>)"
    if kind in ("image", "audio", "video", "document"):
        return f"({kind}, {item.get('mime_type') or 'inline data'}, not exported)"
    return ""


def _call_text(step: dict[str, Any], kind: str) -> str:
    arguments = step.get("arguments")
    if kind == "code_execution_call" and isinstance(arguments, dict):
        return short(str(arguments.get("code") or ""), 2_000)
    name = step.get("name") or kind.removesuffix("_call")
    return f"{name}({short(json.dumps(arguments, ensure_ascii=False, default=str), 500)})"


def _result_text(step: dict[str, Any]) -> str:
    result = step.get("result")
    if isinstance(result, list):
        texts = [r.get("text") for r in result if isinstance(r, dict) and r.get("type") == "text"]
        if texts:
            return short("".join(str(t) for t in texts), 500)
    if isinstance(result, str):
        return short(result, 500)
    return ""


def _fenced(text: str, language: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def one_line(text: str) -> str:
    return " ".join(text.split())


def _link_label(text: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", one_line(text))
