"""Resumable uploads (Google's ``X-Goog-Upload`` protocol), streamed from disk in chunks.

A start request declares size and type and gets an upload URL; chunks are then POSTed to it
with their offset, the last one with ``finalize``. A chunk's body is read from the file in
1 MiB blocks while it is sent (the async twin reads them in a worker thread, off the event
loop), so not even a whole chunk is in memory: bytes objects of finished requests can sit in
httpx's reference cycles until the garbage collector runs, which made whole 8 MiB chunks
pile up (160 MiB traced for a 300 MiB file) before bodies were streamed. When a chunk fails
(connection lost, 408/429/5xx), the upload asks the server how many bytes it kept
(``X-Goog-Upload-Command: query``) and resumes from there: the SDK re-sends the same chunk
blindly, which breaks when the server kept part of it. The retry budget is per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Union
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    InteractionsError,
)
from ._request import RequestSpec, parse_json
from ._retry import retry_delay, should_retry_status

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

#: The SDK's chunk size. Must be a multiple of 256 KiB except for the last chunk.
DEFAULT_CHUNK_SIZE = 8 * 2**20
GRANULARITY = 256 * 2**10
BLOCK_SIZE = 2**20

UploadSource = Union[str, "os.PathLike[str]", IO[bytes]]


@dataclass
class OpenedSource:
    handle: IO[bytes]
    start: int  # position of the first byte in `handle`
    size: int
    mime_type: str
    owned: bool  # opened here, so closed here

    def close(self) -> None:
        if self.owned:
            self.handle.close()

    def _block(self, position: int, left: int) -> bytes:
        self.handle.seek(self.start + position)
        block = self.handle.read(min(BLOCK_SIZE, left))
        if not block:
            raise ValueError("the file got shorter during the upload")
        return block

    def blocks(self, offset: int, length: int) -> Iterator[bytes]:
        """The bytes of ``[offset, offset + length)``, one block at a time."""
        done = 0
        while done < length:
            block = self._block(offset + done, length - done)
            done += len(block)
            yield block

    async def ablocks(self, offset: int, length: int) -> AsyncIterator[bytes]:
        done = 0
        while done < length:
            block = await asyncio.to_thread(self._block, offset + done, length - done)
            done += len(block)
            yield block


def open_source(source: UploadSource, mime_type: str | None) -> OpenedSource:
    """Open a path (or take a binary, seekable stream) and learn its size and type."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        mime = mime_type or mimetypes.guess_type(path)[0]
        if not mime:
            raise ValueError(f"cannot tell the MIME type of {path!r}: pass mime_type=")
        handle: IO[bytes] = open(path, "rb")  # noqa: SIM115 (closed by OpenedSource.close)
        return OpenedSource(handle, 0, os.fstat(handle.fileno()).st_size, mime, owned=True)
    if not mime_type:
        raise ValueError("pass mime_type= when uploading from a stream")
    if "b" not in getattr(source, "mode", "b") or not source.seekable():
        raise ValueError("the stream must be binary and seekable (resuming seeks in it)")
    start = source.tell()
    size = source.seek(0, os.SEEK_END) - start
    source.seek(start)
    return OpenedSource(source, start, size, mime_type, owned=False)


def chunk_size_of(chunk_size: int) -> int:
    if chunk_size < GRANULARITY or chunk_size % GRANULARITY:
        raise ValueError(f"chunk_size must be a positive multiple of {GRANULARITY} bytes")
    return chunk_size


def start_spec(path: str, source: OpenedSource, metadata: dict[str, Any]) -> RequestSpec:
    headers = {
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(source.size),
        "X-Goog-Upload-Header-Content-Type": source.mime_type,
    }
    return RequestSpec("POST", path, json=metadata, headers=headers, upload=True, idempotent=False)


def session_url(response: httpx.Response, base_url: str) -> str:
    """The upload URL, on our own base URL's host (as the SDK does, so proxies work)."""
    url = response.headers.get("x-goog-upload-url")
    if not url:
        raise APIResponseValidationError("no x-goog-upload-url in the answer", response=response)
    base = urlsplit(base_url)
    return str(urlunsplit(urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc)))


def chunk_spec(
    url: str, body: Iterator[bytes] | AsyncIterator[bytes], length: int, offset: int, last: bool
) -> RequestSpec:
    headers = {
        "X-Goog-Upload-Command": "upload, finalize" if last else "upload",
        "X-Goog-Upload-Offset": str(offset),
        "Content-Type": "application/octet-stream",
        # An explicit length keeps httpx from sending the streamed body chunked.
        "Content-Length": str(length),
    }
    return RequestSpec("POST", "", url=url, content=body, headers=headers, retry=False)


def query_spec(url: str) -> RequestSpec:
    return RequestSpec("POST", "", url=url, headers={"X-Goog-Upload-Command": "query"})


