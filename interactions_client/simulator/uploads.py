"""Google's resumable upload protocol, as the Files API and file search stores use it.

Start: ``POST /upload/{v}/<resource>`` with ``X-Goog-Upload-Protocol: resumable``,
``X-Goog-Upload-Command: start``, ``X-Goog-Upload-Header-Content-Length`` and
``-Content-Type`` (JSON metadata in the body) → 200 with ``x-goog-upload-url`` and
``x-goog-upload-status: active``. Then ``POST <upload url>`` with ``X-Goog-Upload-Command:
upload`` (``upload, finalize`` on the last chunk) and ``X-Goog-Upload-Offset``: each chunk
is written straight to disk as it arrives, never held whole. ``query`` answers the bytes
received so far (``x-goog-upload-size-received``), ``cancel`` drops the session. The
finalize answer carries ``x-goog-upload-status: final`` and the resource's JSON.

A connection lost in the middle of a chunk keeps the whole 256 KiB units that arrived (the
announced ``x-goog-upload-chunk-granularity``), so a client must ``query`` before it resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .asgi import HttpRequest, Receive, Send, SimulatedDrop, dumps, send_json
from .errors import ApiError, bad_request
from .inputs import JSON

Finalizer = Callable[["UploadSession"], Awaitable[JSON]]
GRANULARITY = 256 * 1024


@dataclass(eq=False)
class UploadSession:
    id: str
    path: Path
    size: int
    mime_type: str
    metadata: JSON
    finalize: Finalizer
    received: int = 0
    result: JSON | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Hashed as bytes arrive (the file only grows), so finalizing never re-reads it.
    digest: Any = field(default_factory=hashlib.sha256)


def _status_headers(session: UploadSession, status: str) -> list[tuple[str, str]]:
    return [
        ("x-goog-upload-status", status),
        ("x-goog-upload-size-received", str(session.received)),
    ]


class Uploads:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sessions: dict[str, UploadSession] = {}

    def __len__(self) -> int:
        return sum(1 for s in self._sessions.values() if s.result is None)

    def clear(self) -> None:
        for session in self._sessions.values():
            session.path.unlink(missing_ok=True)
        self._sessions.clear()

    async def start(
        self, request: HttpRequest, metadata: JSON, finalize: Finalizer, send: Send
    ) -> None:
        """Open a session for a start request (headers already checked by ``start_headers``)."""
        size, mime_type = start_headers(request)
        upload_id = secrets.token_urlsafe(24)
        handle, name = tempfile.mkstemp(prefix="upload-", dir=self.directory)
        os.close(handle)
        session = UploadSession(upload_id, Path(name), size, mime_type, metadata, finalize)
        self._sessions[upload_id] = session
        url = f"{request.origin}{request.path}?upload_id={upload_id}&upload_protocol=resumable"
        headers = [
            ("x-goog-upload-url", url),
            ("x-goog-upload-control-url", url),
            ("x-goog-upload-chunk-granularity", str(GRANULARITY)),
            *_status_headers(session, "active"),
        ]
        await send_json(send, 200, {}, headers)

    async def chunk(
        self, request: HttpRequest, receive: Receive, send: Send, drop: bool = False
    ) -> None:
        """Answer a request to an upload URL (``upload``/``finalize``/``query``/``cancel``)."""
        session = self._sessions.get(request.query.get("upload_id", ""))
        if session is None:
            await _drain(receive)
            raise ApiError(404, "No upload session with this upload_id (unknown or cancelled).")
        commands = {c.strip() for c in request.headers.get("x-goog-upload-command", "").split(",")}
        async with session.lock:  # one request at a time moves a session's offset
            if session.result is not None:
                await _drain(receive)
                if commands == {"query"}:
                    await send_json(send, 200, session.result, _status_headers(session, "final"))
                    return
                raise ApiError(400, "This upload is already finalized.", headers=_final(session))
            if "cancel" in commands:
                await _drain(receive)
                self._sessions.pop(session.id, None)
                session.path.unlink(missing_ok=True)
                await send_json(send, 200, {}, _status_headers(session, "cancelled"))
                return
            if "query" in commands:
                await _drain(receive)
                await send_json(send, 200, {}, _status_headers(session, "active"))
                return
            if not commands & {"upload", "finalize"}:
                await _drain(receive)
                raise _refuse(
                    "X-Goog-Upload-Command must be upload, finalize, query or cancel.",
                    session,
                )
            if "upload" in commands:
                await self._write(session, request, receive, send, drop)
            else:
                await _drain(receive)
            if "finalize" not in commands:
                await send_json(send, 200, {}, _status_headers(session, "active"))
                return
            if session.received != session.size:
                raise _refuse(
                    f"Cannot finalize: {session.received} of {session.size} declared bytes "
                    "were received.",
                    session,
                )
            session.result = await session.finalize(session)
            session.path.unlink(missing_ok=True)  # the finalizer moved or copied it
            await send_json(send, 200, session.result, _status_headers(session, "final"))

    async def _write(
        self, session: UploadSession, request: HttpRequest, receive: Receive, send: Send, drop: bool
    ) -> None:
        raw_offset = request.headers.get("x-goog-upload-offset")
        if raw_offset is None or not raw_offset.isdigit():
            await _drain(receive)
            raise _refuse(
                "X-Goog-Upload-Offset is required with the upload command.",
                session,
            )
        if int(raw_offset) != session.received:
            await _drain(receive)
            raise _refuse(
                f"Invalid X-Goog-Upload-Offset {raw_offset}: {session.received} bytes were "
                "received so far (query the session and resume from there).",
                session,
            )
        declared = request.headers.get("content-length")
        half = int(declared) // 2 if drop and declared and declared.isdigit() else None
        with session.path.open("r+b") as out:
            out.seek(session.received)
            out.truncate()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    _keep_whole_units(session, out)
                    return  # the client queries the session and resumes
                body = message.get("body", b"")
                if half is not None and session.received + len(body) > int(raw_offset) + half:
                    body = body[: int(raw_offset) + half - session.received]
                if session.received + len(body) > session.size:
                    raise _refuse(
                        f"The upload is longer than the {session.size} bytes declared at start.",
                        session,
                    )
                out.write(body)
                session.digest.update(body)
                session.received += len(body)
                if half is not None and session.received >= int(raw_offset) + half:
                    _keep_whole_units(session, out)
                    await _abort(send)
                if not message.get("more_body", False):
                    return


def _keep_whole_units(session: UploadSession, out: BinaryIO) -> None:
    """After a cut connection keep only whole 256 KiB units (the granularity the start
    answer announces), so a client resuming at the reported offset stays aligned."""
    kept = session.received - session.received % GRANULARITY
    if kept == session.received:
        out.flush()
        return
    out.truncate(kept)
    out.flush()
    session.received = kept
    session.digest = hashlib.sha256()  # rare path: re-hash what was kept
    with session.path.open("rb") as kept_bytes:
        while block := kept_bytes.read(2**20):
            session.digest.update(block)


def _final(session: UploadSession) -> list[tuple[str, str]]:
    return _status_headers(session, "final")


def _refuse(message: str, session: UploadSession) -> ApiError:
    """A 400 that still tells the client where the session stands."""
    return ApiError(400, message, headers=_status_headers(session, "active"))


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


async def _abort(send: Send) -> None:
    """Fault injection: answer headers and part of a body, then cut the connection."""
    payload = dumps({"simulated": "drop"})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": True})
    raise SimulatedDrop("connection dropped mid-upload (fault injection)")


def start_headers(request: HttpRequest) -> tuple[int, str]:
    """(declared size, mime type) of a resumable start request, or the API's 400."""
    headers = request.headers
    if headers.get("x-goog-upload-protocol", "").lower() != "resumable":
        raise bad_request(
            "Only the resumable upload protocol is supported here: send "
            "X-Goog-Upload-Protocol: resumable."
        )
    if headers.get("x-goog-upload-command", "").strip().lower() != "start":
        raise bad_request(
            "No upload session: start one with X-Goog-Upload-Command: start "
            "(chunks go to the x-goog-upload-url it returns)."
        )
    raw_size = headers.get("x-goog-upload-header-content-length", "")
    if not raw_size.isdigit():
        raise bad_request("X-Goog-Upload-Header-Content-Length must give the file size in bytes.")
    mime_type = headers.get("x-goog-upload-header-content-type", "").split(";")[0].strip()
    return int(raw_size), mime_type
