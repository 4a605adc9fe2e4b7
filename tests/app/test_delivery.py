"""Delivery of frames to sockets: order, completeness, merging, bounds, and Redis Streams."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest

from chatapp import delivery, streams
from chatapp.frames import Frame, delta_frame, status_frame
from tests.reliability.helpers import covered

CONV = 7
TURN = 70


class Sink:
    """What one socket was sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))
        self.arrived.set()

    async def until(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.sent) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.sent


def turn_frame(seq: int, flags: str, body: Any = None) -> Frame:
    body = body or {"type": "turn", "seq": seq, "turn": {"id": TURN}}
    return Frame(CONV, "turn", body, turn=TURN, seq=seq, flags=flags)


def delta(seq: int, text: str, index: int = 0) -> Frame:
    return delta_frame(CONV, TURN, seq, [], index, "text", text)


@pytest.fixture
async def socket() -> Any:
    sink = Sink()
    subscriber = delivery.Subscriber("test|socket", sink.send)
    await subscriber.watch(CONV)
    yield subscriber, sink
    subscriber.close()


async def test_frames_leave_in_order_even_while_one_is_still_rendering(socket: Any) -> None:
    subscriber, sink = socket
    loop = asyncio.get_running_loop()
    rendering: asyncio.Future[dict[str, Any]] = loop.create_future()
    delivery.publish(turn_frame(0, "reset", rendering))
    delivery.publish(status_frame(CONV, TURN, 1, "in_progress"))
    delivery.publish(delta(2, "Hello"))
    await asyncio.sleep(0.05)
    assert sink.sent == [], "nothing may overtake a frame that is still rendering"
    rendering.set_result({"type": "turn", "seq": 0, "reset": True, "turn": {"id": TURN}})
    sent = await sink.until(3)
    assert [f["type"] for f in sent] == ["turn", "status", "delta"]
    assert covered(sent) == [1, 2]


async def test_live_frames_wait_for_their_turns_snapshot_and_never_repeat(socket: Any) -> None:
    subscriber, sink = socket
    delivery.publish(delta(4, "before the snapshot"))  # covered by the snapshot below
    subscriber.put(turn_frame(5, "snapshot"))
    delivery.publish(delta(5, "already in the snapshot"))
    delivery.publish(delta(6, "new"))
    delivery.publish(turn_frame(7, "final"))
    sent = await sink.until(3)
    await asyncio.sleep(0.05)
    assert [(f["type"], f["seq"]) for f in sent] == [("turn", 5), ("delta", 6), ("turn", 7)]


async def test_a_lagging_socket_gets_consecutive_deltas_of_a_step_as_one_frame(
    socket: Any,
) -> None:
    subscriber, sink = socket
    subscriber.put(turn_frame(0, "reset"))
    # Published with no await between them: the sender finds them all waiting.
    for seq, text in enumerate(["One ", "two ", "three"], start=1):
        delivery.publish(delta(seq, text))
    delivery.publish(delta(4, "a thought", index=1))
    sent = await sink.until(3)
    merged, other = sent[1], sent[2]
    assert merged["from"] == 1 and merged["seq"] == 3 and merged["delta"]["text"] == "One two three"
    assert "from" not in other and other["index"] == 1 and other["seq"] == 4
    assert covered(sent) == [1, 2, 3, 4]


