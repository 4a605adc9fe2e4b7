"""The deterministic "brain": turns a request into the list of generated steps.

``draft()`` produces the complete answer first; ``split_hop()`` then cuts it into decode hops
(``requires_continuation``). The stream is derived from the resulting steps afterwards, so a
streamed interaction folds to exactly the unary/get result.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import answers, maps, research, tools
from .inputs import JSON, Context, count_tokens, step_text, text_item
from .png import paint
from .schema_fill import fill
from .signing import Signer, digest

IMAGE_OUTPUT_TOKENS = 1290


@dataclass
class Request:
    body: JSON
    ctx: Context
    model: str | None
    agent: str | None
    environment_id: str | None = None
    background: bool = False
    #: Passages the ``file_search`` tool found (None when the tool is not in the request).
    passages: list[JSON] | None = None
    #: (call, result) steps of the ``mcp_server`` tools, made before planning (network).
    mcp_calls: list[tuple[JSON, JSON]] = field(default_factory=list)


@dataclass
class Draft:
    """The whole answer of one request, before it is cut into hops."""

    steps: list[JSON]
    status: str
    thought_tokens: int = 0
    errors: list[JSON] | None = None
    text_step: int | None = None  # the model_output whose first (text) item may be split


@dataclass
class Plan:
    """What one interaction (hop) generates."""

    steps: list[JSON]
    status: str
    usage: JSON
    errors: list[JSON] | None = None
    continuation_token: str | None = None
    draft: Draft | None = field(default=None, repr=False)
    next_offset: int | None = None


def is_thinking_model(model: str | None) -> bool:
    return bool(model) and str(model).startswith(("gemini-3", "gemini-2.5"))


def _generation_config(body: JSON) -> JSON:
    config = body.get("generation_config")
    return config if isinstance(config, dict) else {}


def json_schema_request(body: JSON) -> tuple[bool, JSON | None]:
    """(wants JSON, schema) from response_format or the deprecated response_mime_type forms."""
    fmt = body.get("response_format")
    items = fmt if isinstance(fmt, list) else [fmt] if isinstance(fmt, dict) else []
    legacy = body.get("response_mime_type") == "application/json"
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text" and item.get("mime_type") == "application/json":
            schema = item.get("schema")
            return True, schema if isinstance(schema, dict) else None
        if legacy and item.get("type") not in ("text", "image", "audio", "video"):
            return True, item
    if legacy:
        config = _generation_config(body)
        for key in ("response_schema", "response_json_schema"):
            for source in (body, config):
                if isinstance(source.get(key), dict):
                    return True, source[key]
        return True, None
    return False, None


def _thought(req: Request, signer: Signer) -> tuple[JSON, int]:
    ctx = req.ctx
    seed = json.dumps([req.model or req.agent, [step_text(s) for s in ctx.steps]])
    step: JSON = {"type": "thought", "signature": signer.thought_signature(seed)}
    summary = answers.thought_summary(ctx)
    if _generation_config(req.body).get("thinking_summaries") == "auto":
        step["summary"] = [text_item(summary)]
    return step, 8 + count_tokens(summary)


def _json_text(req: Request, schema: JSON | None) -> str:
    prompt = req.ctx.prompt()
    used: list[str] = []

    def strings(path: str) -> str:
        used.append(path)
        label = f"Simulated {path.replace('_', ' ')}"
        return f"{label} for {answers.quote(prompt, 60)}" if len(used) == 1 else label

    value = fill(schema, strings) if schema else {"answer": strings("answer"), "prompt": prompt}
    return json.dumps(value, indent=2, ensure_ascii=False)


def draft(req: Request, signer: Signer, new_id: Callable[[str], str]) -> Draft:
    ctx, body = req.ctx, req.body
    steps: list[JSON] = []
    thought_tokens = 0
    if research.is_deep_research(req.agent) and "fail" not in ctx.directives:
        steps, _is_plan = research.draft(body, ctx, new_id, signer.thought_signature)
        thoughts = sum(8 + count_tokens(step_text(s)) for s in steps if s["type"] == "thought")
        return Draft(steps, "completed", thoughts, text_step=len(steps) - 1)
    if is_thinking_model(req.model) or req.agent:
        thought, thought_tokens = _thought(req, signer)
        steps.append(thought)
    prompt = ctx.prompt()
    if "fail" in ctx.directives:
        message = "Simulated model failure ([[sim:fail]])."
        partial = f"{answers.BANNER}\n\nI started answering {answers.quote(prompt)} but"
        steps.append(
            {
                "type": "model_output",
                "content": [text_item(partial)],
                "error": {"code": 13, "message": message},
            }
        )
        errors = [{"code": "internal", "message": message}]
        return Draft(steps, "failed", thought_tokens, errors=errors)
    if req.agent:
        return _agent(req, steps, thought_tokens, new_id)
    results = ctx.pending_results()
    latest_is_user = bool(ctx.steps) and ctx.steps[-1].get("type") == "user_input"
    function = tools.choose_function(body, prompt) if latest_is_user else None
    if not results and function is not None:
        steps.append(
            {
                "type": "function_call",
                "id": new_id("call"),
                "name": function["name"],
                "arguments": tools.function_arguments(function, prompt),
            }
        )
        return Draft(steps, "requires_action", thought_tokens)
    content: list[JSON]
    wants_json, schema = json_schema_request(body)
    if results:
        content = [text_item(answers.function_answer(ctx, results))]
    elif wants_json:
        content = [text_item(_json_text(req, schema))]
    else:
        content = _server_tools(req, steps, new_id)
    steps.append({"type": "model_output", "content": content})
    status = _truncate(steps[-1], _generation_config(body).get("max_output_tokens"))
    return Draft(steps, status, thought_tokens, text_step=len(steps) - 1)


def _tool_steps(
    req: Request, steps: list[JSON], new_id: Callable[[str], str], query: str
) -> tuple[list[str], list[JSON]]:
    """Append the server-side tools' call/result steps; (notes for the answer, places)."""
    body, prompt = req.body, req.ctx.prompt()
    extra: list[str] = []
    if tools.tools_of(body, "google_search"):
        call_id = new_id("search")
        steps.append(
            {"type": "google_search_call", "id": call_id, "arguments": {"queries": [query]}}
        )
        widget = answers.search_widget(query)
        steps.append(
            {
                "type": "google_search_result",
                "call_id": call_id,
                "result": [{"search_suggestions": widget}],
            }
        )
    maps_tool = maps.maps_tool(body)
    places: list[JSON] = []
    if maps_tool is not None:
        maps_call, maps_result, places = maps.maps_steps(new_id("maps"), query, maps_tool)
        steps += [maps_call, maps_result]
    for mcp_call, mcp_result in req.mcp_calls:
        steps += [mcp_call, mcp_result]
        extra.append(answers.mcp_note(mcp_call, mcp_result))
    if req.passages is not None:
        call_id = new_id("filesearch")
        steps.append({"type": "file_search_call", "id": call_id})
        result = [tools.passage_result(p) for p in req.passages]
        steps.append({"type": "file_search_result", "call_id": call_id, "result": result})
    urls = tools.urls_in(prompt) if tools.tools_of(body, "url_context") else []
    if urls:
        call_id = new_id("url")
        steps.append({"type": "url_context_call", "id": call_id, "arguments": {"urls": urls}})
        result = [{"url": u, "status": "success"} for u in urls]
        steps.append({"type": "url_context_result", "call_id": call_id, "result": result})
        extra.append("Pages I read (simulated):\n" + "\n".join(f"- {u}" for u in urls))
    if tools.tools_of(body, "code_execution"):
        code, output = tools.code_for(prompt)
        call_id = new_id("code")
        arguments = {"code": code, "language": "python"}
        steps.append({"type": "code_execution_call", "id": call_id, "arguments": arguments})
        steps.append({"type": "code_execution_result", "call_id": call_id, "result": output})
        extra.append(f"I ran code and it printed:\n\n```\n{output}```")
    return extra, places


