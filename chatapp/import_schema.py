"""What an import file must be: JSON read safely, then checked by pydantic models.

Everything in the file is untrusted. The JSON is read first with numbers past a double
refused, nesting bounded (`MAX_IMPORT_DEPTH`), NUL removed (PostgreSQL refuses it) and each
lone surrogate replaced by U+FFFD (UTF-8 cannot hold one). The models then check the shape,
sizes, statuses and dates, and the turns' parent references are checked as a tree. A refusal
names the field, in its message and as a path (`ImportRefused.field`, like
`turns[2].created`); no file gives a 500 (tests/security/test_import_fuzz.py).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Annotated, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from .export import EXPORT_FORMAT, EXPORT_VERSION, short
from .languages import grouped
from .models import Turn
from .user_errors import UserError

MAX_IMPORT_TURNS = 5_000
# Deeper than any step the API sends; bounds every walk over imported JSON.
MAX_IMPORT_DEPTH = 64


class ImportRefused(UserError):
    """An import file that cannot become a conversation; `field` is the path at fault in the
    document (`file` when it is the file as a whole)."""

    def __init__(self, message: str, status: int = 400, field: str = "file") -> None:
        super().__init__(message, status, field)


# --- the models ---


def _utc(value: Any) -> datetime | None:
    """A date and time in UTC, from ISO 8601 text; a naive one is taken as UTC."""
    if value is None or value == "":
        return None
    try:
        # Well-formed but impossible dates (2024-02-30, 25:61, offsets of a day) raise.
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is not None and timezone.is_aware(moment):
            # The database keeps UTC: 0001-01-01T00:00+01:00 is before the first year.
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        detail = short(str(exc), 80)
        raise PydanticCustomError(
            "date", "is not a valid date and time ({detail})", {"detail": detail}
        ) from None
    if moment is None:
        raise PydanticCustomError("date", "is not an ISO 8601 date and time")
    aware: datetime = moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
    return aware


def _status(value: Any) -> str:
    # Checked for a string first: a list or an object cannot be looked up in a set.
    if not isinstance(value, str) or value not in Turn.Status.values:
        raise PydanticCustomError("status", "unknown status")
    if value in (*Turn.ACTIVE, Turn.Status.REQUIRES_ACTION):
        return Turn.Status.STOPPED  # nothing runs for an imported turn
    return value


def _typed(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(v, dict) and isinstance(v.get("type"), str) for v in value
    ):
        raise PydanticCustomError("content", "not a list of objects with a type")
    return value


def _error_object(value: Any) -> Any:
    return {"message": value} if isinstance(value, str) else value


def _bounded(value: Any) -> Any:
    if isinstance(value, list) and len(value) > MAX_IMPORT_TURNS:
        raise PydanticCustomError(
            "too_many",
            gettext("That conversation has {count} turns: imports are limited to {limit}."),
            {"count": grouped(len(value)), "limit": grouped(MAX_IMPORT_TURNS)},
        )
    return value


# A turn's key in the file: a number or a short string (never a boolean).
Key = StrictInt | Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]
Content = Annotated[list[dict[str, Any]], PlainValidator(_typed)]
When = Annotated[datetime | None, PlainValidator(_utc)]
Object = dict[str, Any] | None


class ImportedTurn(BaseModel):
    """One turn of the file, fields in the order they are checked."""

    model_config = ConfigDict(strict=True, extra="ignore")

    id: Key
    parent: Key | None = None
    status: Annotated[str, PlainValidator(_status)] = Turn.Status.COMPLETED
    user_input: Content = []
    steps: Content = []
    usage: Object = None
    structured: Object = None
    error: Annotated[Object, BeforeValidator(_error_object)] = None
    user_text: StrictStr | None = None
    model: Annotated[StrictStr, BeforeValidator(lambda v: v or "")] = ""
    created: When = None
    finished: When = None

    @property
    def text(self) -> str:
        """The user's text: as given, or joined from the text items of the input."""
        if self.user_text is not None:
            return self.user_text
        return "\n".join(str(i.get("text") or "") for i in self.user_input if i["type"] == "text")


class ImportedDocument(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    title: StrictStr | None = None
    # Read leniently by the importer: what is not usable here is left out with a note.
    settings: Annotated[dict[str, Any], BeforeValidator(lambda v: v or {})] = {}
    turns: Annotated[list[ImportedTurn], BeforeValidator(_bounded)]
    current_turn: Any = None


# --- reading a file ---


def read(raw: bytes) -> ImportedDocument:
    """The checked document in `raw`, or `ImportRefused` naming what is wrong."""
    data = _parse(raw)
    try:
        document = ImportedDocument.model_validate(data)
    except ValidationError as exc:
        raise _refusal(exc.errors(include_url=False)[0], data) from None
    creation_order(document.turns)  # refuses duplicates, unknown parents and cycles
    return document


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        not_text = gettext("That file is not UTF-8 text: export a conversation as JSON.")
        raise ImportRefused(not_text) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            gettext("That file is not valid JSON: %(error)s (line %(line)s, column %(column)s).")
            % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
        ) from None
    except (ValueError, RecursionError) as exc:
        deep = isinstance(exc, RecursionError)
        detail = gettext("it is nested too deeply") if deep else str(exc)
        raise ImportRefused(gettext("That file is not valid JSON: %s.") % detail) from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ImportRefused(
            gettext(
                "That file is not a conversation exported from this app (use “Export JSON”): "
                "its “format” is not %s."
            )
            % json.dumps(EXPORT_FORMAT),
            field="format" if isinstance(data, dict) else "file",
        )
    version = data.get("version")
    if version != EXPORT_VERSION or isinstance(version, bool):
        raise ImportRefused(
            gettext("Unsupported export version %(version)s: this app reads version %(ours)s.")
            % {"version": json.dumps(version)[:40], "ours": EXPORT_VERSION},
            field="version",
        )
    try:
        return _clean(data, 0)  # type: ignore[no-any-return]
    except _TooDeep:
        raise ImportRefused(
            gettext("That file is nested too deeply (limit %s levels).") % MAX_IMPORT_DEPTH
        ) from None


