"""The tools Gemini runs itself for a conversation: Google's grounding tools and the team's
remote MCP servers, as the request declares them (chatapp.history builds the rest).

The person's location goes only into the request of the message it came with: it is never
saved, so a retry, an edit or a later message goes without it unless the page sends it again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .mcp_models import enabled_servers


def grounding_tool(name: str) -> dict[str, Any]:
    """Grounding is a built-in tool named like its switch: {"type": "google_search"}."""
    tool: dict[str, Any] = {"type": name}
    if name == "google_maps" and settings.GOOGLE_MAPS_WIDGET_KEY:
        # The token is only useful to a page that can draw the widget (it needs the key).
        tool["enable_widget"] = True
    return tool


def mcp_declarations(names: list[str]) -> list[dict[str, Any]]:
    """The `mcp_server` tools of the servers a conversation switched on, headers included
    (read here, on the server, for the upstream request only)."""
    return [server.declaration() for server in enabled_servers(names)]


def with_location(request: dict[str, Any], latitude: float, longitude: float) -> None:
    """Put the person's location on the request's `google_maps` tool, if it has one."""
    for tool in request.get("tools") or []:
        if tool.get("type") == "google_maps":
            tool["latitude"], tool["longitude"] = latitude, longitude
