"""Import: a JSON export becomes a new conversation of the importer.

The file is checked first (`chatapp.import_schema`). Then what belongs to whoever made the
file is left out: upstream interaction ids (the next message replays the branch instead), and
references to files the importer does not own. Settings this server cannot honour (a model or
a tool not offered here) are dropped with a note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .export import one_line
from .file_refs import canonical_uuid, referenced_files
from .import_schema import ImportedDocument, ImportedTurn, ImportRefused, creation_order, read
from .models import Attachment, Conversation, Turn
from .rendering import plain_text

audit = logging.getLogger("chatapp.audit")

MAX_IMPORT_BYTES = 20 * 1024 * 1024

__all__ = ["MAX_IMPORT_BYTES", "ImportRefused", "import_conversation"]


def import_conversation(user: Any, raw: bytes) -> tuple[Conversation, list[str]]:
    """A new conversation of `user` from the bytes of a JSON export, and notes about it."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            gettext("That file is too large: imports are limited to %s MB.")
            % (MAX_IMPORT_BYTES // 2**20),
            413,
        )
    document = read(raw)
    notes: list[str] = []
    conv_fields = _conversation_fields(document, notes)
    owned = _owned_files(user, document.turns)
    dropped = 0
    now = timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(owner=user, **conv_fields)
        new_ids: dict[Any, int] = {}
        for level in creation_order(document.turns):
            rows = []
            for index, item in level:
                row, lost = _turn_row(conversation, item, owned, new_ids)
                row.created = item.created or now + timedelta(microseconds=index)
                rows.append(row)
                dropped += lost
            created = Turn.objects.bulk_create(rows)
            for (_, item), turn in zip(level, created, strict=True):
                new_ids[item.id] = turn.pk
        current = document.current_turn
        if isinstance(current, int | str) and not isinstance(current, bool) and current in new_ids:
            conversation.current_turn_id = new_ids[current]
        # Listed where its last message falls in the sidebar's dates, not on import day.
        dates = [item.created for item in document.turns if item.created is not None]
        conversation.updated = min(max(dates), now) if dates else now
        conversation.save(update_fields=["current_turn", "updated"])
    if dropped:
        notes.append(
            f"{dropped} file{'s' if dropped != 1 else ''} referenced in the export "
            "are not yours here and were left out."
        )
    audit.info(
        "import by user %s: conversation %s (%d turns)",
        user.pk,
        conversation.pk,
        len(document.turns),
        extra={"action": "conversation.import", "user": user.pk},
    )
    return conversation, notes


def _turn_row(
    conversation: Conversation, item: ImportedTurn, owned: set[str], new_ids: dict[Any, int]
) -> tuple[Turn, int]:
    """The unsaved row of one imported turn, and how many file references it lost."""
    user_input, lost_in = _drop_files(item.user_input, owned)
    steps, lost_out = _drop_files(item.steps, owned)
    user_text = item.text
    if lost_in:
        user_text = (user_text + "\n\n" + _dropped_note(lost_in)).strip()
    row = Turn(
        conversation=conversation,
        parent_id=new_ids[item.parent] if item.parent is not None else None,
        user_input=user_input,
        user_text=user_text,
        model=item.model[:100] or conversation.model,
        steps=steps,
        answer_text=plain_text(steps),
        status=item.status,
        usage=item.usage,
        error=item.error,
        structured=item.structured,
        # Upstream state of whoever made the file: the next message replays.
        interaction_id="",
        stored=False,
        finished=item.finished,
    )
    return row, lost_in + lost_out


def _conversation_fields(document: ImportedDocument, notes: list[str]) -> dict[str, Any]:
    """The new conversation's title and settings: each setting read leniently, by its reader."""
    fields: dict[str, Any] = {
        "title": one_line(document.title or "")[:200] or gettext("Imported conversation")
    }
    for name in Conversation.SETTINGS:
        value = _READERS[name](document.settings.get(name), notes)
        if value is not _LEFT_OUT:
            fields[name] = value
    return fields


_LEFT_OUT: Any = object()  # a setting not usable here: the conversation keeps its default


