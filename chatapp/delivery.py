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
import contextlib
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

from django.conf import settings

from . import metrics, xstreams
from .frames import FINAL, RESYNC, Frame, chunk, merge

log = logging.getLogger(__name__)

# Who this worker process is: its Redis stream, and its generations' owner (chatapp.workers).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
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


async def pause_after_failure(failures: int, what: str) -> None:
    """Back off after the n-th failure in a row of a background loop (Redis away, say),
    logging the first and every hundredth instead of thousands of lines a second."""
    if failures == 1 or failures % 100 == 0:
        log.warning("%s failed (%s times)", what, failures, exc_info=True)
    await asyncio.sleep(min(5.0, 0.1 * 2 ** min(failures, 6)))


# --- across workers: one capped Redis Stream per conversation ---

STREAM_MAXLEN = 20_000
STREAM_TTL_SECONDS = 3600
READ_BLOCK_MS = 200


def _key(conversation: int) -> str:
    return f"chat:frames:{conversation}"


class Streams:
    """This worker's writer to, and reader of, the conversations' Redis Streams."""

    def __init__(self, url: str, origin: str) -> None:
        import redis.asyncio as redis

        self.origin = origin
        pool = redis.BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=32, timeout=30, socket_timeout=15
        )
        self.redis = redis.Redis(connection_pool=pool)
        # Blocking reads hold their connection: they get one of their own.
        self.reader = redis.Redis.from_url(url, decode_responses=True, socket_timeout=15)
        self.loop = asyncio.get_running_loop()
        self._outbox: deque[tuple[Frame, str]] = deque()
        self._write_wake = asyncio.Event()
        self._written = asyncio.Event()  # set while nothing waits to be written
        self._written.set()
        self._read_wake = asyncio.Event()
        self._positions: dict[int, str] = {}
        self._watchers: dict[int, int] = {}
        self._tasks = [
            self.loop.create_task(self._write_loop(), name="streams-writer"),
            self.loop.create_task(self._read_loop(), name="streams-reader"),
        ]

    def write(self, frame: Frame, to: str = "") -> None:
        self._outbox.append((frame, to))
        self._written.clear()
        self._write_wake.set()

    async def flush(self) -> None:
        """Wait until every frame so far is in Redis (a worker about to exit)."""
        await self._written.wait()

    async def follow(self, conversation: int) -> None:
        """Read this conversation's stream from now on (counted per socket)."""
        self._watchers[conversation] = self._watchers.get(conversation, 0) + 1
        if conversation in self._positions:
            return
        position = "0-0"
        with contextlib.suppress(Exception):
            last = await self.redis.xrevrange(_key(conversation), count=1)
            position = cast(xstreams.Range, last)[0][0] if last else "0-0"
        if self._watchers.get(conversation):
            self._positions.setdefault(conversation, position)
            self._read_wake.set()

    def unfollow(self, conversation: int) -> None:
        count = self._watchers.get(conversation, 0) - 1
        if count > 0:
            self._watchers[conversation] = count
        else:
            self._watchers.pop(conversation, None)
            self._positions.pop(conversation, None)

    async def _write_loop(self) -> None:
        failures = 0
        while True:
            await self._write_wake.wait()
            self._write_wake.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 500))]
                entries = await self._entries(batch)
                try:
                    pipe = self.redis.pipeline(transaction=False)
                    for conversation, fields in entries:
                        pipe.xadd(
                            _key(conversation), fields, maxlen=STREAM_MAXLEN, approximate=True
                        )
                    for conversation in {c for c, _ in entries}:
                        pipe.expire(_key(conversation), STREAM_TTL_SECONDS)
                    await pipe.execute()
                    failures = 0
                except Exception:
                    # Pages on other workers see a gap or a stall and resync; this worker's
                    # own sockets were served in process and lose nothing.
                    failures += 1
                    metrics.STREAM_ERRORS.inc()
                    await pause_after_failure(failures, "writing frames to Redis")
            self._written.set()

    async def _entries(self, batch: list[tuple[Frame, str]]) -> list[tuple[int, xstreams.Entry]]:
        """Stream entries for a batch, consecutive deltas of one step merged into one."""
        entries: list[tuple[int, xstreams.Entry]] = []
        run: list[Frame] = []

        async def flush() -> None:
            if not run:
                return
            text = await run[0].text() if len(run) == 1 else merge([await f.body() for f in run])
            entries.append((run[0].conversation, self._fields(run[0], run[-1].seq, text, "")))
            run.clear()

        for frame, to in batch:
            if not to and run and run[-1].mergeable(frame):
                run.append(frame)
                continue
            await flush()
            if to:
                fields = self._fields(frame, frame.seq, await frame.text(), to)
                entries.append((frame.conversation, fields))
            else:
                run.append(frame)
        await flush()
        return entries

    def _fields(self, frame: Frame, last_seq: int, text: str, to: str) -> xstreams.Entry:
        return {
            "o": self.origin,
            "k": frame.kind,
            "t": "" if frame.turn is None else frame.turn,
            "f": frame.first,
            "s": last_seq,
            "g": frame.flags,
            "y": frame.key,
            "to": to,
            "j": text,
        }

    async def _read_loop(self) -> None:
        failures = 0
        while True:
            if not self._positions:
                await self._read_wake.wait()
                self._read_wake.clear()
                continue
            streams: xstreams.Positions = {_key(c): p for c, p in self._positions.items()}
            try:
                result = await self.reader.xread(streams, count=1000, block=READ_BLOCK_MS)
                failures = 0
            except Exception:
                failures += 1
                metrics.STREAM_ERRORS.inc()
                await pause_after_failure(failures, "reading frames from Redis")
                continue
            for key, entries in cast(xstreams.Read, result or []):
                conversation = int(key.rsplit(":", 1)[1])
                for entry_id, fields in entries:
                    if conversation in self._positions:
                        self._positions[conversation] = entry_id
                    if fields.get("o") != self.origin:
                        _deliver_here(_frame_of(conversation, fields), fields.get("to", ""))

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()


def _frame_of(conversation: int, fields: dict[str, Any]) -> Frame:
    turn = fields.get("t")
    return Frame(
        conversation,
        fields.get("k", ""),
        turn=int(turn) if turn else None,
        seq=int(fields.get("s") or 0),
        first=int(fields.get("f") or 0),
        flags=fields.get("g", ""),
        key=fields.get("y", ""),
        text=fields.get("j", "{}"),
    )


_instance: Streams | None = None


async def flush() -> None:
    """Wait until every frame published so far has reached Redis (at once without Redis)."""
    if _instance is not None and _instance.loop is asyncio.get_running_loop():
        await _instance.flush()


def _streams() -> Streams | None:
    """This worker's Streams when REDIS_URL is set (one per event loop)."""
    global _instance
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    if _instance is None or _instance.loop is not loop:
        if _instance is not None:
            _instance.close()
        _instance = Streams(settings.REDIS_URL, WORKER_ID)
    return _instance
