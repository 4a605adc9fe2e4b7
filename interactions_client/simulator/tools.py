"""Tool handling: which function to call, its arguments, and the server-side tool steps."""

from __future__ import annotations

import re

from .errors import bad_request
from .inputs import JSON
from .schema_fill import fill

_URL = re.compile(r"https?://[^\s<>\"'“”()\[\]]+")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'-]*")


def tools_of(body: JSON, kind: str) -> list[JSON]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    return [t for t in tools if isinstance(t, dict) and t.get("type") == kind]


def _tool_choice(body: JSON) -> tuple[str, set[str] | None]:
    """(mode, allowed names or None) from ``generation_config.tool_choice``."""
    config = body.get("generation_config")
    choice = config.get("tool_choice") if isinstance(config, dict) else None
    if isinstance(choice, str):
        return choice, None
    if isinstance(choice, dict) and isinstance(choice.get("allowed_tools"), dict):
        allowed = choice["allowed_tools"]
        names = allowed.get("tools")
        mode = allowed.get("mode") if isinstance(allowed.get("mode"), str) else "auto"
        return str(mode), {n for n in names if isinstance(n, str)} if isinstance(
            names, list
        ) else None
    return "auto", None


def choose_function(body: JSON, prompt: str) -> JSON | None:
    """The function tool the simulated model calls, or None (no tools / tool_choice none)."""
    functions = [f for f in tools_of(body, "function") if isinstance(f.get("name"), str)]
    mode, allowed = _tool_choice(body)
    if mode == "none":
        return None
    if allowed is not None:
        functions = [f for f in functions if f["name"] in allowed]
    if not functions:
        return None
    words = {w.lower() for w in _WORD.findall(prompt) if len(w) >= 3}

    def score(tool: JSON) -> int:
        blob = f"{tool['name'].replace('_', ' ')} {tool.get('description') or ''}".lower()
        vocab = set(_WORD.findall(blob))
        return len(words & vocab)

    best = max(functions, key=score)  # max() keeps the first of equal scores
    return best


def string_argument(prompt: str) -> str:
    """Last capitalized word that is not the first word ("… in London?" → "London")."""
    words: list[str] = _WORD.findall(prompt)
    for word in reversed(words[1:]):
        if word[0].isupper():
            return word
    return prompt


def function_arguments(tool: JSON, prompt: str) -> JSON:
    params = tool.get("parameters")
    if not isinstance(params, dict):
        params = tool.get("parameters_json_schema")
    if not isinstance(params, dict) or not params.get("properties"):
        return {}
    schema = dict(params)
    required = schema.get("required")
    if isinstance(required, list) and required:
        # A model usually fills only what is required; keep the call small and plausible.
        props = schema["properties"]
        schema["properties"] = {k: v for k, v in props.items() if k in required}
    value = fill(schema, lambda _path: string_argument(prompt))
    return value if isinstance(value, dict) else {}


def urls_in(text: str) -> list[str]:
    seen: list[str] = []
    for url in _URL.findall(text):
        url = url.rstrip(".,;:!?")
        if url not in seen:
            seen.append(url)
    return seen


def search_query(prompt: str) -> str:
    words = [w for w in re.findall(r"\S+", prompt) if not w.startswith("[[sim:")]
    return " ".join(words)[:120].rstrip(" ?!.") or "simulated search"


def citation_sources(query: str) -> list[tuple[str, str]]:
    q = "+".join(query.split())
    return [
        (f"https://www.google.com/search?q={q}", "google.com"),
        (f"https://en.wikipedia.org/w/index.php?search={q}", "wikipedia.org"),
    ]


def code_for(prompt: str) -> tuple[str, str]:
    """Code the model-side ``code_execution`` tool runs, and its (precomputed) output."""
    words = prompt.split()
    code = (
        f"text = {prompt!r}\n"
        "words = text.split()\n"
        "print(len(words), 'words,', len(text), 'characters')\n"
    )
    return code, f"{len(words)} words, {len(prompt)} characters\n"


def file_search_tool(body: JSON) -> JSON | None:
    """The request's ``file_search`` tool, checked as the API would (None when absent)."""
    found = tools_of(body, "file_search")
    if not found:
        return None
    tool = found[0]
    names = tool.get("file_search_store_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise bad_request("file_search needs 'file_search_store_names': a list of store names.")
    top_k = tool.get("top_k", 5)
    if not isinstance(top_k, int) or top_k < 1:
        raise bad_request("file_search 'top_k' must be a positive integer.")
    metadata_filter = tool.get("metadata_filter")
    if metadata_filter is not None and not isinstance(metadata_filter, str):
        raise bad_request("file_search 'metadata_filter' must be a string.")
    return tool


def passage_result(passage: JSON) -> JSON:
    """One item of ``file_search_result.result`` (an open object in the SDK; these fields
    follow the ``retrievedContext`` of generateContent's grounding metadata)."""
    out: JSON = {
        "title": passage["file_name"],
        "text": passage["text"],
        "file_search_store": passage["store"],
        "document_name": passage["document"],
    }
    if passage.get("page_number") is not None:
        out["page_number"] = passage["page_number"]
    return out
