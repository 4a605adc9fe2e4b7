"""Scale: many conversations streaming at once over two workers, none losing a delta.

A team of users shares the conversations (a user may only have so many tabs on one worker).
Every conversation is started from a tab on worker A, which therefore runs its generation.
For the even ones a second tab on worker B subscribes as soon as the conversation exists and
that tab is checked (it gets the stream through Redis); for the odd ones the sender's own tab
on A is checked. Each checked tab rebuilds the answer from its frames the way a page does
(`chatapp.frames`) and must end with exactly the saved answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from tests.harness.cluster import Cluster

from .test_workers import Tab, open_tab, sign_in

CONVERSATIONS = 50
USERS = 5  # conversation i belongs to user i % USERS: 10 tabs each on A, up to 10 on B
PASSWORD = "a-long-pass-phrase"
TIME_LIMIT = 120.0  # seconds, for all of them together
# "[[sim:slow]]": the simulator streams 0.1 s a delta of three words; "[[sim:long]]": a ~4.5 KB
# answer over several continuation hops (one display block). About 230 deltas, some 25 s of
# streaming per answer: the streams overlap, and a tab on worker B whose snapshot is slow to
# come still sees most of its answer live. The number makes every answer different, so a
# frame delivered to the wrong tab shows.
PROMPT = (
    "[[sim:slow]] [[sim:long]] Scale check number {index}: stream this answer while the other"
    " conversations stream theirs on the same two workers, one PostgreSQL database and one"
    " Redis, and let every tab rebuild it delta by delta, in order, with nothing lost,"
    " doubled or reordered, exactly as the page does it (and show a little code)."
)


@pytest.fixture(scope="module")
def team_cookies(cluster: Cluster) -> list[str]:
    """A signed-in session for each of USERS users (sessions live in PostgreSQL)."""
    worker = cluster.workers[0]
    names = [f"scale-{n}" for n in range(USERS)]
    worker.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"[get_user_model().objects.create_user(n, password={PASSWORD!r}) for n in {names!r}]",
    )
    cookies = []
    for name in names:
        http = sign_in(worker, name, PASSWORD)
        cookies.append(http.cookies["sessionid"])
        http.close()
    return cookies


class Replay:
    """One tab's view of one turn, rebuilt frame by frame as a page does.

    The first problem is kept in `problem` (a lost, doubled or unexpected frame); frames
    after it are still read but no longer applied.
    """

    def __init__(self) -> None:
        self.turn: int | None = None
        self.known = -1  # highest seq applied
        self.texts: dict[tuple[int, str], str] = {}  # (step index, delta type) -> text
        self.finished_steps: set[int] = set()  # model_output steps a snapshot had only as HTML
        self.started_at: float | None = None  # when the last reset or snapshot arrived
        self.final: dict[str, Any] | None = None
        self.problem = ""
        self.history: list[str] = []  # every frame of the turn, in short
        self.problem_at = 0  # where in `history` the problem showed
        self.live_deltas = 0
        self.ignored = 0
        self.first_delta_at: float | None = None
        self.final_at: float | None = None

    def answer(self) -> dict[int, str]:
        """The streamed answer text per model_output step."""
        return {index: text for (index, kind), text in self.texts.items() if kind == "text"}

    def _fail(self, message: str) -> None:
        if not self.problem:
            self.problem = message
            self.problem_at = len(self.history) - 1

    def around_problem(self) -> str:
        """The frames before and after the problem, e.g. `delta 7..9`, `turn/reset 0`."""
        start = max(0, self.problem_at - 6)
        shown = self.history[start : self.problem_at + 7]
        shown[self.problem_at - start] = f">>{shown[self.problem_at - start]}<<"
        return ", ".join(shown)

    def _start(self, frame: dict[str, Any], now: float) -> None:
        """A reset or snapshot: the turn's whole state at its seq."""
        self.started_at = now
        self.texts = {}
        self.finished_steps = set()
        for view in frame["turn"]["steps"]:
            if view.get("live"):
                kind = "thought_summary" if view.get("type") == "thought" else "text"
                self.texts[(view["index"], kind)] = view.get("text", "")
            elif view.get("type") == "model_output":
                self.finished_steps.add(view["index"])
        self.known = frame["seq"]

    def apply(self, frame: dict[str, Any], now: float) -> None:
        kind = frame["type"]
        if kind in ("resync", "error"):
            self._fail(f"unexpected {kind} frame {frame}")
            return
        if kind == "turn":
            turn = frame["turn"]["id"]
        elif kind in ("status", "delta", "step"):
            turn = frame["turn"]
        else:
            return  # conversation, notify: not part of a turn's stream
        flag = next((f"/{k}" for k in ("reset", "final") if frame.get(k)), "")
        if kind == "turn" and not flag:
            flag = "/snapshot"
        span = f"{frame['from']}.." if "from" in frame else ""
        self.history.append(f"{kind}{flag} {span}{frame['seq']}")
        if self.turn is None:
            self.turn = turn
        elif turn != self.turn:
            self._fail(f"a frame of another turn ({turn}, expected {self.turn}): {frame}")
        if kind == "turn" and frame.get("final"):
            self.final, self.final_at = frame, now
        if self.problem or self.final is not None and frame is not self.final:
            return
        seq = frame["seq"]
        if kind == "turn" and frame.get("final"):
            if self.known < 0:
                self._fail(f"final frame at seq {seq} before any reset or snapshot")
            elif seq != self.known + 1:
                what = "LOST" if seq > self.known + 1 else "DOUBLED"
                self._fail(f"{what}: final frame at seq {seq} after seq {self.known}")
        elif kind == "turn" and frame.get("reset"):
            if self.known > 0:
                self._fail(
                    f"the run restarted (reset at seq {seq}) after seq {self.known}:"
                    " another worker took the live turn over (crash recovery)?"
                )
            self._start(frame, now)
        elif kind == "turn":  # a snapshot
            if seq <= self.known:
                self.ignored += 1
            else:
                self._start(frame, now)
        elif seq <= self.known:
            self.ignored += 1  # already in a snapshot
        elif self.known < 0:
            self._fail(f"{kind} frame at seq {seq} before any reset or snapshot: {frame}")
        else:
            first = frame.get("from", seq)
            if first > self.known + 1:
                self._fail(
                    f"LOST: {kind} frame covers seqs {first}..{seq} after seq {self.known}"
                    f" (seqs {self.known + 1}..{first - 1} never arrived)"
                )
                return
            if first < self.known + 1:
                self._fail(
                    f"DOUBLED: {kind} frame covers seqs {first}..{seq} but seq {self.known}"
                    f" was already applied: {frame}"
                )
                return
            self.known = seq
            if kind == "delta":
                self.live_deltas += 1
                if self.first_delta_at is None:
                    self.first_delta_at = now
                key = (frame["index"], frame["delta"]["type"])
                self.texts[key] = self.texts.get(key, "") + frame["delta"]["text"]


