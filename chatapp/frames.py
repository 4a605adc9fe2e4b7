"""Frames: the only code that knows what the server tells a page, its group names, and the
HTML inside frames. The protocol (the page's side is in `chatapp.protocol`):

    {"type": "turn", "seq": n, "turn": {..., "html": "..."}, "reset": true?, "final": true?}
        A turn's whole state at seq n. `reset`: a new run of the turn starts at seq 0 (a new
        message, edit, regeneration, retry, or a recovery by another worker): the page
        replaces the turn whatever it had. `final`: the run's last frame; nothing follows it.
        Neither: a snapshot, sent to one socket when it subscribes.
    {"type": "status", "turn": id, "seq": n, "status": "in_progress", "detail"?: "..."}
        `detail`: what the turn waits for before the model answers ("Processing video…").
    {"type": "delta", "turn": id, "seq": n, "index": i, "delta": {"type": ..., "text": ...}}
        Streamed text of step i (`text` or `thought_summary`). Under backlog consecutive
        deltas of one step leave as one frame with `"from": m`: it covers seqs m..n in order.
    {"type": "step", "turn": id, "seq": n, "index": i, "html": "..."}
        Step i finished: its server-rendered HTML replaces the streamed text.
    {"type": "chunk", "n": i, "of": count, "data": "..."}
        A piece of a long frame (a long answer's HTML): the page joins `data` of pieces
        0..count-1, in order, and handles the result as one frame.
    {"type": "resync"}
        This socket fell behind and frames were dropped: subscribe again for a snapshot.
    {"type": "conversation", "conversation": {...}, "client_id"?: "..."}  created or renamed
    {"type": "notify", "conversation": id, "title": ..., "status": ..., "url": ...}
    {"type": "error", "code": ..., "message": ..., "client_id": ...}

A page keeps the highest seq it applied per turn: it ignores what it already has, and a gap
(a frame starting past the next seq), a stall or a missing final frame make it subscribe
again. HTML is rendered off the event loop: a frame may still be rendering when it is
published, and every socket sends it, in order, once it is ready.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
from collections.abc import Callable, Collection
from typing import Any

from channels.layers import get_channel_layer
from django.utils import translation
from django.utils.translation import gettext

from . import tracing
from .blocks import block_start, streamed_text
from .models import Conversation, Turn
from .payloads import conversation_payload, render_step, step_view, turn_payload

log = logging.getLogger(__name__)

# A final frame: nothing of that run comes after it.
FINAL = float("inf")
RESYNC = json.dumps({"type": "resync"})


def user_group(user_id: int) -> str:
    """The channel-layer group of a user's sockets (notifications, closing on revocation)."""
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """The channel-layer group of one session's sockets (closed when it signs out)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


class Frame:
    """One outgoing frame, encoded once for every socket that gets it.

    `turn`/`seq`/`first` order it (None for frames outside any turn); its body may still be
    rendering in a thread, so senders `await frame.text()`.
    """

    __slots__ = (
        "conversation",
        "turn",
        "seq",
        "first",
        "kind",
        "flags",
        "key",
        "trace",
        "_body",
        "_text",
    )

    def __init__(
        self,
        conversation: int,
        kind: str,
        body: dict[str, Any] | asyncio.Future[dict[str, Any]] | None = None,
        *,
        turn: int | None = None,
        seq: int = 0,
        first: int | None = None,
        flags: str = "",
        key: str = "",
        text: str | None = None,
        trace: str | None = None,
    ) -> None:
        self.conversation = conversation
        self.kind = kind
        self.turn = turn
        self.seq = seq
        self.first = seq if first is None else first
        self.flags = flags  # "reset", "final" or "snapshot" for turn frames
        self.key = key  # deltas: which step and kind of text they extend
        self._body = body
        self._text = text
        # A final frame carries its turn's trace to the sockets, on any worker.
        self.trace = tracing.carrier() if trace is None and flags == "final" else (trace or "")

    async def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = json.loads(self._text or "{}")
        if isinstance(self._body, asyncio.Future):
            self._body = await self._body
        return self._body

    async def text(self) -> str:
        if self._text is None:
            self._text = _dumps(await self.body())
        return self._text

    def mergeable(self, following: Frame) -> bool:
        """Two text deltas of one step, back to back: they can leave as one frame."""
        return (
            self.kind == following.kind == "delta"
            and self.turn == following.turn
            and self.key == following.key
            and following.first == self.seq + 1
        )


def merge(bodies: list[dict[str, Any]]) -> str:
    """One delta frame for consecutive deltas of one step (see `Frame.mergeable`)."""
    first, last = bodies[0], bodies[-1]
    merged = {
        "type": "delta",
        "turn": first["turn"],
        "seq": last["seq"],
        "from": first.get("from", first["seq"]),
        "index": first["index"],
        "delta": {
            "type": first["delta"]["type"],
            "text": "".join(b["delta"]["text"] for b in bodies),
        },
    }
    return _dumps(merged)


def chunk(piece: str, number: int, count: int) -> str:
    return _dumps({"type": "chunk", "n": number, "of": count, "data": piece})


def _rendered(make: Callable[[], dict[str, Any]]) -> asyncio.Future[dict[str, Any]]:
    """Render in a worker thread (not the database thread), never on the event loop, in the
    language active here: an executor's thread does not inherit it."""
    language = translation.get_language()

    def in_language() -> dict[str, Any]:
        with translation.override(language):
            return make()

    return asyncio.get_running_loop().run_in_executor(None, in_language)


