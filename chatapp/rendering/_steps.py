"""Display parts for the ``steps`` of a turn (see the wire spec, §5-§6)."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext

from ..file_refs import OWNER, FileUrls
from ._citations import render_text_with_citations
from ._markdown import PUA, clean_text, code_block_html, is_http_url, is_int, render_markdown
from ._places import maps_places

_MAX_JSON_CHARS = 20_000
_MEDIA = ("image", "audio", "video", "document")
_QUERY_TOOLS = ("google_search_call", "google_maps_call", "retrieval_call")


def render_steps(
    steps: list[dict[str, Any]] | None, file_url: FileUrls = OWNER
) -> list[dict[str, Any]]:
    """Display parts for a turn's ``steps`` as the API returned them.

    ``user_input`` steps are skipped (the page shows the user's message itself). Saved files
    link to ``file_url(reference)``: the owner's URL unless the page is another route's.
    """
    parts: list[dict[str, Any]] = []
    for step in steps or []:
        if not isinstance(step, dict):
            continue
        kind = step.get("type")
        if kind == "user_input":
            continue
        if kind == "model_output":
            parts += _model_output(step, file_url)
        elif kind == "thought":
            parts.append(_thought(step, file_url))
        elif isinstance(kind, str) and kind.endswith("_call"):
            parts.append(_tool_call(step, kind))
        elif isinstance(kind, str) and kind.endswith("_result"):
            parts.append(_tool_result(step, kind, file_url))
        else:
            parts.append({"kind": "unknown", "type": _plain(kind)})
    return parts


def _model_output(step: dict[str, Any], file_url: FileUrls) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for item in _list(step.get("content")):
        kind = item.get("type")
        if kind == "text":
            text = clean_text(item.get("text"))
            if text:
                annotations = _list(item.get("annotations"))
                html_, sources = render_text_with_citations(text, annotations)
                part: dict[str, Any] = {"kind": "text", "html": html_, "sources": sources}
                # Google's display rules: places from Maps are credited to "Google Maps".
                if any(a.get("type") == "place_citation" for a in annotations):
                    part["maps_attribution"] = True
                parts.append(part)
        elif kind in _MEDIA:
            parts.append(_media(item, file_url))
        else:
            parts.append({"kind": "unknown", "type": _plain(kind)})
    error = step.get("error")
    if error and isinstance(error, dict | str):
        message = error.get("message") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        parts.append(
            {
                "kind": "error",
                "message": _plain(message) or gettext("The model reported an error."),
                "code": code if is_int(code) else None,
            }
        )
    return parts


def _media(item: dict[str, Any], file_url: FileUrls) -> dict[str, Any]:
    """Media content, passed through: the caller decides how (and whether) to serve it."""
    part: dict[str, Any] = {"kind": item.get("type"), "mime_type": _plain(item.get("mime_type"))}
    if src := file_url(item.get("attachment")):
        # Saved as a file by the relay: served by the app, owner-checked.
        part["src"] = src
    elif isinstance(item.get("data"), str):
        part["data"] = item["data"]
    elif isinstance(item.get("uri"), str):
        part["uri"] = item["uri"]
    return part


def _thought(step: dict[str, Any], file_url: FileUrls) -> dict[str, Any]:
    summary = _list(step.get("summary"))
    texts = [clean_text(i.get("text")) for i in summary if i.get("type") == "text"]
    return {
        "kind": "thought",
        "summary_html": "".join(render_markdown(t) for t in texts if t.strip()),
        "images": [_media(i, file_url) for i in summary if i.get("type") == "image"],
        "has_signature": bool(step.get("signature")),
    }


def _tool_call(step: dict[str, Any], kind: str) -> dict[str, Any]:
    arguments = step.get("arguments")
    part: dict[str, Any] = {
        "kind": "tool_call",
        "type": kind,
        "name": _plain(step.get("name")) or kind.removesuffix("_call"),
        "id": _plain(step.get("id")),
        "arguments_json": _pretty_json(arguments) if arguments is not None else "",
    }
    args = arguments if isinstance(arguments, dict) else {}
    if isinstance(step.get("server_name"), str):
        part["server_name"] = _plain(step["server_name"])
    if kind == "code_execution_call":
        part["code"] = clean_text(args.get("code"))
        part["language"] = _plain(args.get("language")) or "python"
        part["code_html"] = code_block_html(part["code"], part["language"])
    elif kind in _QUERY_TOOLS:
        part["queries"] = [
            clean_text(q) for q in _list_any(args.get("queries")) if isinstance(q, str)
        ]
        if isinstance(step.get("search_type"), str):
            part["search_type"] = _plain(step["search_type"])
    elif kind == "url_context_call":
        part["urls"] = [clean_text(u) for u in _list_any(args.get("urls")) if isinstance(u, str)]
    return part


def _json_value(text: str) -> Any:
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _tool_result(step: dict[str, Any], kind: str, file_url: FileUrls) -> dict[str, Any]:
    result = step.get("result")
    part: dict[str, Any] = {
        "kind": "tool_result",
        "type": kind,
        "name": _plain(step.get("name")) or kind.removesuffix("_result"),
        "call_id": _plain(step.get("call_id")),
        "is_error": bool(step.get("is_error")),
    }
    if isinstance(step.get("server_name"), str):
        part["server_name"] = _plain(step["server_name"])
    if kind == "google_maps_result":
        part.update(maps_places(_list(result)))
    elif kind == "google_search_result":
        # Google's widget, raw: only ever for a sandboxed iframe's srcdoc.
        snippets = [
            r["search_suggestions"]
            for r in _list(result)
            if isinstance(r.get("search_suggestions"), str)
        ]
        part["search_suggestions_html"] = "\n".join(snippets)
    elif kind == "url_context_result":
        part["urls"] = [
            {
                "url": _plain(r.get("url")),
                "link": is_http_url(_plain(r.get("url")).strip()),
                "status": _plain(r.get("status")) or "unknown",
            }
            for r in _list(result)
        ]
    elif isinstance(result, str):
        part["output"] = clean_text(result)
    elif isinstance(result, list) and result and all(_is_content(r) for r in result):
        text = "".join(clean_text(r.get("text")) for r in result if r["type"] == "text")
        part["media"] = [_media(r, file_url) for r in result if r["type"] in _MEDIA]
        # A tool's object goes back as JSON in a text block: show it as JSON again.
        as_json = _json_value(text)
        if isinstance(as_json, dict | list):
            part["result_json"] = _pretty_json(as_json)
        else:
            part["output"] = text
    elif result is not None:
        part["result_json"] = _pretty_json(result)
    return part


def _is_content(value: object) -> bool:
    return isinstance(value, dict) and value.get("type") in ("text", *_MEDIA)


def plain_text(steps: list[dict[str, Any]] | None) -> str:
    """The answer's text (after the last user input), for search indexing and titles.

    Adjacent text items join as-is (they are one streamed text); text separated by other
    steps or content joins with a blank line.
    """
    runs: list[list[str]] = [[]]
    for step in steps or []:
        if not isinstance(step, dict):
            continue
        if step.get("type") == "user_input":
            runs = [[]]
        elif step.get("type") == "model_output":
            for item in _list(step.get("content")):
                if item.get("type") == "text":
                    runs[-1].append(PUA.sub("", clean_text(item.get("text"))))
                else:
                    runs.append([])
        elif step.get("type") != "thought":
            runs.append([])
    return "\n\n".join(t for t in ("".join(r).strip() for r in runs) if t)


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _list_any(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _plain(value: object) -> str:
    return clean_text(value) if isinstance(value, str) else ""


def _pretty_json(value: object) -> str:
    if isinstance(value, str):
        text = clean_text(value)
    else:
        try:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
        text = clean_text(text)
    if len(text) > _MAX_JSON_CHARS:
        text = text[:_MAX_JSON_CHARS] + "\n… (truncated)"
    return text
