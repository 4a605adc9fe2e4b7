from __future__ import annotations

import asyncio
import io
import json
from types import SimpleNamespace
from typing import Any

from daphne import http_protocol
from daphne.http_protocol import WebRequest

from chatapp import file_views
from chatapp.daphne_tuning import (
    BODY_CHUNK,
    BoundedRequest,
    _BodyStore,
    body_limit,
    limit_request_bodies,
    refusal,
    skip_twisted_form_parsing,
)

MB = 1024 * 1024


def test_daphne_requests_leave_multipart_parsing_to_django() -> None:
    skip_twisted_form_parsing()
    skip_twisted_form_parsing()  # applying it twice is harmless
    server = SimpleNamespace(protocol_connected=lambda request: None)
    address = SimpleNamespace(host="127.0.0.1", port=1)
    transport = SimpleNamespace(getPeer=lambda: address, getHost=lambda: address)
    channel = SimpleNamespace(
        factory=SimpleNamespace(server=server),
        site=None,
        transport=transport,
        getPeer=lambda: address,
        getHost=lambda: address,
    )
    request = WebRequest(channel, False)
    assert request._parsePOSTFormSubmission is False


# --- request bodies (the live server's side: tests/security/test_request_bodies.py) ---


def test_bodies_are_limited_by_route_and_by_session(settings: Any) -> None:
    settings.REQUEST_MAX_ANONYMOUS_BYTES = 1000
    settings.REQUEST_MAX_BYTES = 5000
    settings.UPLOAD_MAX_BYTES = {"image": 7 * MB, "audio": 9 * MB}
    upload_limit = 9 * MB + file_views.MULTIPART_OVERHEAD
    assert body_limit("/upload", signed_in=True)[0] == upload_limit
    assert body_limit("/import", signed_in=True)[0] == 20 * MB + file_views.MULTIPART_OVERHEAD
    assert body_limit("/c/new", signed_in=True) == (5000, _too_large("4.9 KB"))
    assert body_limit("/no/such/page", signed_in=True)[0] == 5000
    for path in ("/upload", "/login/", "/c/new"):
        assert body_limit(path, signed_in=False) == (1000, _too_large("1,000 bytes"))
    assert body_limit("/upload", signed_in=True)[1] == (
        "That file is too large: the largest allowed here is 9 MB."
    )


def _too_large(limit: str) -> str:
    return f"That request is too large: {limit} at most."


def test_the_refusal_is_a_complete_json_response() -> None:
    raw = refusal("Too big.")
    head, body = raw.split(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in head and b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    # The app's one error shape (chatapp.responses).
    assert json.loads(body) == {"error": "Too big.", "errors": {"__all__": ["Too big."]}}


def test_daphne_builds_bounded_requests_once_installed() -> None:
    limit_request_bodies()
    limit_request_bodies()  # applying it twice is harmless
    assert http_protocol.WebRequest is BoundedRequest
    assert issubclass(BoundedRequest, WebRequest)


async def test_the_application_gets_the_body_from_its_file_a_chunk_at_a_time() -> None:
    body = bytes(range(256)) * 1024  # 256 KiB: four chunks
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    queue._queue = _BodyStore(io.BytesIO(body))  # type: ignore[attr-defined]
    # Daphne then copies the body into the queue itself: from the end of the file, nothing.
    queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})
    messages = [await queue.get() for _ in range(4)]
    assert [len(m["body"]) for m in messages] == [BODY_CHUNK] * 4
    assert [m["more_body"] for m in messages] == [True, True, True, False]
    assert b"".join(m["body"] for m in messages) == body
    assert queue.empty()


async def test_an_empty_body_is_one_final_message() -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    queue._queue = _BodyStore(io.BytesIO())  # type: ignore[attr-defined]
    assert await queue.get() == {"type": "http.request", "body": b"", "more_body": False}
    assert queue.empty()


async def test_a_disconnect_overtakes_the_rest_of_the_body() -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    queue._queue = _BodyStore(io.BytesIO(b"x" * (3 * BODY_CHUNK)))  # type: ignore[attr-defined]
    assert (await queue.get())["more_body"] is True
    queue.put_nowait({"type": "http.disconnect"})  # the file is closed with the connection
    assert await queue.get() == {"type": "http.disconnect"}
    assert queue.empty()
