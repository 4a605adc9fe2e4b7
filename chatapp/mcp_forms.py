"""The form of /team/mcp/: one remote MCP server. Its headers are write-only: the form never
shows them, a blank field keeps the saved ones, and "remove" clears them."""

from __future__ import annotations

import re
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .mcp_models import McpServer
from .team_forms import TeamForm

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # an HTTP token
_TOOL_NAME = re.compile(r"^[\w.:/-]{1,128}\Z")
_SPLIT = re.compile(r"[\s,]+")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value, not even the one just submitted with an error elsewhere."""

    def format_value(self, value: Any) -> None:
        return None


class McpServerForm(TeamForm):
    id_prefix = "mcp"
    name = forms.RegexField(
        label=_("Name"),
        max_length=64,
        regex=r"^[A-Za-z0-9_-]+\Z",
        help_text=_("letters, digits, - and _; Gemini and the answers show it"),
    )
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    headers = forms.CharField(
        label=_("Headers"),
        required=False,
        max_length=8000,
        widget=WriteOnlyTextarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "one “Name: value” a line, e.g. Authorization: Bearer …; kept on the server, "
            "sent only to Gemini, never shown again"
        ),
    )
    clear_headers = forms.BooleanField(label=_("Remove the saved headers"), required=False)
    allowed_tools = forms.CharField(
        label=_("Allowed tools"),
        required=False,
        max_length=4000,
        help_text=_("tool names separated by spaces or commas; empty: every tool of the server"),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, instance: McpServer | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "url": instance.url,
                "allowed_tools": " ".join(instance.allowed_tools),
                "enabled": instance.enabled,
            }
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        taken = McpServer.objects.filter(name=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another server already has this name."))
        return name

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        parts = urlsplit(url)
        if parts.scheme == "https":
            return url
        if parts.scheme == "http" and settings.MCP_ALLOW_LOOPBACK_HTTP:
            if _loopback(parts.hostname or ""):
                return url
        raise forms.ValidationError(_("The URL must start with https://."))

    def clean_headers(self) -> dict[str, str] | None:
        """The headers typed in, or None when the field was left blank (keep the saved ones)."""
        text: str = self.cleaned_data.get("headers") or ""
        if not text.strip():
            return None
        headers: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if not colon or not _HEADER_NAME.match(name) or not value:
                # Never echo the line: it may hold a secret.
                raise forms.ValidationError(_("Write each header as “Name: value”."))
            headers[name] = value
        return headers

    def clean_allowed_tools(self) -> list[str]:
        names = [n for n in _SPLIT.split(self.cleaned_data.get("allowed_tools") or "") if n]
        if any(not _TOOL_NAME.match(n) for n in names):
            raise forms.ValidationError(_("Tool names are letters, digits and . _ - : /"))
        return list(dict.fromkeys(names))

    def save(self, user: Any) -> McpServer:
        server = self.instance or McpServer()
        data = self.cleaned_data
        server.name, server.url = data["name"], data["url"]
        server.allowed_tools, server.enabled = data["allowed_tools"], data["enabled"]
        if data["headers"] is not None:
            server.headers = data["headers"]
        elif data["clear_headers"]:
            server.headers = {}
        server.updated, server.updated_by = timezone.now(), user
        server.save()
        return server
