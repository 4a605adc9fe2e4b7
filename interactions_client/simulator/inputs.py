"""Request input: the four accepted ``input`` shapes, normalized to a list of steps.

Also the read-only view of a conversation (``Context``) that the "brain" works from.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

JSON = dict[str, Any]

CONTENT_TYPES = frozenset({"text", "image", "audio", "video", "document"})
STEP_TYPES = frozenset(
    {
        "user_input",
        "model_output",
        "thought",
        "function_call",
        "function_result",
        "code_execution_call",
        "code_execution_result",
        "google_search_call",
        "google_search_result",
        "url_context_call",
        "url_context_result",
        "google_maps_call",
        "google_maps_result",
        "file_search_call",
        "file_search_result",
        "mcp_server_tool_call",
        "mcp_server_tool_result",
        "retrieval_call",
        "retrieval_result",
        "tool_search_call",
        "tool_search_result",
        "processing_call",
        "processing_result",
    }
)
# Rough per-item token costs; the real API charges media by size/duration.
MEDIA_TOKENS = {"image": 258, "audio": 96, "video": 300, "document": 258}
_WORD = re.compile(r"\S+")


def count_tokens(text: str) -> int:
    return len(_WORD.findall(text))


def text_item(text: str) -> JSON:
    return {"type": "text", "text": text}


def _content(item: object) -> JSON:
    if isinstance(item, str):
        return text_item(item)
    if not isinstance(item, dict):
        raise bad_request("Invalid content item: expected an object.")
    kind = item.get("type")
    if kind is None and "text" in item:
        # The SDK adds "type": "text" to text-only items; raw REST clients may not.
        item = {"type": "text", **item}
        kind = "text"
    if not isinstance(kind, str):
        raise bad_request("Invalid content item: missing 'type'.")
    if kind == "text" and not isinstance(item.get("text"), str):
        raise bad_request("Invalid text content: 'text' must be a string.")
    for key in ("data", "uri", "mime_type", "name"):
        if key in item and not isinstance(item[key], str):
            raise bad_request(f"Invalid {kind} content: '{key}' must be a string.")
    notes = item.get("annotations")
    if notes is not None and not (
        isinstance(notes, list) and all(isinstance(n, dict) for n in notes)
    ):
        raise bad_request("Invalid 'annotations': expected a list of objects.")
    return dict(item)


def _content_list(raw: object) -> list[JSON]:
    if raw is None:
        return []
    if isinstance(raw, (str, dict)):
        return [_content(raw)]
    if isinstance(raw, list):
        return [_content(item) for item in raw]
    raise bad_request("Invalid 'content': expected a string, an object or a list.")


def _require(step: JSON, key: str, kinds: type | tuple[type, ...], what: str) -> None:
    if not isinstance(step.get(key), kinds):
        raise bad_request(f"{step['type']} steps need {what} '{key}'.")


def _step(raw: JSON) -> JSON:
    """Shape checks the real API would reject with INVALID_ARGUMENT."""
    step = dict(raw)
    kind = step["type"]
    if kind in ("user_input", "model_output"):
        step["content"] = _content_list(step.get("content"))
    elif kind == "thought":
        if "signature" in step and not isinstance(step["signature"], str):
            raise bad_request("thought steps need a string 'signature'.")
        if "summary" in step:
            step["summary"] = _content_list(step["summary"])
    elif kind == "function_call":
        _require(step, "id", str, "a string")
        _require(step, "name", str, "a string")
        _require(step, "arguments", dict, "an object")
    elif kind.endswith("_call"):
        _require(step, "id", str, "a string")
    elif kind.endswith("_result"):
        _require(step, "call_id", str, "a string")
        if kind == "function_result":
            _check_function_result(step)
    return step


def _check_function_result(step: JSON) -> None:
    """The SDK's three forms of ``result``: a string, an object, or a list of content blocks
    (text, image, audio, video, document, function, or a type it does not know)."""
    if "result" not in step:
        raise bad_request("function_result steps need a 'result'.")
    result = step["result"]
    if isinstance(result, str | dict):
        return
    if not isinstance(result, list):
        raise bad_request(
            "Invalid function_result 'result': expected a string, an object or a list of "
            "content blocks."
        )
    for item in result:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise bad_request(
                "Invalid function_result 'result' item: expected an object with a 'type'."
            )
        if item["type"] in CONTENT_TYPES:
            _content(item)
        elif item["type"] == "function":
            for key in ("name", "description"):
                if key in item and not isinstance(item[key], str):
                    raise bad_request(f"Invalid function item: '{key}' must be a string.")


def _is_step(item: object) -> bool:
    kind = item.get("type") if isinstance(item, dict) else None
    return isinstance(kind, str) and kind in STEP_TYPES


def normalize_input(raw: object) -> list[JSON]:
    """Turn any accepted ``input`` shape into a list of steps (raises ApiError 400)."""
    if isinstance(raw, str):
        return [{"type": "user_input", "content": [text_item(raw)]}]
    if isinstance(raw, dict):
        if _is_step(raw):
            return [_step(raw)]
        return [{"type": "user_input", "content": [_content(raw)]}]
    if isinstance(raw, list):
        if not raw:
            raise bad_request("'input' must not be an empty list.")
        if all(_is_step(item) for item in raw):
            return [_step(item) for item in raw]
        if any(_is_step(item) for item in raw):
            raise bad_request("'input' mixes steps and content items.")
        return [{"type": "user_input", "content": [_content(item) for item in raw]}]
    raise bad_request("Invalid 'input': expected a string, a content object or a list.")


def step_text(step: JSON) -> str:
    parts = [
        c["text"]
        for c in step.get("content") or []
        if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
    ]
    return "\n".join(parts)


def step_media(step: JSON) -> list[JSON]:
    return [
        c
        for c in step.get("content") or []
        if isinstance(c, dict) and c.get("type") != "text" and isinstance(c.get("type"), str)
    ]


def decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        stripped = data.strip().rstrip("=")
        return len(stripped) * 3 // 4


def describe_media(item: JSON) -> str:
    kind = str(item.get("type"))
    mime = item.get("mime_type") or "unknown mime type"
    label = f" “{item['name']}”" if isinstance(item.get("name"), str) else ""
    if isinstance(item.get("data"), str):
        return f"{kind}{label} ({mime}, {decoded_size(item['data'])} bytes inline)"
    if isinstance(item.get("uri"), str):
        return f"{kind}{label} ({mime}) at {item['uri']}"
    return f"{kind}{label} ({mime}, no data)"


def result_text(result: object) -> str:
    """Render a function/tool result (object, string or content list) as one line."""
    if isinstance(result, str):
        return result
    if isinstance(result, list) and result and all(isinstance(i, dict) for i in result):
        return " ".join(_result_item_text(item) for item in result)
    if result == []:
        return "(nothing)"
    return json.dumps(result, ensure_ascii=False, sort_keys=True)


def _result_item_text(item: JSON) -> str:
    kind = item.get("type")
    if kind == "text" and isinstance(item.get("text"), str):
        return str(item["text"])
    if kind in CONTENT_TYPES:
        return f"[{describe_media(item)}]"
    if kind == "function":
        name = item.get("name")
        return f"[function `{name}`]" if isinstance(name, str) else "[function]"
    return f"[{kind} item]" if isinstance(kind, str) else "[item]"


def step_tokens(step: JSON) -> int:
    kind = step.get("type")
    if kind in ("user_input", "model_output"):
        media = sum(MEDIA_TOKENS.get(str(m.get("type")), 100) for m in step_media(step))
        return count_tokens(step_text(step)) + media
    if kind == "function_call":
        return 2 + count_tokens(json.dumps(step.get("arguments"), ensure_ascii=False))
    if kind == "function_result":
        return 2 + count_tokens(result_text(step.get("result")))
    return 0


@dataclass
class Context:
    """Everything the model "sees": stored/replayed history plus this request's input."""

    history: list[JSON]
    new_steps: list[JSON]
    system_instruction: str | None = None
    directives: set[str] = field(default_factory=set)
    #: What the model "sees" in media given by a Files API uri (uri → description).
    media_notes: dict[str, str] = field(default_factory=dict)

    def describe(self, item: JSON) -> str:
        return self.media_notes.get(str(item.get("uri"))) or describe_media(item)

    @property
    def steps(self) -> list[JSON]:
        return self.history + self.new_steps

    def latest_user_index(self) -> int | None:
        steps = self.steps
        for i in range(len(steps) - 1, -1, -1):
            if steps[i].get("type") == "user_input":
                return i
        return None

    def latest_user(self) -> JSON | None:
        i = self.latest_user_index()
        return None if i is None else self.steps[i]

    def prompt(self) -> str:
        step = self.latest_user()
        return strip_directives(step_text(step)) if step else ""

    def raw_prompt(self) -> str:
        """The latest user text without its directives, spacing and lines kept."""
        step = self.latest_user()
        return _DIRECTIVE.sub("", step_text(step)).strip() if step else ""

    def earlier_user_texts(self) -> list[str]:
        i = self.latest_user_index()
        steps = self.steps[:i] if i is not None else []
        return [
            strip_directives(step_text(s))
            for s in steps
            if s.get("type") == "user_input" and step_text(s)
        ]

    def pending_results(self) -> list[JSON]:
        """Function results the model has not answered yet (trailing run of results)."""
        out: list[JSON] = []
        for step in reversed(self.steps):
            if step.get("type") != "function_result":
                break
            out.insert(0, step)
        return out

    def input_tokens(self) -> int:
        base = count_tokens(self.system_instruction or "")
        return max(1, base + sum(step_tokens(s) for s in self.steps))


_DIRECTIVE = re.compile(r"\[\[sim:([a-z0-9_-]+)\]\]", re.IGNORECASE)


def find_directives(text: str) -> set[str]:
    return {m.lower() for m in _DIRECTIVE.findall(text)}


def strip_directives(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", _DIRECTIVE.sub("", text)).strip()


def latest_user_text(raw_input: object) -> str:
    """Best-effort prompt of an unvalidated body (used before validation, for directives)."""
    try:
        steps = normalize_input(raw_input)
    except ApiError:
        return ""
    for step in reversed(steps):
        if step.get("type") == "user_input":
            return step_text(step)
    return ""