def _server_tools(req: Request, steps: list[JSON], new_id: Callable[[str], str]) -> list[JSON]:
    ctx, body = req.ctx, req.body
    prompt = ctx.prompt()
    query = tools.search_query(prompt)
    extra, places = _tool_steps(req, steps, new_id, query)
    maps_tool = maps.maps_tool(body)
    annotations: list[JSON] = []
    if req.passages is not None:
        text, annotations = answers.file_search_answer(ctx, req.passages)
        text = "\n\n".join([text, *extra])
    elif maps_tool is not None:
        head = "\n\n".join(answers.preamble(ctx))
        text, annotations = maps.maps_answer(head, places, maps_tool)
        text = "\n\n".join([text, *extra])
    elif tools.tools_of(body, "google_search"):
        text, annotations = answers.search_answer(ctx, tools.citation_sources(query))
        if "long" in ctx.directives:
            extra.append(answers.long_body(prompt))
        text = "\n\n".join([text, *extra])
    elif "echo" in ctx.directives:
        text = "\n\n".join([answers.echo_answer(ctx), *extra])
    elif answers.asks_for_title(ctx):
        text = answers.title_answer(ctx)
    else:
        text = "\n\n".join([answers.chat_answer(ctx, long="long" in ctx.directives), *extra])
    item = text_item(text)
    if annotations:
        item["annotations"] = annotations
    if "image" in (req.model or ""):
        return [item, _image(ctx)]
    return [item]


