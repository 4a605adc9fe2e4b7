"""Files API and file search store objects.

These older resources speak proto JSON: camelCase keys (``mimeType``, ``sizeBytes``), int64
values as strings, timestamps in RFC 3339. The models read them into snake_case attributes
with plain types and dump back the camelCase the API sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from ._base import WireModel

#: File states; a file can be used in a request only when ``ACTIVE``.
FILE_STATES = frozenset({"STATE_UNSPECIFIED", "PROCESSING", "ACTIVE", "FAILED"})
#: Document states in a file search store.
DOCUMENT_STATES = frozenset({"STATE_UNSPECIFIED", "STATE_PENDING", "STATE_ACTIVE", "STATE_FAILED"})


class ProtoModel(WireModel):
    """A proto-JSON object: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Status(ProtoModel):
    """A ``google.rpc.Status``: why a file or an operation failed."""

    code: int | None = None
    message: str | None = None
    details: list[dict[str, Any]] | None = None


class File(ProtoModel):
    """A file held by the Files API for 48 hours, referenced in requests by its ``uri``."""

    name: str | None = None
    """``files/{id}``."""
    display_name: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    expiration_time: datetime | None = None
    sha256_hash: str | None = None
    uri: str | None = None
    download_uri: str | None = None
    state: str | None = None
    """``PROCESSING``, ``ACTIVE`` or ``FAILED`` (open: newer values pass through)."""
    source: str | None = None
    video_metadata: dict[str, Any] | None = None
    error: Status | None = None


class FileList(ProtoModel):
    files: list[File] = Field(default_factory=list)
    next_page_token: str | None = None


class StringList(ProtoModel):
    values: list[str] | None = None


class CustomMetadata(ProtoModel):
    """One ``key`` with one of ``string_value``, ``numeric_value``, ``string_list_value``."""

    key: str | None = None
    string_value: str | None = None
    numeric_value: float | None = None
    string_list_value: StringList | None = None


class FileSearchStore(ProtoModel):
    name: str | None = None
    """``fileSearchStores/{id}``."""
    display_name: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    active_documents_count: int | None = None
    pending_documents_count: int | None = None
    failed_documents_count: int | None = None
    size_bytes: int | None = None
    embedding_model: str | None = None


class FileSearchStoreList(ProtoModel):
    file_search_stores: list[FileSearchStore] = Field(default_factory=list)
    next_page_token: str | None = None


class Document(ProtoModel):
    name: str | None = None
    """``fileSearchStores/{store}/documents/{id}``."""
    display_name: str | None = None
    state: str | None = None
    """``STATE_PENDING``, ``STATE_ACTIVE`` or ``STATE_FAILED``."""
    size_bytes: int | None = None
    mime_type: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    custom_metadata: list[CustomMetadata] | None = None


class DocumentList(ProtoModel):
    documents: list[Document] = Field(default_factory=list)
    next_page_token: str | None = None


class DocumentOperationResponse(ProtoModel):
    """What an upload or import operation produced: the new document's name."""

    parent: str | None = None
    document_name: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None


class Operation(ProtoModel):
    """A long-running operation (upload to or import into a file search store)."""

    name: str | None = None
    done: bool | None = None
    error: Status | None = None
    metadata: dict[str, Any] | None = None
    response: DocumentOperationResponse | None = None
