"""Frames between workers: one capped Redis Stream per conversation.

Every frame a worker publishes is appended (pipelined, batched, capped, with a TTL) to its
conversation's stream; each worker reads the streams of the conversations it has sockets on,
from the position it joined at, and hands the other workers' frames to its sockets
(`chatapp.delivery`). A snapshot for a socket on another worker travels in the same stream,
addressed to it, so it stays in order with the live frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings

from . import metrics, xstreams
from .backoff import pause_after_failure
from .frames import Frame, merge

log = logging.getLogger(__name__)

# Who this worker process is: its Redis stream, and its generations' owner (chatapp.workers).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
Deliver = Callable[[Frame, str], None]


STREAM_MAXLEN = 20_000
STREAM_TTL_SECONDS = 3600
READ_BLOCK_MS = 200


def _key(conversation: int) -> str:
    return f"chat:frames:{conversation}"


class Streams:
    """This worker's writer to, and reader of, the conversations' Redis Streams."""

    def __init__(self, url: str, origin: str, deliver: Deliver) -> None:
        import redis.asyncio as redis

        self.origin = origin
        self.deliver = deliver  # hands frames of other workers to this worker's sockets
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
            "tp": frame.trace,
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
                        self.deliver(_frame_of(conversation, fields), fields.get("to", ""))

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
        trace=fields.get("tp", ""),
    )


_instance: Streams | None = None


async def flush() -> None:
    """Wait until every frame published so far has reached Redis (at once without Redis)."""
    if _instance is not None and _instance.loop is asyncio.get_running_loop():
        await _instance.flush()


def current(deliver: Deliver) -> Streams | None:
    """This worker's Streams when REDIS_URL is set (one per event loop)."""
    global _instance
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    if _instance is None or _instance.loop is not loop:
        if _instance is not None:
            _instance.close()
        _instance = Streams(settings.REDIS_URL, WORKER_ID, deliver)
    return _instance
