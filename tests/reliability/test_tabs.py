"""The browser side of failures, at the websocket level: tabs that drop, close or race."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from chatapp import workers
from chatapp.models import Turn

from .helpers import active_turns, conversation, covered, creates, is_final, is_type, text_of

pytestmark = pytest.mark.django_db(transaction=True)


class Tab:
    """One turn as a tab shows it, rebuilt from frames the way static/js/chat.js does:
    a `turn` frame replaces the turn (snapshot); later frames apply only in seq order, and
    those at or below the last applied seq are ignored."""

    def __init__(self, turn_id: int) -> None:
        self.turn_id = turn_id
        self.seq: int | None = None
        self.text: dict[int, str] = {}  # step index -> streamed text
        self.snapshots = 0
        self.ignored = 0
        self.applied: dict[int, int] = {}  # socket -> how many of its frames were applied

    def catch_up(self, sock: Any, until: dict[str, Any] | None = None) -> None:
        """Apply the socket's frames received since the last call (up to `until`)."""
        end = sock.frames.index(until) if until is not None else len(sock.frames)
        for frame in sock.frames[self.applied.get(id(sock), 0) : end]:
            self.apply(frame)
        self.applied[id(sock)] = end

    def apply(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "turn" and frame["turn"]["id"] == self.turn_id:
            if self.seq is not None and frame["seq"] <= self.seq and not frame.get("reset"):
                self.ignored += 1
                return
            self.seq = frame["seq"]
            self.snapshots += 1
            steps = frame["turn"]["steps"]
            self.text = {s["index"]: s.get("text", "") for s in steps if s.get("live")}
        elif frame["type"] in ("status", "delta", "step") and frame["turn"] == self.turn_id:
            assert self.seq is not None, "a live frame came before the turn's snapshot"
            if frame["seq"] <= self.seq:
                self.ignored += 1  # already in the snapshot: applying it would double text
                return
            first = frame.get("from", frame["seq"])  # a merged delta covers from..seq
            assert first == self.seq + 1, f"frame {self.seq + 1} of the turn was lost"
            self.seq = frame["seq"]
            if frame["type"] == "delta" and frame["delta"]["type"] == "text":
                index = frame["index"]
                self.text[index] = self.text.get(index, "") + frame["delta"]["text"]


async def test_sockets_dropped_mid_stream_lose_and_double_nothing(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A steady pace, slow enough that the answer is still streaming at the last reconnect:
    # the long prompt, quoted back, makes ~35 frames (~3 s).
    paced = dataclasses.replace(upstream.app.config, slow_seconds_per_token=0.08)
    monkeypatch.setattr(upstream.app, "config", paced)
    sock = await connect(alice)
    prompt = "[[sim:slow]] " + "Name the rivers of Europe one by one, " * 6
    await sock.send({"type": "send", "conversation": None, "text": prompt})
    conversation_id = (await sock.until(is_type("conversation")))["conversation"]["id"]
    tab = Tab((await sock.until(is_type("turn")))["turn"]["id"])
    await sock.until(lambda f: f["type"] == "delta" and f["seq"] >= 5)
    tab.catch_up(sock)

    # Two drops: each time the tab reconnects with a new socket and subscribes again.
    for _ in range(2):
        await sock.close()
        seen = tab.seq or 0
        await asyncio.sleep(0.2)  # the answer goes on while the tab is away
        sock = await connect(alice)
        await sock.send({"type": "subscribe", "conversation": conversation_id})
        snapshot = await sock.until(is_type("turn"))
        assert snapshot["turn"]["status"] == "in_progress"
        assert snapshot["seq"] > seen + 1, "the snapshot holds what the tab missed"
        await sock.until(lambda f, n=snapshot["seq"] + 3: f["type"] == "delta" and f["seq"] >= n)
        tab.catch_up(sock)

    final = await sock.until(is_final(tab.turn_id))
    tab.catch_up(sock, until=final)  # the final frame replaces the text with rendered HTML
    turn = await Turn.objects.aget(pk=tab.turn_id)
    assert turn.status == final["turn"]["status"] == "completed"
    output = next(i for i, s in enumerate(turn.steps) if s["type"] == "model_output")
    # Snapshot + later frames, as the tab applied them, are exactly the saved answer.
    assert tab.text[output] == text_of(turn)
    assert tab.snapshots == 3


async def test_closing_the_tab_during_a_function_calling_loop_does_not_stop_it(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conv = await conversation(alice, tools=["calculator"])
    sock = await connect(alice)
    await sock.send({"type": "send", "conversation": conv.pk, "text": "What is 6 * 7?"})
    await sock.close()  # right after sending: the tab is gone before the first tool call

    turn = await wait_for_end(conv.pk)
    assert turn.status == "completed" and turn.error is None
    kinds = [s["type"] for s in turn.steps]
    assert "function_call" in kinds and "function_result" in kinds
    assert kinds.index("function_call") < kinds.index("function_result")
    assert kinds[-1] == "model_output" and "I called your tools" in text_of(turn)
    call = next(s for s in turn.steps if s["type"] == "function_call")
    assert call["name"] == "calculator"
    # A tab opened later sees the finished turn, tool cards included.
    again = await connect(alice)
    await again.send({"type": "subscribe", "conversation": conv.pk})
    final = await again.until(is_final(turn.pk))
    assert final["turn"]["html"].count('class="tool-card') >= 2
    assert await active_turns() == []


async def wait_for_end(conversation_id: int, timeout: float = 15) -> Turn:
    async with asyncio.timeout(timeout):
        while True:
            turn = await Turn.objects.filter(conversation_id=conversation_id).afirst()
            if turn is not None and not turn.is_active and workers.running(turn.pk) is None:
                return turn
            await asyncio.sleep(0.05)


async def test_two_tabs_sending_at_once_start_exactly_one_turn(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conv = await conversation(alice, title="Racing tabs")
    first, second = await connect(alice), await connect(alice)
    frames = [
        {"type": "send", "conversation": conv.pk, "text": f"Hello from tab {n}", "client_id": n}
        for n in ("one", "two")
    ]
    await asyncio.gather(first.send(frames[0]), second.send(frames[1]))

    errors = []
    for sock in (first, second):
        frame = await sock.until(
            lambda f: f["type"] == "error" or (f["type"] == "turn" and f.get("final"))
        )
        if frame["type"] == "error":
            errors.append(frame)
            # The refused tab still follows the conversation: it sees the other tab's answer.
            await sock.until(lambda f: f["type"] == "turn" and f.get("final"))
    assert [(e["code"], e["message"]) for e in errors] == [
        ("busy", "An answer is still being written in this conversation.")
    ], "exactly one of the two tabs is refused"
    turns = [t async for t in Turn.objects.filter(conversation=conv)]
    assert len(turns) == 1, f"{len(turns)} turns were created"
    winner, loser = turns[0], errors[0]["client_id"]
    assert winner.status == "completed"
    assert winner.user_text == f"Hello from tab {'one' if loser == 'two' else 'two'}"
    assert f"tab {loser}" not in text_of(winner)
    assert len(creates(upstream)) == 1
    for sock in (first, second):
        turn_frames = [f for f in sock.frames if f["type"] in ("turn", "status", "delta", "step")]
        ids = {f["turn"]["id"] if f["type"] == "turn" else f["turn"] for f in turn_frames}
        assert ids == {winner.pk}, "frames of another turn reached a tab"
        seqs = covered(turn_frames)
        assert seqs == list(range(1, len(seqs) + 1)), "one turn's frames, in order"
    assert await active_turns() == []