@dataclass
class Conversation:
    index: int
    sender: Tab  # on worker A, which runs the generation
    watcher: Tab | None  # on worker B, for the even ones
    id: int | None = None
    subscribed_at: float | None = None  # when the watcher asked to follow it
    replays: dict[str, Replay] = field(default_factory=dict)  # by tab: "sender", "watcher"
    frames: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)

    @property
    def checked(self) -> str:
        return "watcher" if self.watcher is not None else "sender"

    @property
    def where(self) -> str:
        tab = "watcher tab on worker B" if self.watcher else "sender tab on worker A"
        return f"conversation #{self.index} (id {self.id}, {tab})"

    def done(self, tab: str) -> bool:
        return tab in self.replays and self.replays[tab].final is not None


async def _read(conversation: Conversation, name: str, tab: Tab) -> None:
    """Read one tab until its turn's final frame, replaying every frame."""
    replay = conversation.replays.setdefault(name, Replay())
    log = conversation.frames.setdefault(name, [])
    while replay.final is None:
        frame = json.loads(await tab.ws.recv())
        now = time.monotonic()
        tab.frames.append(frame)
        log.append((now, frame))
        if frame["type"] == "conversation" and conversation.id is None:
            conversation.id = frame["conversation"]["id"]
            if conversation.watcher is not None:
                conversation.subscribed_at = time.monotonic()
                await conversation.watcher.send(
                    {"type": "subscribe", "conversation": conversation.id}
                )
            continue
        replay.apply(frame, now)


async def _run(conversation: Conversation) -> None:
    await conversation.sender.send(
        {
            "type": "send",
            "conversation": None,
            "parent": None,
            "text": PROMPT.format(index=conversation.index),
        }
    )
    readers = [_read(conversation, "sender", conversation.sender)]
    if conversation.watcher is not None:
        readers.append(_read(conversation, "watcher", conversation.watcher))
    await asyncio.gather(*readers)


def _saved(database: str, turns: list[int]) -> dict[int, tuple[str, list[Any], str, str]]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT id, status, steps, answer_text, worker FROM chatapp_turn WHERE id = ANY(%s)",
            (turns,),
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _blocks(steps: list[dict[str, Any]]) -> dict[int, str]:
    """The saved answer text per display block, keyed as the frames key it: consecutive
    model_output steps (continuation hops) are one block, indexed by its first step."""
    blocks: dict[int, str] = {}
    start: int | None = None
    for index, step in enumerate(steps):
        if step.get("type") != "model_output":
            start = None
            continue
        start = index if start is None else start
        text = "".join(
            item.get("text", "") for item in step.get("content") or [] if item.get("type") == "text"
        )
        blocks[start] = blocks.get(start, "") + text
    return blocks


def _first_difference(streamed: str, saved: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(streamed, saved, strict=False)) if a != b),
        min(len(streamed), len(saved)),
    )
    return (
        f"first difference at character {at} (streamed {len(streamed)} chars, saved"
        f" {len(saved)}): streamed …{streamed[max(0, at - 30) : at + 30]!r}"
        f" vs saved …{saved[max(0, at - 30) : at + 30]!r}"
    )


