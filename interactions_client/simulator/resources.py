"""HTTP routes of the Files API and of file search stores (their data lives elsewhere).

Routes (``{v}`` = ``v1`` | ``v1beta`` | ``v1alpha``)::

    POST   /upload/{v}/files                                   resumable start / chunks
    GET    /{v}/files  (pageSize, pageToken)                   {"files": [...], "nextPageToken"}
    GET    /{v}/files/{id}        DELETE /{v}/files/{id}
    POST   /{v}/fileSearchStores  GET /{v}/fileSearchStores    create / list
    GET    /{v}/fileSearchStores/{s}   DELETE (?force=true)
    POST   /upload/{v}/fileSearchStores/{s}:uploadToFileSearchStore   resumable → operation
    POST   /{v}/fileSearchStores/{s}:importFile                {"fileName": "files/…"} → operation
    GET    /{v}/fileSearchStores/{s}/operations/{o}   and   …/{s}/upload/operations/{o}
    GET    /{v}/fileSearchStores/{s}/documents        GET|DELETE …/documents/{d} (?force=true)
    GET    /{v}/fileSearchStores/{s}/media/{m}?alt=media     a document's bytes
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from .asgi import HttpRequest, Receive, Send, send_json
from .errors import ApiError, bad_request, failed_precondition, not_found
from .files import FileStore, page
from .inputs import JSON
from .stores import StoreRegistry
from .uploads import Uploads, UploadSession, start_headers

_V = r"(v1|v1beta|v1alpha)"
ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("upload_file", re.compile(rf"^/upload/{_V}/files/?$")),
    (
        "upload_document",
        re.compile(rf"^/upload/{_V}/fileSearchStores/([^/:]+):uploadToFileSearchStore$"),
    ),
    ("files", re.compile(rf"^/{_V}/files/?$")),
    ("file", re.compile(rf"^/{_V}/files/([^/:]+)$")),
    ("stores", re.compile(rf"^/{_V}/fileSearchStores/?$")),
    ("store", re.compile(rf"^/{_V}/fileSearchStores/([^/:]+)$")),
    ("import", re.compile(rf"^/{_V}/fileSearchStores/([^/:]+):importFile$")),
    ("operation", re.compile(rf"^/{_V}/fileSearchStores/([^/:]+)/(upload/)?operations/([^/:]+)$")),
    ("documents", re.compile(rf"^/{_V}/fileSearchStores/([^/:]+)/documents/?$")),
    ("document", re.compile(rf"^/{_V}/fileSearchStores/([^/:]+)/documents/([^/:]+)$")),
    ("media", re.compile(rf"^/{_V}/fileSearchStores/([^/:]+)/media/([^/:]+)$")),
]
METHODS = {
    "upload_file": {"POST"},
    "upload_document": {"POST"},
    "files": {"GET"},
    "file": {"GET", "DELETE"},
    "stores": {"GET", "POST"},
    "store": {"GET", "DELETE"},
    "import": {"POST"},
    "operation": {"GET"},
    "documents": {"GET"},
    "document": {"GET", "DELETE"},
    "media": {"GET"},
}


@dataclass
class Route:
    name: str
    groups: tuple[str, ...]

    @property
    def version(self) -> str:
        return self.groups[0]


def match(method: str, path: str) -> Route | None:
    """The resource route of ``path`` (None when it is not one); wrong method → 405."""
    for name, pattern in ROUTES:
        found = pattern.match(path)
        if found:
            if method not in METHODS[name]:
                raise ApiError(405, f"Method {method} is not allowed here.")
            return Route(name, tuple(g or "" for g in found.groups()))
    return None


def is_chunk(request: HttpRequest) -> bool:
    """Requests to an upload URL carry their body to disk, not into memory."""
    return request.path.startswith("/upload/") and "upload_id" in request.query


class Resources:
    def __init__(self, files: FileStore, stores: StoreRegistry, uploads: Uploads) -> None:
        self.files = files
        self.stores = stores
        self.uploads = uploads

    async def handle(
        self, route: Route, request: HttpRequest, receive: Receive, send: Send, drop: bool
    ) -> None:
        if route.name in ("upload_file", "upload_document") and is_chunk(request):
            await self.uploads.chunk(request, receive, send, drop)
            return
        handler = getattr(self, f"_{route.name}")
        answer = await handler(route, request, send)
        if answer is not None:
            await send_json(send, 200, answer)

    # -- Files API ---------------------------------------------------------------------

    async def _upload_file(self, route: Route, request: HttpRequest, send: Send) -> None:
        start_headers(request)  # protocol errors first, as the upload front end answers
        body = request.json() or {}
        metadata = body.get("file") if isinstance(body, dict) else None
        if metadata is not None and not isinstance(metadata, dict):
            raise bad_request("Invalid JSON payload received. 'file' must be an object.")
        self.files.chosen_id(metadata or {})
        origin, version = request.origin, route.version

        async def finalize(session: UploadSession) -> JSON:
            meta = metadata or {}
            digest = session.digest.hexdigest()
            stored = self.files.add(session.path, meta, session.mime_type, session.size, digest)
            return {"file": stored.view(origin, version, time.time())}

        await self.uploads.start(request, metadata or {}, finalize, send)

    async def _files(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        now = time.time()
        items = [f.view(request.origin, route.version, now) for f in self.files.all()]
        return page(items, request.query, "files")

    async def _file(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        file_id = route.groups[1]
        if request.method == "DELETE":
            self.files.delete(file_id)
            return {}
        return self.files.get(file_id).view(request.origin, route.version, time.time())

    # -- file search stores ------------------------------------------------------------

    async def _stores(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        if request.method == "POST":
            body = request.json() or {}
            if not isinstance(body, dict):
                raise bad_request("Invalid JSON payload received. Expected an object.")
            return self.stores.create(body).view()
        return page([s.view() for s in self.stores.all()], request.query, "fileSearchStores")

    async def _store(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        name = f"fileSearchStores/{route.groups[1]}"
        if request.method == "DELETE":
            self.stores.delete(name, force=request.flag("force"))
            return {}
        return self.stores.get(name).view()

    async def _upload_document(self, route: Route, request: HttpRequest, send: Send) -> None:
        start_headers(request)
        store = self.stores.get(f"fileSearchStores/{route.groups[1]}")
        body = request.json() or {}
        if not isinstance(body, dict):
            raise bad_request("Invalid JSON payload received. Expected an object.")

        async def finalize(session: UploadSession) -> JSON:
            mime = session.mime_type or str(body.get("mimeType") or "")
            return self.stores.add_document(store, session.path, mime, session.size, body, True)

        await self.uploads.start(request, body, finalize, send)

    async def _import(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        store = self.stores.get(f"fileSearchStores/{route.groups[1]}")
        body = request.json() or {}
        file_name = body.get("fileName") if isinstance(body, dict) else None
        if not isinstance(file_name, str) or not file_name.startswith("files/"):
            raise bad_request("'fileName' must name a file, like files/abc-123.")
        stored = self.files.get(file_name.removeprefix("files/"))
        if stored.state(time.time()) != "ACTIVE":
            raise failed_precondition(f"The File {stored.id} is not in an ACTIVE state.")
        meta = {"displayName": stored.display_name or stored.id, **body}
        return self.stores.add_document(store, stored.path, stored.mime_type, stored.size, meta)

    async def _operation(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        _, store_id, upload, op_id = route.groups
        name = f"fileSearchStores/{store_id}/{upload}operations/{op_id}"
        return self.stores.operation(name)

    async def _documents(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        store = self.stores.get(f"fileSearchStores/{route.groups[1]}")
        items = [d.view() for d in self.stores.documents_of(store)]
        return page(items, request.query, "documents")

    async def _document(self, route: Route, request: HttpRequest, send: Send) -> JSON:
        name = f"fileSearchStores/{route.groups[1]}/documents/{route.groups[2]}"
        if request.method == "DELETE":
            self.stores.delete_document(name, force=request.flag("force"))
            return {}
        return self.stores.document(name).view()

    async def _media(self, route: Route, request: HttpRequest, send: Send) -> None:
        name = f"fileSearchStores/{route.groups[1]}/media/{route.groups[2]}"
        if request.query.get("alt") != "media":
            raise bad_request("Media downloads need ?alt=media.")
        document = self.stores.by_media(name)
        if document is None:
            raise not_found(f"Media {name} was not found.")
        headers = [
            (b"content-type", document.mime_type.encode("latin-1")),
            (b"content-length", str(document.size).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        with document.path.open("rb") as handle:  # in blocks: documents may be large
            while block := handle.read(2**20):
                await send({"type": "http.response.body", "body": block, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
