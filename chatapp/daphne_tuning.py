"""Daphne, tuned: request bodies bounded, refused early and never held in memory; the
websocket message limit set in one place.

Daphne (through Twisted) reads a whole request body before it calls the application, then
copies all of it into the application's queue at once. Three changes to that:

- `skip_twisted_form_parsing`: Twisted parses every multipart POST with the stdlib email
  parser, on the event loop, holding several copies of the body; Daphne never reads that result
  (twisted#4519, daphne#483). Twisted's opt-out, `parsePOSTFormSubmission=False`, is passed.
  bench/upload.py, one 20 MB image: +262 MiB and a 743 ms stall -> +23 MiB, 53 ms.
- `limit_request_bodies`, 1: a body over its route's limit (`body_limit`) is answered 413 as
  soon as the headers announce it (Content-Length) or as soon as it grows past the limit
  (chunked), and is not stored. The rest is read and dropped for a few seconds, so that a
  client sending everything before it reads gets the answer rather than a reset.
- `limit_request_bodies`, 2: an accepted body stays in Twisted's file (on disk above 100 kB)
  and is handed to the application a chunk at a time as it asks, not queued whole.
  Before both: an anonymous 200 MB POST grew the worker by 207 MiB (for a 403), a signed-in
  45 MB upload by 48 MiB; tests/security/test_request_bodies.py has the figures after.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from daphne import http_protocol
from daphne.http_protocol import WebRequest
from django.conf import settings
from django.urls import Resolver404, resolve
from twisted.internet.interfaces import ITCPTransport
from twisted.web.http import HTTPChannel, Request

from . import importer
from .file_views import MULTIPART_OVERHEAD, max_upload_request_bytes
from .responses import error_body
from .uploads import human_size

logger = logging.getLogger(__name__)

# Routes that take a file from a signed-in user, and the largest body each takes.
FILE_ROUTES: dict[str, Callable[[], int]] = {
    "upload": max_upload_request_bytes,
    "import_conversation": lambda: importer.MAX_IMPORT_BYTES + MULTIPART_OVERHEAD,
    "knowledge_upload": lambda: settings.KNOWLEDGE_MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD,
}
# How long a refused request's remaining body is read (and dropped) before the connection is
# cut: a client that sends everything before it reads gets the 413 instead of a reset.
LINGER_SECONDS = 5.0
BODY_CHUNK = 64 * 1024


def skip_twisted_form_parsing() -> None:
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return  # an older Twisted without the switch
    if getattr(WebRequest.__init__, "_skips_form_parsing", False):
        return
    original = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    __init__._skips_form_parsing = True  # type: ignore[attr-defined]
    WebRequest.__init__ = __init__  # type: ignore[method-assign]


def limit_websocket_messages(max_bytes: int) -> None:
    """Set Daphne's limit on incoming websocket messages here, in one place.

    Daphne refuses a bigger message by closing the socket (1009); its default (1 MiB, from
    every launcher's command line) is below what a legitimate frame may need. The page's
    frames are checked by the consumer against `protocol.MAX_FRAME_BYTES`, a little lower, so
    a too-big message gets a clear error frame instead of a closed socket.
    """
    try:
        from daphne.server import Server
    except ImportError:  # not running under Daphne
        return
    if getattr(Server.__init__, "_websocket_limit", None) == max_bytes:
        return
    original = getattr(Server.__init__, "_original", Server.__init__)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["websocket_max_message_size"] = max_bytes
        kwargs["websocket_max_frame_size"] = max_bytes
        original(self, *args, **kwargs)

    __init__._websocket_limit = max_bytes  # type: ignore[attr-defined]
    __init__._original = original  # type: ignore[attr-defined]
    Server.__init__ = __init__  # type: ignore[method-assign]


def limit_request_bodies() -> None:
    """Refuse bodies over their route's limit early, and hand accepted ones over in chunks."""
    # Imported here: daphne.server installs Twisted's asyncio reactor when first imported.
    from daphne.server import Server

    # Daphne's factory builds each request from this module attribute.
    http_protocol.WebRequest = BoundedRequest
    if not getattr(Server.create_application, "_streams_bodies", False):
        Server.create_application = _streaming(Server.create_application)


# --- limits ---


def body_limit(path: str, signed_in: bool) -> tuple[int, str]:
    """The most bytes the body of a request to `path` may have, and the refusal's words."""
    if not signed_in:
        limit = int(settings.REQUEST_MAX_ANONYMOUS_BYTES)
        return limit, f"That request is too large: {human_size(limit)} at most."
    try:
        name = resolve(path).url_name
    except Resolver404:
        name = None
    if route_limit := FILE_ROUTES.get(name or ""):
        limit = route_limit()
        largest = human_size(limit - MULTIPART_OVERHEAD)
        return limit, f"That file is too large: the largest allowed here is {largest}."
    limit = int(settings.REQUEST_MAX_BYTES)
    return limit, f"That request is too large: {human_size(limit)} at most."


def refusal(message: str, status: bytes = b"413 Content Too Large") -> bytes:
    """A raw refusal: JSON like the app's own errors, and the connection closes."""
    body = json.dumps(error_body(message)).encode()
    return (
        b"HTTP/1.1 %s\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (status, len(body), body)
    )


# --- oversized request lines and headers ---


def answer_oversized_heads() -> None:
    """Answer a request line or headers over Twisted's 16 KiB limits with 414 or 431.

    Twisted cuts the connection without a word when one line is longer than MAX_LENGTH (a
    long query string), and answers a bare 400 when all headers together pass
    totalHeadersSize: a browser or a proxy then shows a network error, not a reason.
    """
    from daphne.http_protocol import HTTPFactory

    if getattr(HTTPFactory.buildProtocol, "_answers_heads", False):
        return
    original = HTTPFactory.buildProtocol

    def buildProtocol(self: Any, addr: Any) -> Any:
        protocol = original(self, addr)
        channel = getattr(protocol, "_channel", protocol)
        if isinstance(channel, HTTPChannel):
            bad_request = channel._respondToBadRequestAndDisconnect
            channel.lineLengthExceeded = lambda line: _too_long(channel, line)  # type: ignore[method-assign]
            channel._respondToBadRequestAndDisconnect = (  # type: ignore[method-assign]
                lambda: _bad_request(channel, bad_request)
            )
        return protocol

    buildProtocol._answers_heads = True  # type: ignore[attr-defined]
    HTTPFactory.buildProtocol = buildProtocol  # type: ignore[method-assign]


def _too_long(channel: HTTPChannel, line: bytes) -> None:
    if getattr(channel, "_command", None) is None:  # still on the request line
        _refuse_head(channel, b"414 URI Too Long", "That address is too long.")
    else:
        _refuse_head(channel, b"431 Request Header Fields Too Large", "A header is too long.")


def _bad_request(channel: HTTPChannel, bad_request: Callable[[], None]) -> None:
    if channel._receivedHeaderSize > channel.totalHeadersSize:
        message = "The request's headers are too large."
        _refuse_head(channel, b"431 Request Header Fields Too Large", message)
    else:
        bad_request()


def _refuse_head(channel: HTTPChannel, status: bytes, message: str) -> None:
    logger.warning("Refused a request: %s", status.decode())
    channel.dataReceived = channel.lineReceived = _drop  # type: ignore[method-assign]
    transport: Any = channel.transport
    transport.write(refusal(message, status))
    channel.loseConnection()


class BoundedRequest(WebRequest):  # type: ignore[misc]
    """Daphne's request, refusing a body over its route's limit before storing it."""

    _limit: int | None = None
    _message = ""
    _received = 0
    _refused = False
    _linger: Any = None

    def gotLength(self, length: int | None) -> None:
        # Called once the headers are in, before any of the body. The request line is on the
        # channel: Request.path is only set once the whole body has arrived.
        # (HTTP/1.1 only: Daphne speaks HTTP/2 only over TLS with the h2 package, unused here.)
        smallest = min(settings.REQUEST_MAX_ANONYMOUS_BYTES, settings.REQUEST_MAX_BYTES)
        http1 = isinstance(self.channel, HTTPChannel)
        if http1 and (length is None or length > smallest):
            self._limit, self._message = body_limit(self._target_path(), self._has_session())
            if length is not None and length > self._limit:
                self._refuse(length)
                return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._limit is not None and self._received > self._limit:
            self._refuse(self._received)  # chunked: no length was announced
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:
            super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def _target_path(self) -> str:
        target = self.channel._path
        path = unquote(urlsplit(target.decode("ascii", "replace")).path or "/")
        root = self.server.root_path or ""
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return path

    def _has_session(self) -> bool:
        # Only the cookie's presence can be seen here, without a database: a forged one gets
        # the signed-in limits (the body then goes to disk, not memory) and Django's refusal.
        return bool(self.received_cookies.get(settings.SESSION_COOKIE_NAME.encode()))

    def _refuse(self, size: int) -> None:
        self._refused = True
        logger.warning(
            "Refused a request body of %d bytes or more to %s (limit %d)",
            size,
            self._target_path(),
            self._limit,
        )
        if self.content is not None:
            self.content.close()
        # No "100 Continue": the channel sends one after this for Expect: 100-continue.
        self.requestHeaders.removeHeader(b"expect")
        channel = self.channel
        transport = channel.transport
        transport.write(refusal(self._message))
        # From now on the channel drops whatever arrives, and answers nothing more.
        channel.dataReceived = channel.rawDataReceived = channel.lineReceived = _drop
        channel.allContentReceived = lambda: None
        if ITCPTransport.providedBy(transport):
            transport.loseWriteConnection()  # the client reads the answer, then EOF
            self._linger = channel.callLater(LINGER_SECONDS, transport.abortConnection)
        else:
            transport.loseConnection()


def _drop(data: bytes) -> None:
    pass


# --- handing the body over ---


class _BodyStore:
    """Stands in for the deque inside an application's asyncio.Queue: the body is read from
    the request's file a chunk at a time as the application asks, instead of being queued
    whole. Other messages (http.disconnect) queue as usual, and come first."""

    def __init__(self, body: IO[bytes]) -> None:
        self.body = body
        self.length = body.seek(0, 2)  # Daphne then reads nothing from the file itself
        self.offset = 0
        self.reading = True
        self.messages: deque[dict[str, Any]] = deque()

    def append(self, message: dict[str, Any]) -> None:
        if message.get("type") == "http.request":
            return  # Daphne's copy of the body: it is read from the file instead
        if message.get("type") == "http.disconnect":
            self.reading = False  # the file is closed with the connection
        self.messages.append(message)

    def popleft(self) -> dict[str, Any]:
        if self.messages or not self.reading:
            return self.messages.popleft()
        self.body.seek(self.offset)
        chunk = self.body.read(BODY_CHUNK)
        self.offset += len(chunk)
        self.reading = self.offset < self.length and bool(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.reading}

    def clear(self) -> None:
        self.messages.clear()
        self.reading = False

    def __len__(self) -> int:
        return len(self.messages) + self.reading

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.messages)


def _streaming(create_application: Any) -> Any:
    def wrapper(server: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        queue = create_application(server, protocol, scope)
        body = getattr(protocol, "content", None)
        if queue is not None and scope.get("type") == "http" and body is not None:
            queue._queue = _BodyStore(body)
        return queue

    wrapper._streams_bodies = True  # type: ignore[attr-defined]
    return wrapper