class _TooDeep(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(literal: str) -> float:
    # 1e400 reads as inf, which JSON (and so PostgreSQL's jsonb) cannot hold.
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is too large")
    return value


# Lone surrogates (a "\ud800" escape without its pair): UTF-8 cannot encode them, so neither
# SQLite nor PostgreSQL can store them. json.loads has already joined the valid pairs.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: Any, depth: int) -> Any:
    """A copy depth-checked, without NUL characters and with each lone surrogate replaced."""
    if depth > MAX_IMPORT_DEPTH:
        raise _TooDeep
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def _clean_text(text: str) -> str:
    text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


# --- what a refusal says ---

_DOCUMENT_MESSAGES = {
    "title": _("The title must be a string."),
    "settings": _("“settings” must be an object."),
    "turns": _("“turns” must be a list."),
}
_TURN_MESSAGES = {
    None: _("{where} is not an object."),
    "id": _("{where} has no usable “id” (a number or a short string)."),
    "parent": _("{where} has an unusable “parent”."),
    "user_input": _("{where}: “user_input” must be a list of objects with a “type”."),
    "steps": _("{where}: “steps” must be a list of objects with a “type”."),
    "usage": _("{where}: “usage” must be an object or null."),
    "structured": _("{where}: “structured” must be an object or null."),
    "error": _("{where}: “error” must be an object or null."),
    "user_text": _("{where}: “user_text” must be a string."),
    "model": _("{where}: “model” must be a string."),
}


def _refusal(error: ErrorDetails, data: dict[str, Any]) -> ImportRefused:
    """The first validation error in the importer's words, with the path of its field."""
    loc = error["loc"]
    if loc[0] != "turns" or len(loc) < 2:
        top = str(loc[0])
        message = error["msg"] if error["type"] == "too_many" else str(_DOCUMENT_MESSAGES[top])
        return ImportRefused(message, field=top)
    index = int(loc[1])
    name = str(loc[2]) if len(loc) > 2 else None
    path = f"turns[{index}]" + (f".{name}" if name else "")
    # The id names the turn once it is known to be usable (it is checked first).
    where = gettext("Turn %s") % (index + 1)
    if name not in (None, "id"):
        where = gettext("Turn %s") % json.dumps(data["turns"][index]["id"])
    if name == "status":
        allowed = ", ".join(sorted(Turn.Status.values))
        status = json.dumps(error["input"])[:40]
        message = gettext("%(where)s has the unknown status %(status)s (allowed: %(allowed)s).") % {
            "where": where,
            "status": status,
            "allowed": allowed,
        }
    elif name in ("created", "finished"):
        message = f"{where}: “{name}” {error['msg']}."
    else:
        message = str(_TURN_MESSAGES[name]).format(where=where)
    return ImportRefused(message, field=path)


# --- the turns as a tree ---


def creation_order(turns: list[ImportedTurn]) -> list[list[tuple[int, ImportedTurn]]]:
    """The turns level by level from the roots (parents first).

    Refused: an id used twice, a parent that is not in the file, and a cycle.
    """
    seen: dict[Any, int] = {}
    for index, turn in enumerate(turns):
        if turn.id in seen:
            raise ImportRefused(
                gettext("Turn %s appears twice: each “id” must be unique.") % json.dumps(turn.id),
                field=f"turns[{index}].id",
            )
        seen[turn.id] = index
    children: dict[Any, list[tuple[int, ImportedTurn]]] = defaultdict(list)
    for index, turn in enumerate(turns):
        if turn.parent is not None and turn.parent not in seen:
            raise ImportRefused(
                gettext("Turn %(turn)s points at the parent %(parent)s, which is not in the file.")
                % {"turn": json.dumps(turn.id), "parent": json.dumps(turn.parent)},
                field=f"turns[{index}].parent",
            )
        children[turn.parent].append((index, turn))
    levels = []
    queue = deque([children[None]])
    while queue:
        level = queue.popleft()
        if level:
            levels.append(level)
            queue.append([child for _, turn in level for child in children[turn.id]])
    if sum(len(level) for level in levels) != len(turns):
        raise ImportRefused(
            gettext(
                "The turns' parent references form a cycle: every turn must lead back to a first "
                "message (one with “parent” null)."
            ),
            field="turns",
        )
    return levels
