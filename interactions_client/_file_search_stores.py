"""File search stores, `client.file_search_stores`, and their documents (`.documents`).

A store holds indexed documents that the `file_search` tool searches
(`{"type": "file_search", "file_search_store_names": [store.name]}`); its answer carries
`file_citation` annotations. Uploads and imports are long-running operations: poll them with
`wait_operation`. Request specs and parsing live in the shared bases; the sync and async
twins only do I/O and keep their methods in the same order.
"""

from __future__ import annotations

import asyncio
import os
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
from .types.files import (
    CustomMetadata,
    Document,
    DocumentList,
    FileSearchStore,
    FileSearchStoreList,
    Operation,
)

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

Metadata = list[CustomMetadata] | list[dict[str, Any]] | None


class OperationError(InteractionsError):
    """A long-running operation finished with an error; `.operation` holds it."""

    def __init__(self, operation: Operation) -> None:
        error = operation.error
        reason = error.message if error and error.message else "no reason given"
        super().__init__(f"{operation.name} failed: {reason}")
        self.operation = operation


def resource(name: str, collection: str) -> str:
    """Check `name` is `{collection}/…` made of plain path segments (it goes in a URL)."""
    parts = name.split("/")
    if parts[0] != collection or len(parts) < 2 or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a {collection} resource name: {name!r}")
    if any(c in name for c in "?#:"):
        raise ValueError(f"unexpected character in resource name {name!r}")
    return name


def _file_label(source: UploadSource) -> str | None:
    """A path's file name: citations show it, so a document should not go unnamed."""
    return os.path.basename(os.fspath(source)) if isinstance(source, str | os.PathLike) else None


def _store(name: str) -> str:
    return resource(name, "fileSearchStores")


