"""Incremental Server-Sent Events decoding, sans I/O.

Two layers, as the WHATWG "event stream interpretation" steps describe them
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

* `LineDecoder` is fed raw bytes in chunks of any size and yields complete lines. It splits on
  CR, LF or CRLF (a CRLF may be cut between two chunks) and decodes UTF-8 per complete line,
  so a multi-byte character cut by a chunk boundary survives.
* `EventDecoder` is fed lines and yields `ServerSentEvent`s: `data` lines joined with "\\n",
  comments skipped, `id` and `retry` kept, dispatch on a blank line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class LineDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending_cr = False
        self._started = False

    def feed(self, chunk: bytes) -> Iterator[str]:
        """Yield every line completed by `chunk`."""
        if self._pending_cr and chunk:
            # The CR that ended the last chunk's line: swallow a following LF.
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
            self._pending_cr = False
        self._buffer += chunk
        start = 0
        buf = self._buffer
        while True:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                yield self._decode(buf[start:lf])
                start = lf + 1
                continue
            yield self._decode(buf[start:cr])
            if cr + 1 < len(buf):
                start = cr + 2 if buf[cr + 1 : cr + 2] == b"\n" else cr + 1
            else:
                start = cr + 1
                self._pending_cr = True
        del buf[:start]

    def flush(self) -> Iterator[str]:
        """Yield a last line left without a terminator when the stream ends."""
        if self._buffer:
            line = self._decode(self._buffer)
            self._buffer = bytearray()
            yield line

    def _decode(self, raw: bytes | bytearray) -> str:
        text = bytes(raw).decode("utf-8", errors="replace")
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        return text


class EventDecoder:
    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line; return an event when the line is the blank line that ends one."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._event = ""
        self._data = []
        return event


class SSEDecoder:
    """Bytes in, events out: the two layers above chained."""

    def __init__(self) -> None:
        self._lines = LineDecoder()
        self._events = EventDecoder()

    def feed(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        for line in self._lines.feed(chunk):
            event = self._events.feed(line)
            if event is not None:
                yield event

    def close(self) -> Iterator[ServerSentEvent]:
        """End of stream. Per the spec an event not ended by a blank line is dropped."""
        for line in self._lines.flush():
            event = self._events.feed(line)
            if event is not None:
                yield event


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
