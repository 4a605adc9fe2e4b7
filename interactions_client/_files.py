"""The Files API resource, `client.files`: upload, get, list, delete, wait_active.

Files live 48 hours upstream and are used in a turn by their `uri`
(`{"type": "video", "uri": file.uri, "mime_type": file.mime_type}`) once `ACTIVE`. Request
specs and parsing live in the shared base; the sync and async twins only do I/O and keep
their methods in the same order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ._errors import InteractionsError
from ._paging import each_item, each_item_async
from ._request import RequestSpec, parse_json, parse_model
from ._upload import (
    DEFAULT_CHUNK_SIZE,
    AsyncProgressCallback,
    ProgressCallback,
    UploadSource,
    chunk_size_of,
    open_source,
    start_spec,
    upload_async,
    upload_sync,
)
from .types.files import File, FileList

if TYPE_CHECKING:
    import httpx

    from ._client import AsyncClient, Client


class FileProcessingError(InteractionsError):
    """A file ended in state ``FAILED``; `.file` holds it (with its `error`)."""

    def __init__(self, file: File) -> None:
        reason = file.error.message if file.error and file.error.message else "no reason given"
        super().__init__(f"{file.name} failed processing: {reason}")
        self.file = file


def file_id(name: str) -> str:
    """``files/abc`` or ``abc`` → ``abc`` (refuses anything that is not one path segment)."""
    short = name.removeprefix("files/")
    if not short or "/" in short or ":" in short:
        raise ValueError(f"not a file name: {name!r}")
    return short


class _FilesBase:
    @staticmethod
    def _upload_metadata(
        display_name: str | None, name: str | None, source_size: int, mime_type: str
    ) -> dict[str, Any]:
        file: dict[str, Any] = {"mimeType": mime_type, "sizeBytes": str(source_size)}
        if display_name is not None:
            file["displayName"] = display_name
        if name is not None:
            file["name"] = f"files/{file_id(name)}"
        return {"file": file}

    @staticmethod
    def _uploaded(data: Any) -> File:
        file = data.get("file") if isinstance(data, dict) else None
        return parse_model(File, file)

    @staticmethod
    def _get_spec(name: str) -> RequestSpec:
        return RequestSpec("GET", f"files/{file_id(name)}")

    @staticmethod
    def _list_spec(page_size: int | None, page_token: str | None) -> RequestSpec:
        params: dict[str, Any] = {}
        if page_size is not None:
            params["pageSize"] = page_size
        if page_token:
            params["pageToken"] = page_token
        return RequestSpec("GET", "files", params=params)

    @staticmethod
    def _delete_spec(name: str) -> RequestSpec:
        return RequestSpec("DELETE", f"files/{file_id(name)}")

    @staticmethod
    def _settled(file: File, name: str, deadline: float | None, timeout: float | None) -> bool:
        if file.state == "ACTIVE":
            return True
        if file.state == "FAILED":
            raise FileProcessingError(file)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{name} still {file.state} after {timeout}s")
        return False


def _parse_file(response: httpx.Response) -> File:
    return parse_model(File, parse_json(response), response)


class Files(_FilesBase):
    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(
        self,
        source: UploadSource,
        *,
        mime_type: str | None = None,
        display_name: str | None = None,
        name: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> File:
        """Upload a path or a binary seekable stream with the resumable protocol.

        The file is read and sent `chunk_size` bytes at a time (never whole); a chunk that
        fails resumes from the offset the server reports. `on_progress(sent, total)` is
        called after each chunk. The returned file may still be `PROCESSING`: see
        `wait_active`.
        """
        size = chunk_size_of(chunk_size)
        opened = open_source(source, mime_type)
        try:
            metadata = self._upload_metadata(display_name, name, opened.size, opened.mime_type)
            spec = start_spec("files", opened, metadata)
            return self._uploaded(upload_sync(self._client, spec, opened, size, on_progress))
        finally:
            opened.close()

    def get(self, name: str) -> File:
        return _parse_file(self._client.send(self._get_spec(name)))

    def list(self, *, page_size: int | None = None, page_token: str | None = None) -> FileList:
        """One page of files, newest first; pass `next_page_token` back for the next."""
        response = self._client.send(self._list_spec(page_size, page_token))
        return parse_model(FileList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> Iterator[File]:
        """Every file, fetching pages as needed."""
        return each_item(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.files,
        )

    def delete(self, name: str) -> None:
        self._client.send(self._delete_spec(name))

    def wait_active(
        self, name: str, *, timeout: float | None = None, poll_interval: float = 0.5
    ) -> File:
        """Poll until the file is `ACTIVE`; `FileProcessingError` if it ends `FAILED`,
        `TimeoutError` after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            file = self.get(name)
            if self._settled(file, name, deadline, timeout):
                return file
            time.sleep(poll_interval)


class AsyncFiles(_FilesBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def upload(
        self,
        source: UploadSource,
        *,
        mime_type: str | None = None,
        display_name: str | None = None,
        name: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: AsyncProgressCallback | None = None,
    ) -> File:
        """Awaitable twin of `Files.upload`; disk reads run in a worker thread."""
        size = chunk_size_of(chunk_size)
        opened = await asyncio.to_thread(open_source, source, mime_type)
        try:
            metadata = self._upload_metadata(display_name, name, opened.size, opened.mime_type)
            spec = start_spec("files", opened, metadata)
            return self._uploaded(await upload_async(self._client, spec, opened, size, on_progress))
        finally:
            opened.close()

    async def get(self, name: str) -> File:
        return _parse_file(await self._client.send(self._get_spec(name)))

    async def list(
        self, *, page_size: int | None = None, page_token: str | None = None
    ) -> FileList:
        response = await self._client.send(self._list_spec(page_size, page_token))
        return parse_model(FileList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> AsyncIterator[File]:
        return each_item_async(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.files,
        )

    async def delete(self, name: str) -> None:
        await self._client.send(self._delete_spec(name))

    async def wait_active(
        self,
        name: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (same surface as the sync twin)
        poll_interval: float = 0.5,
    ) -> File:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            file = await self.get(name)
            if self._settled(file, name, deadline, timeout):
                return file
            await asyncio.sleep(poll_interval)
