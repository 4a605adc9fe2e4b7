"""The ``mcp_server`` tool: the simulated model calls a real MCP server over streamable HTTP.

One JSON-RPC session per server and turn (``initialize``, ``notifications/initialized``,
``tools/list``, ``tools/call``), answered as JSON or as an SSE stream, with the
``Mcp-Session-Id`` the server hands out. A server that is down, refuses (401/403, 5xx) or
is too slow ends up as an error *result* of the call, so the answer can say what happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from .errors import ApiError, bad_request
from .inputs import JSON, normalize_input, step_text, strip_directives
from .tools import choose_function, function_arguments, tools_of

PROTOCOL_VERSION = "2025-06-18"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")


class McpFailure(Exception):
    """The MCP server could not serve the call (transport, HTTP status or JSON-RPC error)."""


def mcp_tools(body: JSON) -> list[JSON]:
    """The request's ``mcp_server`` tools, checked as the API would (name and url needed)."""
    found = tools_of(body, "mcp_server")
    for tool in found:
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise bad_request("mcp_server tools need a 'name'.")
        url = tool.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad_request("mcp_server tools need an http(s) 'url'.")
        headers = tool.get("headers")
        if headers is not None and not (
            isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
        ):
            raise bad_request("mcp_server 'headers' must map names to strings.")
    return found


def _allowed(tool: JSON) -> set[str] | None:
    """Tool names ``allowed_tools`` permits (None: all); ``mode: none`` permits nothing."""
    entries = tool.get("allowed_tools")
    if not isinstance(entries, list) or not entries:
        return None
    names: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("mode") == "none":
            continue
        listed = entry.get("tools")
        if not isinstance(listed, list):
            return None
        names |= {n for n in listed if isinstance(n, str)}
    return names


def _best(tools: list[JSON], prompt: str) -> JSON:
    words = {w.lower() for w in _WORD.findall(prompt)}

    def score(tool: JSON) -> int:
        blob = f"{str(tool.get('name', '')).replace('_', ' ')} {tool.get('description') or ''}"
        return len(words & {w.lower() for w in _WORD.findall(blob)})

    return max(tools, key=score)


class _Session:
    def __init__(self, client: httpx.AsyncClient, tool: JSON) -> None:
        self.client = client
        self.url = str(tool["url"])
        self.headers = {
            **(tool.get("headers") or {}),
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
        }
        self.next_id = 0

    async def notify(self, method: str) -> None:
        await self._post({"jsonrpc": "2.0", "method": method})

    async def call(self, method: str, params: JSON) -> Any:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        reply = await self._post(message)
        if not isinstance(reply, dict):
            raise McpFailure(f"{method}: the server sent no JSON-RPC response")
        if isinstance(reply.get("error"), dict):
            error = reply["error"]
            raise McpFailure(
                f"{method}: JSON-RPC error {error.get('code')}: {error.get('message')}"
            )
        return reply.get("result")

    async def _post(self, message: JSON) -> JSON | None:
        try:
            response = await self.client.post(self.url, json=message, headers=self.headers)
        except httpx.TimeoutException as exc:
            raise McpFailure(f"the server did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise McpFailure(f"could not connect ({type(exc).__name__}: {exc})") from exc
        if response.status_code in (401, 403):
            raise McpFailure(f"the server refused the credentials (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise McpFailure(f"the server answered HTTP {response.status_code}")
        session = response.headers.get("mcp-session-id")
        if session:
            self.headers["mcp-session-id"] = session
        if "id" not in message or response.status_code == 202:
            return None
        return _reply(response, message["id"])


def _reply(response: httpx.Response, message_id: object) -> JSON | None:
    """The JSON-RPC response to ``message_id`` from a JSON body or an SSE stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                try:
                    data = json.loads(line[5:].strip())
                except ValueError:
                    continue
                if isinstance(data, dict) and data.get("id") == message_id:
                    return data
        return None
    try:
        data = response.json()
    except ValueError as exc:
        raise McpFailure("the server's answer is not JSON") from exc
    return data if isinstance(data, dict) else None


def _content(result: JSON) -> list[JSON] | JSON:
    """An MCP ``CallToolResult`` as the step's result: a list of content items."""
    if result.get("structuredContent") is not None and not result.get("content"):
        return dict(result["structuredContent"])
    items: list[JSON] = []
    for item in result.get("content") or []:
        if item.get("type") == "text":
            items.append({"type": "text", "text": str(item.get("text", ""))})
        elif item.get("type") in ("image", "audio"):
            items.append(
                {"type": item["type"], "data": item.get("data"), "mime_type": item.get("mimeType")}
            )
        else:  # resources and links: kept readable as text
            items.append({"type": "text", "text": json.dumps(item, ensure_ascii=False)})
    return items


def _new_user_turn(body: JSON) -> str:
    """The prompt when this request opens a user turn (not a continuation, not results)."""
    if body.get("continuation_token") is not None:
        return ""
    try:
        steps = normalize_input(body.get("input"))
    except ApiError:
        return ""  # planning reports the bad input
    if not steps or steps[-1].get("type") != "user_input":
        return ""
    return strip_directives(step_text(steps[-1]))


async def run_mcp_tools(
    body: JSON, new_id: Callable[[str], str], wait_seconds: float
) -> list[tuple[JSON, JSON]]:
    """For each ``mcp_server`` tool, the (call, result) steps of one call the model makes
    in a new user turn (none otherwise)."""
    prompt = _new_user_turn(body)
    if not prompt or not mcp_tools(body) or choose_function(body, prompt) is not None:
        return []  # a turn that calls one of the caller's functions stops there
    pairs: list[tuple[JSON, JSON]] = []
    async with httpx.AsyncClient(timeout=wait_seconds) as client:
        for tool in mcp_tools(body):
            pair = await _one_server(client, tool, prompt, new_id)
            if pair is not None:
                pairs.append(pair)
    return pairs


async def _one_server(
    client: httpx.AsyncClient, tool: JSON, prompt: str, new_id: Callable[[str], str]
) -> tuple[JSON, JSON] | None:
    server, session = str(tool["name"]), _Session(client, tool)
    call: JSON = {"type": "mcp_server_tool_call", "id": new_id("mcp"), "server_name": server}
    try:
        await session.call(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "interactions-simulator", "version": "1"},
            },
        )
        await session.notify("notifications/initialized")
        listed = await session.call("tools/list", {})
        offered = [t for t in (listed or {}).get("tools") or [] if isinstance(t, dict)]
        allowed = _allowed(tool)
        offered = [t for t in offered if allowed is None or t.get("name") in allowed]
        if not offered:
            return None
        chosen = _best(offered, prompt)
        schema = {"parameters": chosen.get("inputSchema") or {}}
        call.update(name=str(chosen.get("name")), arguments=function_arguments(schema, prompt))
        result = await session.call(
            "tools/call", {"name": call["name"], "arguments": call["arguments"]}
        )
    except McpFailure as exc:
        call.setdefault("name", "tools/list")
        call.setdefault("arguments", {})
        message = f"MCP server '{server}' failed: {exc}."
        return call, _result(call, message, is_error=True)
    if not isinstance(result, dict):
        return call, _result(call, "The MCP server returned no result.", is_error=True)
    return call, _result(call, _content(result), is_error=bool(result.get("isError")))


def _result(call: JSON, result: object, *, is_error: bool) -> JSON:
    step: JSON = {
        "type": "mcp_server_tool_result",
        "call_id": call["id"],
        "name": call["name"],
        "server_name": call["server_name"],
        "result": result,
    }
    if is_error:
        step["is_error"] = True
    return step