async def test_an_overflowing_socket_is_told_to_resync_and_stays_bounded(
    socket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber, sink = socket
    monkeypatch.setattr(delivery, "QUEUE_LIMIT", 10)
    loop = asyncio.get_running_loop()
    stuck: asyncio.Future[dict[str, Any]] = loop.create_future()
    subscriber.put(turn_frame(0, "reset", stuck))  # holds the sender
    await asyncio.sleep(0)
    for seq in range(1, 100):
        delivery.publish(delta(seq, "x"))
        assert len(subscriber._queue) <= 11
    stuck.set_result({"type": "turn", "seq": 0, "reset": True, "turn": {"id": TURN}})
    sent = await sink.until(2)
    await asyncio.sleep(0.05)
    assert sent[0]["type"] == "turn" and sent[1] == {"type": "resync"}
    # After a resync nothing of the turn is sent until its next snapshot.
    assert all(f["type"] != "delta" for f in sent[2:])
    subscriber.put(turn_frame(120, "snapshot"))
    delivery.publish(delta(121, "live again"))
    sent = await sink.until(len(sent) + 2)
    assert [f.get("seq") for f in sent[-2:]] == [120, 121]


async def test_without_redis_a_turn_still_reaches_its_sockets(socket: Any, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    subscriber, sink = socket
    try:
        subscriber.put(turn_frame(0, "reset"))
        delivery.publish(delta(1, "still here"))
        sent = await sink.until(2)
        assert sent[1]["delta"]["text"] == "still here"
    finally:
        settings.REDIS_URL = ""
        if streams._instance is not None:
            streams._instance.close()
            streams._instance = None


# --- across workers, through a real Redis ---


@pytest.fixture
def redis_db() -> str:
    subprocess.run(["redis-cli", "-n", "8", "FLUSHDB"], check=True, capture_output=True)
    return "redis://127.0.0.1:6379/8"


@pytest.mark.deploy
async def test_frames_cross_workers_through_a_stream_read_from_where_a_socket_joined(
    redis_db: str,
) -> None:
    here, there = (
        streams.Streams(redis_db, "worker-a", delivery._deliver_here),
        streams.Streams(redis_db, "worker-b", delivery._deliver_here),
    )
    sink = Sink()
    watcher = delivery.Subscriber("worker-b|tab", sink.send)
    delivery._subscribers.setdefault(CONV, set()).add(watcher)
    try:
        here.write(delta(1, "before the tab joined"))
        await asyncio.sleep(0.3)
        await there.follow(CONV)
        here.write(turn_frame(1, "snapshot"), to="worker-b|tab")
        for seq, text in enumerate(["a", "b", "c"], start=2):
            here.write(delta(seq, text))
        here.write(turn_frame(5, "final"))
        sent = await sink.until(3)
        await asyncio.sleep(0.3)
        assert [f["type"] for f in sent] == ["turn", "delta", "turn"]
        assert sent[1]["delta"]["text"] == "abc" and sent[1]["from"] == 2
        assert covered(sent) == [2, 3, 4] and sent[2]["seq"] == 5
    finally:
        delivery._subscribers.get(CONV, set()).discard(watcher)
        watcher.close()
        here.close()
        there.close()


@pytest.mark.deploy
async def test_a_snapshot_for_one_socket_reaches_no_other(redis_db: str) -> None:
    here, there = (
        streams.Streams(redis_db, "worker-a", delivery._deliver_here),
        streams.Streams(redis_db, "worker-b", delivery._deliver_here),
    )
    asked, other = Sink(), Sink()
    tabs = [delivery.Subscriber("worker-b|asked", asked.send)]
    tabs.append(delivery.Subscriber("worker-b|other", other.send))
    delivery._subscribers.setdefault(CONV, set()).update(tabs)
    try:
        await there.follow(CONV)
        here.write(turn_frame(3, "snapshot"), to="worker-b|asked")
        await asyncio.sleep(0.2)
        here.write(turn_frame(4, "final"))
        await asyncio.sleep(0.5)
        assert [f["seq"] for f in asked.sent] == [3, 4]
        assert [f["seq"] for f in other.sent] == [4]
    finally:
        for tab in tabs:
            delivery._subscribers.get(CONV, set()).discard(tab)
            tab.close()
        here.close()
        there.close()


async def test_a_5_mb_frame_leaves_in_chunks_joined_in_order(socket: Any) -> None:
    subscriber, sink = socket
    html = "".join(f"<p>paragraph {i} — ünïcödé</p>" for i in range(200_000))  # ~5 MB
    body = {"type": "turn", "seq": 9, "final": True, "turn": {"id": TURN, "html": html}}
    delivery.publish(turn_frame(9, "final", body))
    first = await sink.until(1)
    count = first[0]["of"]
    sent = await sink.until(count)
    assert [f["type"] for f in sent] == ["chunk"] * count and [f["n"] for f in sent] == list(
        range(count)
    )
    assert all(len(f["data"]) <= delivery.CHUNK_CHARS for f in sent)
    assert json.loads("".join(f["data"] for f in sent)) == body
