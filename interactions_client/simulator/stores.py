"""File search stores: their documents (text split into chunks), operations and retrieval.

A document is ``STATE_PENDING`` for ``document_processing_seconds`` after its upload or
import, then ``STATE_ACTIVE`` (``STATE_FAILED`` when no text could be extracted or its
display name carries ``[[sim:fail]]``); its operation is ``done`` from then on. Documents keep
their own copy of the bytes, so they outlive the Files API file they were imported from, as
in the API. Retrieval scores chunks by the words they share with the question.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import extract
from .errors import ApiError, bad_request, failed_precondition, not_found
from .files import random_id, rfc3339
from .inputs import JSON

WORDS_PER_CHUNK = 60
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to make a passage relevant.
_STOPWORDS = frozenset(
    "the and for are was were what when where which who why how does did this that with "
    "from have has had you your our their its about into than then there these those can "
    "will would should could not but all any long many much".split()
)
_FILTER = re.compile(r'^\s*([A-Za-z_][\w.]*)\s*=\s*(?:"([^"]*)"|(-?\d+(?:\.\d+)?))\s*$')
_RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.{}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")


def _int64(value: int) -> str:
    return str(value)


@dataclass
class Chunk:
    page: int | None
    text: str


@dataclass(eq=False)
class Document:
    name: str
    display_name: str
    mime_type: str
    size: int
    path: Path
    created: float
    ready_at: float
    custom_metadata: list[JSON]
    chunks: list[Chunk]
    failed: str | None = None  # why indexing failed

    @property
    def store_name(self) -> str:
        return self.name.split("/documents/")[0]

    @property
    def media_name(self) -> str:
        return f"{self.store_name}/media/{self.name.rsplit('/', 1)[1]}"

    def state(self, now: float) -> str:
        if now < self.ready_at:
            return "STATE_PENDING"
        return "STATE_FAILED" if self.failed else "STATE_ACTIVE"

    def view(self, now: float | None = None) -> JSON:
        now = time.time() if now is None else now
        out: JSON = {
            "name": self.name,
            "displayName": self.display_name,
            "state": self.state(now),
            "sizeBytes": _int64(self.size),
            "mimeType": self.mime_type,
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(max(self.created, min(now, self.ready_at))),
        }
        if self.custom_metadata:
            out["customMetadata"] = self.custom_metadata
        return out

    def metadata_value(self, key: str) -> object:
        for item in self.custom_metadata:
            if item.get("key") == key:
                for kind in ("stringValue", "numericValue"):
                    if kind in item:
                        return item[kind]
                values = item.get("stringListValue", {}).get("values")
                return values if isinstance(values, list) else None
        return None

    def metadata_dict(self) -> JSON:
        return {
            str(i.get("key")): self.metadata_value(str(i.get("key"))) for i in self.custom_metadata
        }


@dataclass(eq=False)
class Store:
    name: str
    display_name: str | None
    created: float
    embedding_model: str | None
    documents: dict[str, Document] = field(default_factory=dict)

    def view(self, now: float | None = None) -> JSON:
        now = time.time() if now is None else now
        out: JSON = {"name": self.name}
        if self.display_name:
            out["displayName"] = self.display_name
        updated = max([self.created, *(d.created for d in self.documents.values())])
        out |= {"createTime": rfc3339(self.created), "updateTime": rfc3339(updated)}
        counts = {"STATE_ACTIVE": 0, "STATE_PENDING": 0, "STATE_FAILED": 0}
        for document in self.documents.values():
            counts[document.state(now)] += 1
        # Proto JSON leaves zero counts out.
        for key, state in (
            ("activeDocumentsCount", "STATE_ACTIVE"),
            ("pendingDocumentsCount", "STATE_PENDING"),
            ("failedDocumentsCount", "STATE_FAILED"),
        ):
            if counts[state]:
                out[key] = _int64(counts[state])
        size = sum(d.size for d in self.documents.values())
        if size:
            out["sizeBytes"] = _int64(size)
        if self.embedding_model:
            out["embeddingModel"] = self.embedding_model
        return out


@dataclass(eq=False)
class Operation:
    name: str
    document: Document
    response_type: str

    def view(self, now: float | None = None) -> JSON:
        now = time.time() if now is None else now
        state = self.document.state(now)
        if state == "STATE_PENDING":
            return {"name": self.name}
        if state == "STATE_FAILED":
            error = {"code": 3, "message": self.document.failed or "Indexing failed."}
            return {"name": self.name, "done": True, "error": error}
        response = {
            "@type": _RESPONSE_TYPE.format(self.response_type),
            "parent": self.document.store_name,
            "documentName": self.document.name,
        }
        if self.response_type == "UploadToFileSearchStoreResponse":
            response |= {
                "mimeType": self.document.mime_type,
                "sizeBytes": _int64(self.document.size),
            }
        return {"name": self.name, "done": True, "response": response}


@dataclass
class Hit:
    document: Document
    chunk: Chunk
    score: int


def chunk_pages(pages: list[tuple[int | None, str]], words_per_chunk: int) -> list[Chunk]:
    chunks = []
    for number, text in pages:
        words = text.split()
        for start in range(0, len(words), words_per_chunk):
            chunks.append(Chunk(number, " ".join(words[start : start + words_per_chunk])))
    return chunks


def _words_per_chunk(metadata: JSON) -> int:
    config = metadata.get("chunkingConfig") or metadata.get("chunking_config") or {}
    white = (
        (config.get("whiteSpaceConfig") or config.get("white_space_config"))
        if isinstance(config, dict)
        else None
    )
    tokens = (
        (white.get("maxTokensPerChunk") or white.get("max_tokens_per_chunk"))
        if isinstance(white, dict)
        else None
    )
    return int(tokens) if isinstance(tokens, int) and tokens > 0 else WORDS_PER_CHUNK


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def _custom_metadata(metadata: JSON) -> list[JSON]:
    """The ``customMetadata`` list in camelCase (the SDK sends ``string_value``; proto JSON
    parsers accept both spellings)."""
    raw = metadata.get("customMetadata") or metadata.get("custom_metadata") or []
    if not isinstance(raw, list) or not all(isinstance(i, dict) and "key" in i for i in raw):
        raise bad_request("'customMetadata' must be a list of objects with a 'key'.")
    return [{_camel(k): v for k, v in item.items()} for item in raw]


def parse_filter(text: str | None) -> list[tuple[str, object]]:
    """``key = "value" AND n = 3`` → conditions; the simulator knows only equality."""
    if not text:
        return []
    conditions: list[tuple[str, object]] = []
    for part in re.split(r"\s+AND\s+", text.strip()):
        found = _FILTER.match(part)
        if not found:
            raise bad_request(
                f"Invalid metadata_filter {text!r} (the simulator knows key = value)."
            )
        key, string_value, number = found.groups()
        conditions.append((key, string_value if string_value is not None else float(number)))
    return conditions


class StoreRegistry:
    def __init__(self, directory: Path, processing_seconds: float) -> None:
        self.directory = directory
        self.processing_seconds = processing_seconds
        self._stores: dict[str, Store] = {}
        self._operations: dict[str, Operation] = {}
        self._lock = threading.RLock()  # tests poke from their thread; methods nest

    def clear(self) -> None:
        with self._lock:
            for store in self._stores.values():
                for document in store.documents.values():
                    document.path.unlink(missing_ok=True)
            self._stores.clear()
            self._operations.clear()

    def create(self, body: JSON) -> Store:
        display = body.get("displayName") or body.get("display_name")
        if display is not None and (not isinstance(display, str) or len(display) > 512):
            raise bad_request("'displayName' must be a string of at most 512 characters.")
        prefix = slug(display or "") or "store"
        store = Store(
            name=f"fileSearchStores/{prefix}-{random_id()}",
            display_name=display,
            created=time.time(),
            embedding_model=body.get("embeddingModel"),
        )
        with self._lock:
            self._stores[store.name] = store
        return store

    def get(self, name: str) -> Store:
        with self._lock:
            store = self._stores.get(name)
        if store is None:
            raise not_found(f"FileSearchStore {name} was not found.")
        return store

    def all(self) -> list[Store]:
        with self._lock:
            return sorted(self._stores.values(), key=lambda s: s.created, reverse=True)

    def delete(self, name: str, force: bool) -> None:
        store = self.get(name)
        if store.documents and not force:
            raise failed_precondition(
                f"FileSearchStore {name} has documents; delete with force=true to remove them."
            )
        with self._lock:
            self._stores.pop(name, None)
            for op in [k for k, v in self._operations.items() if v.document.store_name == name]:
                del self._operations[op]
        for document in store.documents.values():
            document.path.unlink(missing_ok=True)

    def add_document(
        self,
        store: Store,
        source: Path,
        mime_type: str,
        size: int,
        metadata: JSON,
        move: bool = False,
    ) -> JSON:
        """Index a document (own copy of ``source``); returns its operation's JSON."""
        if not mime_type:
            raise bad_request("The document's MIME type is missing.")
        display = str(metadata.get("displayName") or metadata.get("display_name") or "document")
        doc_id = f"{slug(display) or 'document'}-{random_id()}"
        path = self.directory / f"doc-{doc_id}"
        (shutil.move if move else shutil.copyfile)(source, path)
        pages = extract.pages(path, mime_type)
        chunks = chunk_pages(pages, _words_per_chunk(metadata))
        failed = None
        if "[[sim:fail]]" in display:
            failed = "Simulated indexing failure ([[sim:fail]])."
        elif not chunks:
            failed = f"No text could be extracted from this {mime_type} document."
        now = time.time()
        document = Document(
            name=f"{store.name}/documents/{doc_id}",
            display_name=display,
            mime_type=mime_type,
            size=size,
            path=path,
            created=now,
            ready_at=now + self.processing_seconds,
            custom_metadata=_custom_metadata(metadata),
            chunks=chunks,
            failed=failed,
        )
        kind = "upload/operations" if move else "operations"
        response_type = "UploadToFileSearchStoreResponse" if move else "ImportFileResponse"
        operation = Operation(f"{store.name}/{kind}/{random_id()}", document, response_type)
        with self._lock:
            if store.name not in self._stores:
                path.unlink(missing_ok=True)
                raise not_found(f"FileSearchStore {store.name} was not found.")
            store.documents[document.name] = document
            self._operations[operation.name] = operation
        return operation.view(now)

    def operation(self, name: str) -> JSON:
        with self._lock:
            found = self._operations.get(name)
        if found is None:
            raise not_found(f"Operation {name} was not found.")
        return found.view()

    def documents_of(self, store: Store) -> list[Document]:
        with self._lock:
            return sorted(store.documents.values(), key=lambda d: d.created, reverse=True)

    def document(self, name: str) -> Document:
        store = self.get(name.split("/documents/")[0])
        found = store.documents.get(name)
        if found is None:
            raise not_found(f"Document {name} was not found.")
        return found

    def delete_document(self, name: str, force: bool) -> None:
        document = self.document(name)
        if document.chunks and not force:
            raise failed_precondition(
                f"Document {name} has chunks; delete with force=true to remove them."
            )
        with self._lock:
            self.get(document.store_name).documents.pop(name, None)
        document.path.unlink(missing_ok=True)

    def by_media(self, media_name: str) -> Document | None:
        store_name = media_name.split("/media/")[0]
        with self._lock:
            store = self._stores.get(store_name)
            documents = list(store.documents.values()) if store else []
        return next((d for d in documents if d.media_name == media_name), None)

    # -- the file_search tool ------------------------------------------------------------

    def search(
        self, store_names: list[str], query: str, top_k: int, metadata_filter: str | None
    ) -> list[Hit]:
        """Best chunks of the ACTIVE documents of these stores for ``query``."""
        conditions = parse_filter(metadata_filter)
        stores = []
        for name in store_names:
            try:
                stores.append(self.get(name))
            except ApiError as exc:
                raise not_found(f"FileSearchStore {name} was not found.") from exc
        wanted = {w.lower() for w in _WORD.findall(query) if len(w) > 2} - _STOPWORDS
        now = time.time()
        hits = []
        for store in stores:
            for document in self.documents_of(store):
                if document.state(now) != "STATE_ACTIVE":
                    continue
                if any(document.metadata_value(k) != v for k, v in conditions):
                    continue
                for chunk in document.chunks:
                    words = {w.lower() for w in _WORD.findall(chunk.text)}
                    score = len(wanted & words)
                    if score:
                        hits.append(Hit(document, chunk, score))
        hits.sort(key=lambda h: -h.score)  # stable: newest document first among equals
        return hits[: max(1, top_k)]
