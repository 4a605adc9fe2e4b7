"""A tiny MCP server (streamable HTTP, JSON-RPC 2.0) on loopback, for tests.

Tools: ``add`` (two numbers) and ``city_weather`` (a city). It can require a bearer token,
answer with a fixed HTTP status, be slow, or answer as an SSE stream instead of JSON, so the
simulator's ``mcp_server`` tool meets each way a real server behaves.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOOLS = [
    {
        "name": "add",
        "description": "Add two numbers together and return the sum",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
    {
        "name": "city_weather",
        "description": "Current weather forecast for a city",
        "inputSchema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
]


@dataclass
class McpBehaviour:
    token: str | None = None  # required "Authorization: Bearer <token>" when set
    status: int | None = None  # answer every request with this HTTP status
    delay: float = 0.0  # seconds before each answer
    sse: bool = False  # answer requests as text/event-stream
    calls: list[dict[str, Any]] = field(default_factory=list)  # every JSON-RPC message


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if name == "add":
        total = float(arguments.get("a", 0)) + float(arguments.get("b", 0))
        return {"content": [{"type": "text", "text": f"{total:g}"}], "isError": False}
    if name == "city_weather":
        city = arguments.get("city", "?")
        return {"content": [{"type": "text", "text": f"Sunny and 21 °C in {city}"}]}
    return {"content": [{"type": "text", "text": f"Unknown tool {name}"}], "isError": True}


def _handle(message: dict[str, Any]) -> dict[str, Any]:
    method, params = message.get("method"), message.get("params") or {}
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "test-mcp", "version": "1.0"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        result = _call(str(params.get("name")), params.get("arguments") or {})
    else:
        return {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": -32601}}
    return {"jsonrpc": "2.0", "id": message.get("id"), "result": result}


def _handler(behaviour: McpBehaviour, session: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            message = json.loads(self.rfile.read(length) or b"{}")
            behaviour.calls.append({"message": message, "headers": dict(self.headers)})
            time.sleep(behaviour.delay)
            if behaviour.status is not None:
                return self._send(behaviour.status, b"{}", "application/json")
            if behaviour.token and self.headers.get("authorization") != f"Bearer {behaviour.token}":
                return self._send(401, b'{"error":"unauthorized"}', "application/json")
            if (
                message.get("method") != "initialize"
                and self.headers.get("mcp-session-id") != session
            ):
                return self._send(400, b'{"error":"missing session"}', "application/json")
            if "id" not in message:  # a notification
                return self._send(202, b"", "application/json")
            body = json.dumps(_handle(message)).encode()
            if behaviour.sse:
                return self._send(
                    200, b"event: message\ndata: " + body + b"\n\n", "text/event-stream"
                )
            return self._send(200, body, "application/json")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.send_header("mcp-session-id", session)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_mcp(behaviour: McpBehaviour | None = None) -> Iterator[tuple[str, McpBehaviour]]:
    """Serve the MCP server on a free loopback port; yields (url, behaviour)."""
    behaviour = behaviour or McpBehaviour()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour, secrets.token_hex(8)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-mcp", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp", behaviour
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