def _image(ctx: Context) -> JSON:
    users = [step_text(s) for s in ctx.steps if s.get("type") == "user_input"]
    png = paint(users[0] if users else "", "\n".join(users))
    return {"type": "image", "mime_type": "image/png", "data": base64.b64encode(png).decode()}


def _agent(req: Request, steps: list[JSON], thought: int, new_id: Callable[[str], str]) -> Draft:
    code, output = answers.agent_script(req.ctx.prompt())
    call_id = new_id("exec")
    arguments = {"code": code, "language": "python"}
    steps.append({"type": "code_execution_call", "id": call_id, "arguments": arguments})
    steps.append({"type": "code_execution_result", "call_id": call_id, "result": output})
    where = f" in environment `{req.environment_id}`" if req.environment_id else ""
    text = "\n\n".join(
        [
            *answers.preamble(req.ctx),
            f"I wrote and ran this script{where} (simulated sandbox):",
            f"```python\n{code}```",
            f"Output:\n\n```\n{output}```",
        ]
    )
    steps.append({"type": "model_output", "content": [text_item(text)]})
    return Draft(steps, "completed", thought, text_step=len(steps) - 1)


def _truncate(step: JSON, max_tokens: object) -> str:
    """Cut the answer at ``max_output_tokens`` words; returns the resulting status."""
    item = step["content"][0]
    if not isinstance(max_tokens, int) or count_tokens(item["text"]) <= max_tokens:
        return "completed"
    words = list(re.finditer(r"\S+", item["text"]))
    cut = words[max(max_tokens, 1) - 1].end()
    item["text"] = item["text"][:cut]
    limit = len(item["text"].encode())
    if "annotations" in item:
        item["annotations"] = [a for a in item["annotations"] if a["end_index"] <= limit]
    del step["content"][1:]
    return "incomplete"


def _cut(text: str, start: int, limit: int) -> int:
    end = start + limit
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", start + limit // 2, end)
    newline = text.rfind("\n", start + limit // 2, end)
    best = max(space, newline)
    return best + 1 if best >= 0 else end


def _slice_item(item: JSON, start: int, end: int) -> JSON:
    text: str = item["text"]
    out = text_item(text[start:end])
    lo, hi = len(text[:start].encode()), len(text[:end].encode())
    kept = [
        {**a, "start_index": a["start_index"] - lo, "end_index": a["end_index"] - lo}
        for a in item.get("annotations") or []
        if a["start_index"] >= lo and a["end_index"] <= hi
    ]
    if kept:
        out["annotations"] = kept
    return out


def split_hop(
    d: Draft, offset: int, hop_chars: int | None, token: Callable[[int, str], str]
) -> tuple[list[JSON], str, str | None, int | None]:
    """Steps, status, continuation token and next offset of the hop starting at ``offset``."""
    if d.text_step is None:
        return d.steps, d.status, None, None
    step = d.steps[d.text_step]
    text: str = step["content"][0]["text"]
    end = len(text) if hop_chars is None else _cut(text, offset, hop_chars)
    head = d.steps[: d.text_step] if offset == 0 else []
    out_step = {k: v for k, v in step.items() if k != "content"}
    if end < len(text):
        out_step["content"] = [_slice_item(step["content"][0], offset, end)]
        return [*head, out_step], "requires_continuation", token(end, digest(text)), end
    out_step["content"] = [_slice_item(step["content"][0], offset, end), *step["content"][1:]]
    return [*head, out_step, *d.steps[d.text_step + 1 :]], d.status, None, None


def usage_for(steps: list[JSON], input_tokens: int, thought_tokens: int) -> JSON:
    output = 0
    for step in steps:
        kind = step.get("type")
        if kind == "model_output":
            for item in step.get("content") or []:
                if item.get("type") == "text":
                    output += count_tokens(item["text"])
                else:
                    output += IMAGE_OUTPUT_TOKENS
        elif kind in ("function_call", "code_execution_call"):
            output += 2 + count_tokens(json.dumps(step.get("arguments")))
    thought = thought_tokens if any(s.get("type") == "thought" for s in steps) else 0
    usage: JSON = {"total_input_tokens": input_tokens, "total_output_tokens": output}
    if thought:
        usage["total_thought_tokens"] = thought
    usage["total_tokens"] = input_tokens + output + thought
    return usage