def _check(conversation: Conversation, saved: dict[int, tuple[str, list[Any], str, str]]) -> str:
    """The first problem of the conversation's checked tab, or ""."""
    replay = conversation.replays[conversation.checked]
    where = conversation.where
    if replay.problem:
        return f"{where}: {replay.problem}\n    frames: {replay.around_problem()}"
    assert replay.final is not None and replay.turn is not None
    if replay.finished_steps:
        late = ""
        if conversation.subscribed_at is not None and replay.started_at is not None:
            late = f" {replay.started_at - conversation.subscribed_at:.1f}s after subscribing"
        return (
            f"{where}: its snapshot came{late} with steps {sorted(replay.finished_steps)}"
            " already finished (only their HTML): the test cannot rebuild their text\n"
            f"    frames: {', '.join(replay.history[:12])}"
        )
    status = replay.final["turn"]["status"]
    if status != "completed":
        return f"{where}: final frame says {status!r}: {replay.final['turn'].get('error')}"
    if replay.live_deltas == 0:
        return f"{where}: no live delta arrived, only a snapshot and the final frame"
    if replay.turn not in saved:
        return f"{where}: turn {replay.turn} is not in the database"
    saved_status, steps, answer, _ = saved[replay.turn]
    if saved_status != "completed":
        return f"{where}: turn {replay.turn} was saved as {saved_status!r}"
    streamed = replay.answer()
    expected = _blocks(steps)
    for index in sorted(set(streamed) | set(expected)):
        if streamed.get(index) != expected.get(index):
            return f"{where}: turn {replay.turn} block at step {index}: " + _first_difference(
                streamed.get(index, ""), expected.get(index, "")
            )
    whole = "".join(streamed[i] for i in sorted(streamed))
    if whole != answer:
        return f"{where}: turn {replay.turn} answer_text: " + _first_difference(whole, answer)
    return ""


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals that contain one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, change in events:
        current += change
        most = max(most, current)
    return most


def _unfinished(conversations: list[Conversation]) -> str:
    lines = []
    for c in conversations:
        names = ["sender", "watcher"] if c.watcher else ["sender"]
        waiting = [n for n in names if not c.done(n)]
        if not waiting:
            continue
        parts = []
        for name in waiting:
            replay = c.replays.get(name)
            tail = [(f["type"], f.get("seq")) for _, f in c.frames.get(name, [])][-8:]
            known = replay.known if replay else None
            problem = f" ({replay.problem})" if replay and replay.problem else ""
            parts.append(f"{name} at seq {known}{problem}, last frames {tail}")
        lines.append(f"  {c.where}: " + "; ".join(parts))
    return f"{len(lines)} of {len(conversations)} conversations unfinished:\n" + "\n".join(lines)


async def test_many_conversations_stream_completely_on_both_workers(
    cluster: Cluster, team_cookies: list[str], database: str
) -> None:
    worker_a, worker_b = cluster.workers[:2]
    conversations: list[Conversation] = []
    try:
        for index in range(CONVERSATIONS):
            cookie = team_cookies[index % USERS]
            sender = await open_tab(worker_a, cookie)
            watcher = await open_tab(worker_b, cookie) if index % 2 == 0 else None
            conversations.append(Conversation(index, sender, watcher))
        started = time.monotonic()
        try:
            async with asyncio.timeout(TIME_LIMIT):
                await asyncio.gather(*(_run(c) for c in conversations))
        except TimeoutError:
            raise AssertionError(
                f"not finished within {TIME_LIMIT}s: " + _unfinished(conversations)
            ) from None
        elapsed = time.monotonic() - started

        turns = [c.replays[c.checked].turn for c in conversations]
        saved = _saved(database, [t for t in turns if t is not None])
        problems = [p for p in (_check(c, saved) for c in conversations) if p]
        assert not problems, f"{len(problems)} of {CONVERSATIONS} answers went wrong:\n" + (
            "\n".join(problems)
        )

        # All generations ran on worker A, so the watchers were on the other worker.
        runners = {saved[t][3] for t in turns if t is not None}
        assert len(runners) == 1, f"the generations ran on several workers: {runners}"
        # And they did stream at the same time (as the sender tabs on A saw the generations).
        intervals = []
        for c in conversations:
            replay = c.replays["sender"]
            assert replay.first_delta_at is not None and replay.final_at is not None
            intervals.append((replay.first_delta_at, replay.final_at))
        at_once = _most_at_once(intervals)
        assert at_once == CONVERSATIONS, (
            f"only {at_once} of {CONVERSATIONS} conversations streamed at the same time "
            f"(all done in {elapsed:.1f}s): make the answers slower"
        )
    finally:
        for c in conversations:
            for tab in (c.sender, c.watcher):
                if tab is not None:
                    await tab.ws.close()