# --- frames of a turn ---


def turn_frame(
    turn: Turn,
    siblings: list[Turn],
    seq: int,
    *,
    flags: str,
    steps: list[dict[str, Any]] | None = None,
    open_steps: Collection[int] = (),
) -> Frame:
    """The turn's whole state: `flags` is "reset", "final" or "snapshot"."""
    open_steps = frozenset(open_steps)
    turn = copy.copy(turn)  # as it is now: it renders in a thread while the turn goes on

    def make() -> dict[str, Any]:
        payload = turn_payload(turn, siblings, steps=steps, open_steps=open_steps)
        body: dict[str, Any] = {"type": "turn", "seq": seq, "turn": payload}
        if flags in ("reset", "final"):
            body[flags] = True
        return body

    return Frame(turn.conversation_id, "turn", _rendered(make), turn=turn.pk, seq=seq, flags=flags)


def status_frame(conversation: int, turn: int, seq: int, status: str, detail: str = "") -> Frame:
    """`detail`: what the turn waits for, e.g. "Processing video…" (plain text)."""
    body: dict[str, Any] = {"type": "status", "turn": turn, "seq": seq, "status": status}
    if detail:
        body["detail"] = detail
    return Frame(conversation, "status", body, turn=turn, seq=seq)


def delta_frame(
    conversation: int,
    turn: int,
    seq: int,
    steps: list[dict[str, Any]],
    index: int,
    kind: str,
    text: str,
) -> Frame:
    """Text streamed into step `index` (of `steps`, the turn so far): shown in its block."""
    text = streamed_text(steps, index, kind, text)
    index = block_start(steps, index)
    body = {
        "type": "delta",
        "turn": turn,
        "seq": seq,
        "index": index,
        "delta": {"type": kind, "text": text},
    }
    return Frame(conversation, "delta", body, turn=turn, seq=seq, key=f"{index}:{kind}")


def step_frame(
    conversation: int, turn: int, seq: int, steps: list[dict[str, Any]], index: int
) -> Frame:
    """Step `index` finished: its block's HTML (`steps` is a copy the frame keeps)."""
    block = block_start(steps, index)

    def make() -> dict[str, Any]:
        html = render_step(step_view(steps, block))
        return {"type": "step", "turn": turn, "seq": seq, "index": block, "html": html}

    return Frame(conversation, "step", _rendered(make), turn=turn, seq=seq)


# --- frames outside a turn ---


def conversation_frame(conversation: Conversation, client_id: str = "") -> Frame:
    """A conversation created (to the socket that asked, with its `client_id`) or renamed."""
    body: dict[str, Any] = {
        "type": "conversation",
        "conversation": conversation_payload(conversation),
    }
    if client_id:
        body["client_id"] = client_id
    return Frame(conversation.pk, "conversation", body)


async def notify(conversation: Conversation, status: str) -> None:
    """A background answer finished: every tab of its owner shows a badge."""
    body = {
        "type": "notify",
        "conversation": conversation.pk,
        "title": conversation.title or gettext("New chat"),
        "status": status,
        "url": conversation.get_absolute_url(),
    }
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            user_group(conversation.owner_id), {"type": "chat.frame", "frame": body}
        )


def error_body(code: str, message: str, client_id: str = "") -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "client_id": client_id}