def _page_params(page_size: int | None, page_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if page_size is not None:
        params["pageSize"] = page_size
    if page_token:
        params["pageToken"] = page_token
    return params


def _document_options(
    display_name: str | None, custom_metadata: Metadata, chunking_config: dict[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if display_name is not None:
        body["displayName"] = display_name
    if custom_metadata is not None:
        body["customMetadata"] = [
            m.to_dict() if isinstance(m, CustomMetadata) else m for m in custom_metadata
        ]
    if chunking_config is not None:
        body["chunkingConfig"] = chunking_config
    return body


class _StoresBase:
    @staticmethod
    def _create_spec(display_name: str | None, embedding_model: str | None) -> RequestSpec:
        body: dict[str, Any] = {}
        if display_name is not None:
            body["displayName"] = display_name
        if embedding_model is not None:
            body["embeddingModel"] = embedding_model
        return RequestSpec("POST", "fileSearchStores", json=body, idempotent=False)

    @staticmethod
    def _list_spec(page_size: int | None, page_token: str | None) -> RequestSpec:
        return RequestSpec("GET", "fileSearchStores", params=_page_params(page_size, page_token))

    @staticmethod
    def _delete_spec(name: str, force: bool) -> RequestSpec:
        params = {"force": "true"} if force else None
        return RequestSpec("DELETE", _store(name), params=params)

    @staticmethod
    def _import_spec(
        store: str, file_name: str, custom_metadata: Metadata, chunking: dict[str, Any] | None
    ) -> RequestSpec:
        body = {"fileName": resource(file_name, "files")}
        body |= _document_options(None, custom_metadata, chunking)
        return RequestSpec("POST", f"{_store(store)}:importFile", json=body, idempotent=False)

    @staticmethod
    def _settled(operation: Operation, deadline: float | None, timeout: float | None) -> bool:
        if operation.done:
            if operation.error is not None:
                raise OperationError(operation)
            return True
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{operation.name} not done after {timeout}s")
        return False


class _DocumentsBase:
    @staticmethod
    def _list_spec(store: str, page_size: int | None, page_token: str | None) -> RequestSpec:
        params = _page_params(page_size, page_token)
        return RequestSpec("GET", f"{_store(store)}/documents", params=params)

    @staticmethod
    def _delete_spec(name: str, force: bool) -> RequestSpec:
        params = {"force": "true"} if force else None
        return RequestSpec("DELETE", _store(name), params=params)


class Documents(_DocumentsBase):
    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self, store: str, *, page_size: int | None = None, page_token: str | None = None
    ) -> DocumentList:
        response = self._client.send(self._list_spec(store, page_size, page_token))
        return parse_model(DocumentList, parse_json(response), response)

    def iter(self, store: str, *, page_size: int | None = None) -> Iterator[Document]:
        return each_item(
            lambda token: self.list(store, page_size=page_size, page_token=token),
            lambda page: page.documents,
        )

    def get(self, name: str) -> Document:
        response = self._client.send(RequestSpec("GET", _store(name)))
        return parse_model(Document, parse_json(response), response)

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a document; an indexed one needs `force=True` (its chunks go too)."""
        self._client.send(self._delete_spec(name, force))


class AsyncDocuments(_DocumentsBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self, store: str, *, page_size: int | None = None, page_token: str | None = None
    ) -> DocumentList:
        response = await self._client.send(self._list_spec(store, page_size, page_token))
        return parse_model(DocumentList, parse_json(response), response)

    def iter(self, store: str, *, page_size: int | None = None) -> AsyncIterator[Document]:
        return each_item_async(
            lambda token: self.list(store, page_size=page_size, page_token=token),
            lambda page: page.documents,
        )

    async def get(self, name: str) -> Document:
        response = await self._client.send(RequestSpec("GET", _store(name)))
        return parse_model(Document, parse_json(response), response)

    async def delete(self, name: str, *, force: bool = False) -> None:
        await self._client.send(self._delete_spec(name, force))


class FileSearchStores(_StoresBase):
    def __init__(self, client: Client) -> None:
        self._client = client
        self.documents = Documents(client)

    def create(
        self, *, display_name: str | None = None, embedding_model: str | None = None
    ) -> FileSearchStore:
        response = self._client.send(self._create_spec(display_name, embedding_model))
        return parse_model(FileSearchStore, parse_json(response), response)

    def get(self, name: str) -> FileSearchStore:
        response = self._client.send(RequestSpec("GET", _store(name)))
        return parse_model(FileSearchStore, parse_json(response), response)

    def list(
        self, *, page_size: int | None = None, page_token: str | None = None
    ) -> FileSearchStoreList:
        response = self._client.send(self._list_spec(page_size, page_token))
        return parse_model(FileSearchStoreList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> Iterator[FileSearchStore]:
        return each_item(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.file_search_stores,
        )

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a store; one holding documents needs `force=True`."""
        self._client.send(self._delete_spec(name, force))

    def upload(
        self,
        store: str,
        source: UploadSource,
        *,
        mime_type: str | None = None,
        display_name: str | None = None,
        custom_metadata: Metadata = None,
        chunking_config: dict[str, Any] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> Operation:
        """Upload a document into `store` (resumable, streamed from disk like
        `files.upload`); returns the indexing operation (see `wait_operation`). A path's
        file name is the default `display_name`."""
        size = chunk_size_of(chunk_size)
        opened = open_source(source, mime_type)
        try:
            body = _document_options(
                display_name or _file_label(source), custom_metadata, chunking_config
            )
            body["mimeType"] = opened.mime_type
            spec = start_spec(f"{_store(store)}:uploadToFileSearchStore", opened, body)
            data = upload_sync(self._client, spec, opened, size, on_progress)
        finally:
            opened.close()
        return parse_model(Operation, data)

    def import_file(
        self,
        store: str,
        file_name: str,
        *,
        custom_metadata: Metadata = None,
        chunking_config: dict[str, Any] | None = None,
    ) -> Operation:
        """Index a Files API file (`files/…`) into `store`; the document keeps its own copy."""
        spec = self._import_spec(store, file_name, custom_metadata, chunking_config)
        response = self._client.send(spec)
        return parse_model(Operation, parse_json(response), response)

    def get_operation(self, name: str) -> Operation:
        response = self._client.send(RequestSpec("GET", _store(name)))
        return parse_model(Operation, parse_json(response), response)

    def wait_operation(
        self,
        operation: Operation | str,
        *,
        timeout: float | None = None,
        poll_interval: float = 0.5,
    ) -> Operation:
        """Poll until done; `OperationError` if it failed, `TimeoutError` after `timeout`."""
        name = operation if isinstance(operation, str) else str(operation.name)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.get_operation(name)
            if self._settled(current, deadline, timeout):
                return current
            time.sleep(poll_interval)


class AsyncFileSearchStores(_StoresBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self.documents = AsyncDocuments(client)

    async def create(
        self, *, display_name: str | None = None, embedding_model: str | None = None
    ) -> FileSearchStore:
        response = await self._client.send(self._create_spec(display_name, embedding_model))
        return parse_model(FileSearchStore, parse_json(response), response)

    async def get(self, name: str) -> FileSearchStore:
        response = await self._client.send(RequestSpec("GET", _store(name)))
        return parse_model(FileSearchStore, parse_json(response), response)

    async def list(
        self, *, page_size: int | None = None, page_token: str | None = None
    ) -> FileSearchStoreList:
        response = await self._client.send(self._list_spec(page_size, page_token))
        return parse_model(FileSearchStoreList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> AsyncIterator[FileSearchStore]:
        return each_item_async(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.file_search_stores,
        )

    async def delete(self, name: str, *, force: bool = False) -> None:
        await self._client.send(self._delete_spec(name, force))

    async def upload(
        self,
        store: str,
        source: UploadSource,
        *,
        mime_type: str | None = None,
        display_name: str | None = None,
        custom_metadata: Metadata = None,
        chunking_config: dict[str, Any] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: AsyncProgressCallback | None = None,
    ) -> Operation:
        size = chunk_size_of(chunk_size)
        opened = await asyncio.to_thread(open_source, source, mime_type)
        try:
            body = _document_options(
                display_name or _file_label(source), custom_metadata, chunking_config
            )
            body["mimeType"] = opened.mime_type
            spec = start_spec(f"{_store(store)}:uploadToFileSearchStore", opened, body)
            data = await upload_async(self._client, spec, opened, size, on_progress)
        finally:
            opened.close()
        return parse_model(Operation, data)

    async def import_file(
        self,
        store: str,
        file_name: str,
        *,
        custom_metadata: Metadata = None,
        chunking_config: dict[str, Any] | None = None,
    ) -> Operation:
        spec = self._import_spec(store, file_name, custom_metadata, chunking_config)
        response = await self._client.send(spec)
        return parse_model(Operation, parse_json(response), response)

    async def get_operation(self, name: str) -> Operation:
        response = await self._client.send(RequestSpec("GET", _store(name)))
        return parse_model(Operation, parse_json(response), response)

    async def wait_operation(
        self,
        operation: Operation | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (same surface as the sync twin)
        poll_interval: float = 0.5,
    ) -> Operation:
        name = operation if isinstance(operation, str) else str(operation.name)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = await self.get_operation(name)
            if self._settled(current, deadline, timeout):
                return current
            await asyncio.sleep(poll_interval)
