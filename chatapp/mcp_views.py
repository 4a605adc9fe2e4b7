"""/team/mcp/: the remote MCP servers Gemini may call for the team. Staff only; every change
is audited, never with a header's value."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .mcp_forms import McpServerForm
from .mcp_models import McpServer
from .team_access import record, staff_required


def _audit(request: HttpRequest, action: str, server: McpServer) -> None:
    record(
        request,
        action,
        server.name,
        url=server.url,
        allowed_tools=server.allowed_tools,
        enabled=server.enabled,
        headers=sorted(server.headers),  # their names only
    )


def _list(request: HttpRequest, form: McpServerForm, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "section": "mcp",
        "servers": McpServer.objects.all(),
        "form": form,
    }
    return render(request, "team/mcp.html", context, status=status)


@staff_required
def mcp_page(request: HttpRequest) -> HttpResponse:
    return _list(request, McpServerForm())


@require_POST
@staff_required
def add_mcp_server(request: HttpRequest) -> HttpResponse:
    form = McpServerForm(request.POST)
    if not form.is_valid():
        return _list(request, form, status=400)
    server = form.save(request.user)
    _audit(request, "team.mcp.add", server)
    messages.success(request, _("MCP server %(name)s added.") % {"name": server.name})
    return redirect("team_mcp")


@staff_required
def edit_mcp_server(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(McpServer, pk=pk)
    if request.method == "POST":
        form = McpServerForm(request.POST, instance=server)
        if form.is_valid():
            form.save(request.user)
            _audit(request, "team.mcp.change", server)
            messages.success(request, _("MCP server %(name)s saved.") % {"name": server.name})
            return redirect("team_mcp")
        status = 400
    else:
        form, status = McpServerForm(instance=server), 200
    context = {"section": "mcp", "server": server, "form": form}
    return render(request, "team/mcp_edit.html", context, status=status)


@require_POST
@staff_required
def delete_mcp_server(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(McpServer, pk=pk)
    server.delete()
    _audit(request, "team.mcp.delete", server)
    messages.success(request, _("MCP server %(name)s removed.") % {"name": server.name})
    return redirect("team_mcp")