def cancel_spec(url: str) -> RequestSpec:
    """Sent when an upload gives up, so no half-uploaded session lingers upstream."""
    headers = {"X-Goog-Upload-Command": "cancel"}
    return RequestSpec("POST", "", url=url, headers=headers, retry=False)


def recoverable(exc: Exception) -> bool:
    if isinstance(exc, APIStatusError):
        return should_retry_status(exc.status_code)
    return isinstance(exc, APIConnectionError)


@dataclass
class Progress:
    """Where an upload stands: the outcome once the server said ``final``."""

    offset: int = 0
    result: Any = None
    done: bool = False

    def answered(self, response: httpx.Response, sent: int) -> None:
        status = response.headers.get("x-goog-upload-status")
        if status == "final":
            self.result, self.done = parse_json(response), True
            self.offset += sent
        elif status == "active":
            self.offset += sent
        else:
            raise APIResponseValidationError(f"upload status {status!r}", response=response)

    def queried(self, response: httpx.Response, size: int) -> None:
        status = response.headers.get("x-goog-upload-status")
        if status == "final":  # the finalize went through; only its answer was lost
            self.result, self.done = parse_json(response), True
            self.offset = size
            return
        received = response.headers.get("x-goog-upload-size-received", "")
        if status != "active" or not received.isdigit() or int(received) > size:
            raise APIResponseValidationError(f"upload status {status!r}", response=response)
        self.offset = int(received)


ProgressCallback = Callable[[int, int], None]
"""Called with (bytes acknowledged by the server, total size) after each chunk."""
AsyncProgressCallback = Callable[[int, int], Awaitable[None] | None]
"""The async twins also await a callback that returns an awaitable."""


def upload_sync(
    client: Client,
    spec: RequestSpec,
    source: OpenedSource,
    chunk_size: int,
    on_progress: ProgressCallback | None = None,
) -> Any:
    """Run a resumable upload; returns the JSON of the finalize answer."""
    url = session_url(client.send(spec), client.base_url)
    try:
        return _send_chunks_sync(client, url, source, chunk_size, on_progress)
    except BaseException:
        with contextlib.suppress(InteractionsError):
            client.send(cancel_spec(url))
        raise


def _send_chunks_sync(
    client: Client,
    url: str,
    source: OpenedSource,
    chunk_size: int,
    on_progress: ProgressCallback | None,
) -> Any:
    progress, failures = Progress(), 0
    while not progress.done:
        length = min(chunk_size, source.size - progress.offset)
        last = progress.offset + length >= source.size
        body = source.blocks(progress.offset, length)
        try:
            progress.answered(
                client.send(chunk_spec(url, body, length, progress.offset, last)), length
            )
            failures = 0
        except (APIConnectionError, APIStatusError) as exc:
            if failures >= client.max_retries or not recoverable(exc):
                raise
            headers = exc.response.headers if isinstance(exc, APIStatusError) else None
            time.sleep(retry_delay(failures, headers))
            failures += 1
            progress.queried(client.send(query_spec(url)), source.size)
        if on_progress is not None:
            on_progress(progress.offset, source.size)
        if last and not progress.done and progress.offset >= source.size:
            raise APIResponseValidationError("the server did not finalize the upload")
    return progress.result


async def upload_async(
    client: AsyncClient,
    spec: RequestSpec,
    source: OpenedSource,
    chunk_size: int,
    on_progress: AsyncProgressCallback | None = None,
) -> Any:
    """Awaitable twin of `upload_sync`; file reads run in a worker thread."""
    url = session_url(await client.send(spec), client.base_url)
    try:
        return await _send_chunks_async(client, url, source, chunk_size, on_progress)
    except BaseException:
        with contextlib.suppress(InteractionsError):
            await asyncio.shield(client.send(cancel_spec(url)))
        raise


async def _send_chunks_async(
    client: AsyncClient,
    url: str,
    source: OpenedSource,
    chunk_size: int,
    on_progress: AsyncProgressCallback | None,
) -> Any:
    progress, failures = Progress(), 0
    while not progress.done:
        length = min(chunk_size, source.size - progress.offset)
        last = progress.offset + length >= source.size
        body = source.ablocks(progress.offset, length)
        try:
            response = await client.send(chunk_spec(url, body, length, progress.offset, last))
            progress.answered(response, length)
            failures = 0
        except (APIConnectionError, APIStatusError) as exc:
            if failures >= client.max_retries or not recoverable(exc):
                raise
            headers = exc.response.headers if isinstance(exc, APIStatusError) else None
            await asyncio.sleep(retry_delay(failures, headers))
            failures += 1
            progress.queried(await client.send(query_spec(url)), source.size)
        if on_progress is not None:
            outcome = on_progress(progress.offset, source.size)
            if outcome is not None:
                await outcome
        if last and not progress.done and progress.offset >= source.size:
            raise APIResponseValidationError("the server did not finalize the upload")
    return progress.result
