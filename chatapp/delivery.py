"""Delivery of frames to sockets: in order, complete, bounded, on one worker or many.

Each socket has a `Subscriber`: an ordered, bounded queue and one task that sends it. A frame
published for a conversation goes straight into the queues of that conversation's sockets on
this worker. With `REDIS_URL` set it is also appended to a capped Redis Stream per
conversation; every worker that has sockets on that conversation reads the stream from the
position it joined at and feeds those sockets. Nothing is fire-and-forget: a stream is read
from a position, so a slow reader catches up instead of losing frames. A socket whose queue
overflows is told to resync (it asks for a snapshot) instead of growing memory or slowing
the others; under backlog consecutive text deltas of one step leave as one frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from django.conf import settings

from . import metrics, streams, tracing
from .frames import FINAL, RESYNC, Frame, chunk, merge

log = logging.getLogger(__name__)

# Frames one socket may have waiting; past it the socket resyncs from a snapshot.
QUEUE_LIMIT = 5000
# A frame longer than this (characters of JSON) leaves in `chunk` frames: no client limit
# on message size (1 MiB is common) ever refuses a long answer.
CHUNK_CHARS = 256 * 1024
# Under backlog, at most this many text deltas leave as one frame.
MERGE_MAX = 1000

_subscribers: dict[int, set[Subscriber]] = {}
_by_name: dict[str, Subscriber] = {}


def publish(frame: Frame) -> None:
    """Hand a frame to every socket of its conversation, here and on the other workers."""
    for subscriber in _subscribers.get(frame.conversation, ()):
        subscriber.put(frame)
    if (streams := _streams()) is not None:
        streams.write(frame)


def send_to(name: str, frame: Frame) -> None:
    """A frame for one socket (a snapshot it asked for), wherever it is connected."""
    if (subscriber := _by_name.get(name)) is not None:
        subscriber.put(frame)
    elif (streams := _streams()) is not None:
        streams.write(frame, to=name)


def _streams() -> streams.Streams | None:
    return streams.current(_deliver_here)


def _deliver_here(frame: Frame, to: str = "") -> None:
    if to:
        if (subscriber := _by_name.get(to)) is not None:
            subscriber.put(frame)
        return
    for subscriber in _subscribers.get(frame.conversation, ()):
        subscriber.put(frame)


class Subscriber:
    """One socket's ordered, bounded queue of frames, and the task that sends them."""

    def __init__(self, name: str, send: Callable[[str], Awaitable[None]]) -> None:
        self.name = name
        self.conversation: int | None = None
        self._send = send
        self._queue: deque[Frame | None] = deque()  # None: "tell the page to resync"
        self._wake = asyncio.Event()
        # Per turn, the highest seq this socket was sent; live frames of a turn it has no
        # snapshot of yet are skipped (the snapshot covers them).
        self._sent: dict[int, float] = {}
        self._dropped: set[tuple[int, object]] = set()  # test faults (CHAT_FAULT_DROP_FRAMES)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"send-{name}")
        _by_name[name] = self

    def put(self, frame: Frame) -> None:
        if len(self._queue) >= QUEUE_LIMIT:
            metrics.SOCKET_OVERFLOWS.inc()
            self._queue.clear()
            self._queue.append(None)
        self._queue.append(frame)
        self._wake.set()

    async def watch(self, conversation: int) -> None:
        """Receive this conversation's frames (and no longer the previous one's)."""
        if self.conversation == conversation:
            return
        self._leave()
        self.conversation = conversation
        _subscribers.setdefault(conversation, set()).add(self)
        if (streams := _streams()) is not None:
            await streams.follow(conversation)

    def close(self) -> None:
        self._leave()
        _by_name.pop(self.name, None)
        self._task.cancel()

    def _leave(self) -> None:
        if self.conversation is None:
            return
        group = _subscribers.get(self.conversation)
        if group is not None:
            group.discard(self)
            if not group:
                del _subscribers[self.conversation]
        if (streams := _streams()) is not None:
            streams.unfollow(self.conversation)
        self.conversation = None

    # --- the sender ---

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = list(self._queue)
                self._queue.clear()
                try:
                    await self._deliver(batch)
                except Exception:  # the socket is gone; its consumer closes us
                    log.debug("sending to %s failed", self.name, exc_info=True)
                    return

    async def _deliver(self, batch: list[Frame | None]) -> None:
        run: list[Frame] = []
        for frame in batch:
            if frame is None:
                await self._flush(run)
                run = []
                self._sent.clear()
                await self._send(RESYNC)
            elif self._accept(frame):
                if run and (not run[-1].mergeable(frame) or len(run) >= MERGE_MAX):
                    await self._flush(run)
                    run = []
                run.append(frame)
        await self._flush(run)

    def _accept(self, frame: Frame) -> bool:
        """Keep the order per turn: nothing twice, nothing before its turn's snapshot."""
        turn = frame.turn
        if turn is None:
            return True
        if settings.CHAT_FAULT_DROP_FRAMES and self._fault(frame):
            return False
        if frame.flags in ("reset", "snapshot"):
            self._sent[turn] = frame.seq
            return True
        if frame.flags == "final":
            self._sent[turn] = FINAL
            return True
        known = self._sent.get(turn)
        if known is None or frame.seq <= known:
            return False
        self._sent[turn] = frame.seq
        return True

    def _fault(self, frame: Frame) -> bool:
        """Drop chosen live frames once per turn, to prove that the page resyncs."""
        wanted = settings.CHAT_FAULT_DROP_FRAMES
        label: object = "final" if frame.flags == "final" else frame.seq
        if frame.flags == "snapshot" or frame.kind != "delta" and label != "final":
            return False
        key = (frame.turn or 0, label)
        if label in wanted and key not in self._dropped:
            self._dropped.add(key)
            return True
        return False

    async def _flush(self, run: list[Frame]) -> None:
        if len(run) == 1:
            await self._send_text(await run[0].text())
            if run[0].trace:
                tracing.delivered(run[0].trace, self.name, run[0].conversation, run[0].turn)
        elif run:
            metrics.MERGED_DELTAS.inc(len(run) - 1)
            await self._send_text(merge([await frame.body() for frame in run]))

    async def _send_text(self, text: str) -> None:
        if len(text) <= CHUNK_CHARS:
            await self._send(text)
            return
        pieces = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
        for number, piece in enumerate(pieces):
            await self._send(chunk(piece, number, len(pieces)))