def _model(value: Any, notes: list[str]) -> str:
    offered = [name for names in settings.CHAT_MODELS.values() for name in names]
    if isinstance(value, str) and value in offered:
        return value
    if value:
        notes.append(
            gettext("The model %(model)r is not offered here: using %(default)s.")
            % {"model": str(value)[:100], "default": settings.DEFAULT_MODEL}
        )
    return str(settings.DEFAULT_MODEL)


def _instruction(value: Any, notes: list[str]) -> Any:
    return value[:100_000] if isinstance(value, str) else _LEFT_OUT


def _temperature(value: Any, notes: list[str]) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number and 0 <= value <= 2 else _LEFT_OUT


def _thinking_level(value: Any, notes: list[str]) -> Any:
    return value if value in Conversation.ThinkingLevel.values else _LEFT_OUT


def _switch(value: Any, notes: list[str]) -> Any:
    return value if isinstance(value, bool) else _LEFT_OUT


def _tools(value: Any, notes: list[str]) -> Any:
    from .tools import available as available_tools

    if not isinstance(value, list):
        return _LEFT_OUT
    names = {t.name for t in available_tools()}
    kept = [t for t in value if isinstance(t, str) and t in names]
    missing = [str(t)[:60] for t in value if t not in kept]
    if missing:
        notes.append(gettext("Tools not available here were switched off: %s") % ", ".join(missing))
    return kept


def _mcp_servers(value: Any, notes: list[str]) -> Any:
    from .mcp_models import enabled_servers

    if not isinstance(value, list):
        return _LEFT_OUT
    here = {s.name for s in enabled_servers([v for v in value if isinstance(v, str)])}
    kept = [name for name in value if name in here]
    missing = [str(name)[:60] for name in value if name not in kept]
    if missing:
        notes.append("MCP servers not registered here were switched off: " + ", ".join(missing))
    return kept


def _response_schema(value: Any, notes: list[str]) -> Any:
    from .structured import check_schema

    if value is None:
        return _LEFT_OUT
    if check_schema(value):
        notes.append(
            gettext("The JSON schema for structured answers was not usable and was left out.")
        )
        return _LEFT_OUT
    return value


# One reader per setting (Conversation.SETTINGS): a test checks none is missing.
_READERS: dict[str, Callable[[Any, list[str]], Any]] = {
    "model": _model,
    "system_instruction": _instruction,
    "temperature": _temperature,
    "thinking_level": _thinking_level,
    "tools": _tools,
    "mcp_servers": _mcp_servers,
    "response_schema": _response_schema,
    **{name: _switch for name in Conversation.SWITCHES},
}


def _owned_files(user: Any, turns: list[ImportedTurn]) -> set[str]:
    wanted: set[str] = set()
    for item in turns:
        wanted |= referenced_files([item.user_input, item.steps])
    owned = Attachment.objects.filter(owner=user, uuid__in=wanted).values_list("uuid", flat=True)
    return {str(u) for u in owned}


def _drop_files(items: list[Any], owned: set[str]) -> tuple[list[Any], int]:
    """The content with references to files the importer does not own replaced by a note."""
    dropped = 0

    def walk(value: Any) -> Any:
        nonlocal dropped
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, dict) and "attachment" in item and not _keeps(item, owned):
                    dropped += 1
                    out.append({"type": "text", "text": _dropped_note(1)})
                else:
                    out.append(walk(item))
            return out
        if isinstance(value, dict):
            out_dict = {}
            for key, item in value.items():
                if key == "attachment" and not _keeps(value, owned):
                    dropped += 1
                    continue
                out_dict[key] = walk(item)
            return out_dict
        return value

    return walk(items), dropped


def _keeps(item: dict[str, Any], owned: set[str]) -> bool:
    canonical = canonical_uuid(item.get("attachment"))
    if canonical in owned:
        item["attachment"] = canonical
        return True
    return False


def _dropped_note(count: int) -> str:
    files = "a file" if count == 1 else f"{count} files"
    return f"[{files} from the original conversation, not included in the import]"
