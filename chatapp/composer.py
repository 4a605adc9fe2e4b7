"""The composer's model picker and one-click chips, and the defaults a new chat starts with.

The chips are ONE list, `CHIPS`: each names the conversation setting it switches, the model
kinds that can use it and why the others can't. The page renders a chip per entry and
drives the settings form's field with it; the person's last choices are kept per entry in
`Preferences.defaults`. A new switch (another built-in tool, a set of servers) is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import catalogue
from .mcp_models import enabled_names
from .models import Conversation, Preferences
from .tools import available as available_tools

KIND_LABELS = {"text": _("Text models"), "image": _("Image models"), "agent": _("Agents")}


@dataclass(frozen=True)
class Chip:
    field: str  # the SettingsForm / Conversation field it drives
    label: str | Promise
    help: str | Promise  # what it does, as a tooltip
    kinds: frozenset[str]  # the model kinds (catalogue.KINDS) that can use it
    unusable: str | Promise  # why a chip is disabled for the other kinds
    # "switch": a checkbox; "any": on when any of its checkboxes is (on = all of them);
    # "panel": on when its field has a value, which is written in the options panel.
    mode: str = "switch"


TEXT = frozenset({"text"})
NOT_AGENTS = frozenset({"text", "image"})

CHIPS: tuple[Chip, ...] = (
    Chip(
        "google_search",
        _("Google Search"),
        _("Grounded answers with sources from Google Search"),
        NOT_AGENTS,
        _("Agents choose their own tools."),
    ),
    Chip(
        "google_maps",
        _("Google Maps"),
        _("Places from Google Maps, near you if you allow your location"),
        TEXT,
        _("Only text models ground on Google Maps."),
    ),
    Chip(
        "url_context",
        _("URL context"),
        _("Reads the pages linked in the message"),
        TEXT,
        _("Only text models read linked pages."),
    ),
    Chip(
        "code_execution",
        _("Code execution"),
        _("Lets the model run Python code to work out answers"),
        TEXT,
        _("Only text models run code."),
    ),
    Chip(
        "tools",
        _("Team tools"),
        _("The functions your team set up for the model to call"),
        TEXT,
        _("Only text models call the team's tools."),
        mode="any",
    ),
    Chip(
        "mcp_servers",
        _("MCP servers"),
        _("Tools on the MCP servers your team registered"),
        TEXT,
        _("Only text models call MCP servers."),
        mode="any",
    ),
    Chip(
        "response_schema",
        _("Structured output"),
        _("Answers as JSON that follows a schema (set it in Options)"),
        TEXT,
        _("Only text models answer in JSON."),
        mode="panel",
    ),
    Chip(
        "background",
        _("Background"),
        _("For long tasks: they finish even with this page closed"),
        frozenset(catalogue.KINDS),
        "",
    ),
)


def picker_groups() -> list[dict[str, Any]]:
    """The offered models by kind, for the picker: human names and one-line descriptions."""
    return [
        {"kind": kind, "label": KIND_LABELS.get(kind, kind), "models": models}
        for kind, models in catalogue.offered().items()
        if models
    ]


def chips(mcp_servers: list[str] | None = None) -> list[Chip]:
    """The chips this deployment shows (team tools and MCP servers only when there are some);
    `mcp_servers`: the enabled servers' names, when the caller has already read them."""
    servers = enabled_names() if mcp_servers is None else mcp_servers
    shown = {"tools": bool(available_tools()), "mcp_servers": bool(servers)}
    return [c for c in CHIPS if shown.get(c.field, True)]


def new_chat_settings(user: Any) -> dict[str, Any]:
    """The model and chips `user` last used: what a new chat of theirs starts with."""
    preferences = Preferences.of(user)
    model = preferences.model if catalogue.is_offered(preferences.model) else ""
    chosen: dict[str, Any] = {"model": model or settings.DEFAULT_MODEL}
    kept = preferences.defaults if isinstance(preferences.defaults, dict) else {}
    # Lists keep only names that still exist here.
    names = {"tools": {t.name for t in available_tools()}, "mcp_servers": set(enabled_names())}
    for chip in CHIPS:
        value = kept.get(chip.field)
        if chip.mode == "switch" and isinstance(value, bool):
            chosen[chip.field] = value
        elif chip.mode == "any" and isinstance(value, list):
            chosen[chip.field] = [name for name in value if name in names[chip.field]]
        elif chip.mode == "panel" and isinstance(value, dict):
            chosen[chip.field] = value
    return chosen


def remember(user: Any, conversation: Conversation) -> None:
    """The settings just saved become `user`'s default for new chats (model and chips)."""
    preferences = Preferences.of(user)
    defaults = dict(preferences.defaults) if isinstance(preferences.defaults, dict) else {}
    for chip in CHIPS:
        defaults[chip.field] = getattr(conversation, chip.field)
    preferences.model = conversation.model
    preferences.defaults = defaults
    preferences.save(update_fields=["model", "defaults"])


def chip_views(form: Any) -> list[dict[str, Any]]:
    """Each chip with its state in `form` (a SettingsForm): the page's chips and the form's
    hidden switches are rendered from these."""
    views = []
    servers = [name for name, _ in form.fields["mcp_servers"].choices]
    for chip in chips(servers):
        value = form[chip.field].value()
        views.append(
            {
                "field": chip.field,
                "label": chip.label,
                "help": chip.help,
                "mode": chip.mode,
                "kinds": " ".join(sorted(chip.kinds)),
                "unusable": chip.unusable,
                "on": bool(value) and value not in ("False", "false"),
            }
        )
    return views


def context(form: Any, model_id: str) -> dict[str, Any]:
    """What chat.html needs for the picker, the chips and the gauge."""
    return {
        "picker": picker_groups(),
        "chosen_model": catalogue.info(model_id),
        "chips": chip_views(form),
    }
