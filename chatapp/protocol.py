"""The websocket protocol between the page and `ChatConsumer`, as pydantic models.

Client → server frames (JSON objects, each with a `type`):

    {"type": "subscribe", "conversation": 12}
        Follow a conversation. The server answers with a `turn` frame for every active turn
        (the turn so far plus its `seq`), then forwards live frames.
    {"type": "send", "conversation": 12 | null, "parent": 34 | null, "text": "...",
     "attachments": ["<upload id>", ...], "media_urls": ["https://.../a.mp3"], "client_id": "...",
     "location": {"latitude": 45.46, "longitude": 9.19}, "start_research": false,
     "folder": 3 | null}
        A new message after `parent` (null: first message). With conversation null a
        conversation is created first (`conversation` frame), in `folder` with its settings.
        Attachments are ids returned by POST /upload (the sender's own, not yet sent); media
        URLs go upstream as given. `location` (optional, only once the person allowed it in
        the browser) goes to the Google Maps tool of this message's request and is never
        stored. `start_research`: this message confirms the Deep Research plan of `parent`.
    {"type": "edit", "turn": 35, "text": "..."}      a sibling of turn 35 with new text
    {"type": "regenerate", "turn": 35}               a sibling of turn 35 with the same text
    {"type": "retry", "turn": 35}                    run failed/stopped turn 35 again in place
    {"type": "stop", "turn": 35}                     stop a running generation, keep its text
    {"type": "select", "conversation": 12, "turn": 36}  remember the branch on screen

Server → client frames are described in `chatapp.frames`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from django.utils.translation import gettext
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .user_errors import UserError

# A message of MAX_TEXT_CHARS fits whatever its script: 4 bytes a character, JSON escapes.
MAX_FRAME_BYTES = 1024 * 1024
MAX_TEXT_CHARS = 100_000


def storable(text: str) -> str:
    """Text PostgreSQL keeps: without NUL. (A lone surrogate never gets here: pydantic
    refuses it as an invalid string.)"""
    return text.replace("\x00", "")


Id = Annotated[int, Field(ge=1, le=2**62)]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(storable)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Subscribe(_Frame):
    type: Literal["subscribe"]
    conversation: Id


AttachmentIds = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=10)]
MediaUrls = Annotated[list[Annotated[str, Field(max_length=2048)]], Field(max_length=5)]


class Location(_Frame):
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class Send(_Frame):
    type: Literal["send"]
    conversation: Id | None = None
    parent: Id | None = None
    text: Text
    attachments: AttachmentIds = []
    media_urls: MediaUrls = []
    client_id: Annotated[str, Field(max_length=64)] = ""
    location: Location | None = None
    start_research: bool = False  # confirms the Deep Research plan it answers
    folder: Id | None = None


class Edit(_Frame):
    type: Literal["edit"]
    turn: Id
    text: Text
    client_id: Annotated[str, Field(max_length=64)] = ""


class Regenerate(_Frame):
    type: Literal["regenerate"]
    turn: Id


class Retry(_Frame):
    type: Literal["retry"]
    turn: Id


class Stop(_Frame):
    type: Literal["stop"]
    turn: Id


class Select(_Frame):
    type: Literal["select"]
    conversation: Id
    turn: Id


ClientFrame = Annotated[
    Subscribe | Send | Edit | Regenerate | Retry | Stop | Select, Field(discriminator="type")
]
client_frame = TypeAdapter(ClientFrame)
KNOWN_TYPES = frozenset({"subscribe", "send", "edit", "regenerate", "retry", "stop", "select"})


class ClientError(UserError):
    """A frame the server refuses; it becomes an `error` frame and the socket stays open."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse(text_data: str | None) -> Any:
    """A page's frame as its model; anything wrong is a `ClientError` naming what."""
    if text_data is None:
        raise ClientError("bad_frame", gettext("Frames must be JSON text."))
    if len(text_data.encode()) > MAX_FRAME_BYTES:
        raise ClientError("too_large", gettext("That message is too large."))
    try:
        raw = json.loads(text_data)
    except (ValueError, RecursionError):
        # Also numbers past Python's digit limit and absurdly deep nesting.
        raise ClientError("bad_json", gettext("That frame is not valid JSON.")) from None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:
        raise ClientError("unknown_type", gettext("Unknown frame type."))
    try:
        return client_frame.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        message = gettext("Invalid %(where)s: %(error)s") % {"where": where, "error": first["msg"]}
        raise ClientError("invalid", message) from None


def client_id(text_data: str | None) -> str:
    """The `client_id` of a frame, if it has one, to tag the error answering it."""
    try:
        raw = json.loads(text_data or "")
        value = raw.get("client_id", "") if isinstance(raw, dict) else ""
        return value[:64] if isinstance(value, str) else ""
    except (ValueError, RecursionError, AttributeError):
        return ""
