"""Remote MCP servers the team admins register (/team/mcp/) and people switch on per
conversation. Gemini calls them itself: the request names the server, its URL, the headers it
needs and the tools it may use (`McpServer.declaration`).

The headers usually hold credentials: they stay on the server, are sent only upstream, and are
never rendered into a page or a frame (the admin page shows them as "set").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class McpServer(models.Model):
    # Also the `server_name` of the steps the API returns, and what conversations keep.
    name = models.CharField(max_length=64, unique=True)
    url = models.URLField(max_length=500)
    headers = models.JSONField(default=dict, blank=True)
    # Names of the tools Gemini may call on this server; empty: all of them.
    allowed_tools = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"MCP server {self.name}"

    def declaration(self) -> dict[str, Any]:
        """The `mcp_server` tool of a request, exactly as the Interactions API takes it."""
        tool: dict[str, Any] = {"type": "mcp_server", "name": self.name, "url": self.url}
        if self.headers:
            tool["headers"] = dict(self.headers)
        if self.allowed_tools:
            tool["allowed_tools"] = [{"tools": list(self.allowed_tools)}]
        return tool


def enabled_servers(names: list[str]) -> list[McpServer]:
    """The enabled servers among `names` (a server disabled or removed since is skipped)."""
    return list(McpServer.objects.filter(name__in=names, enabled=True))


def enabled_names() -> list[str]:
    """The names of the servers people may switch on."""
    return list(McpServer.objects.filter(enabled=True).values_list("name", flat=True))
