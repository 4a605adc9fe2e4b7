"""The Files API: files kept on disk, their states, expiry and the JSON the API returns.

Files API objects use the proto-JSON style of Google's older REST APIs (camelCase keys,
int64 as strings), unlike the snake_case Interactions API. A file is ``PROCESSING`` until it
is ready (videos for ``SimulatorConfig.video_processing_seconds``; everything else at once),
then ``ACTIVE``; a display name carrying ``[[sim:fail]]`` makes it ``FAILED``. It is gone
``file_ttl_seconds`` (48 h) after its creation; ``expire()`` makes that happen now.
"""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import extract
from .errors import ApiError, bad_request, failed_precondition
from .inputs import JSON

_ID_ALPHABET = string.ascii_lowercase + string.digits
_GIVEN_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
FILE_URI = re.compile(r"^https?://[^/]+/(?:v1|v1beta|v1alpha)/files/([a-z0-9-]+)$")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def rfc3339(seconds: float) -> str:
    micros = int(round(seconds % 1 * 1_000_000)) % 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def random_id(length: int = 12) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def page(items: list[JSON], query: dict[str, str], key: str) -> JSON:
    """One page of a list answer; the page token is the offset of the next item."""
    raw_size = query.get("pageSize") or query.get("page_size") or ""
    size = int(raw_size) if raw_size.isdigit() and int(raw_size) > 0 else DEFAULT_PAGE_SIZE
    size = min(size, MAX_PAGE_SIZE)
    token = query.get("pageToken") or query.get("page_token") or "0"
    if not token.isdigit():
        raise bad_request(f"Invalid page token {token!r}.")
    start = int(token)
    out: JSON = {key: items[start : start + size]} if items[start : start + size] else {}
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    return out


def denied(file_id: str) -> ApiError:
    # What the Files API answers for a file that never existed, was deleted or expired.
    return ApiError(
        403, f"You do not have permission to access the File {file_id} or it may not exist."
    )


@dataclass(eq=False)
class StoredFile:
    id: str
    display_name: str | None
    mime_type: str
    size: int
    sha256: str
    path: Path
    created: float
    expires: float
    ready_at: float
    failed: bool = False

    @property
    def name(self) -> str:
        return f"files/{self.id}"

    def state(self, now: float) -> str:
        if self.failed:
            return "FAILED"
        return "ACTIVE" if now >= self.ready_at else "PROCESSING"

    def uri(self, origin: str, version: str) -> str:
        return f"{origin}/{version}/files/{self.id}"

    def view(self, origin: str, version: str, now: float) -> JSON:
        state = self.state(now)
        out: JSON = {"name": self.name}
        if self.display_name:
            out["displayName"] = self.display_name
        out |= {
            "mimeType": self.mime_type,
            "sizeBytes": str(self.size),
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(max(self.created, min(now, self.ready_at))),
            "expirationTime": rfc3339(self.expires),
            # The API sends the hex digest, base64-encoded.
            "sha256Hash": base64.b64encode(self.sha256.encode()).decode(),
            "uri": self.uri(origin, version),
            "state": state,
            "source": "UPLOADED",
        }
        if state == "FAILED":
            out["error"] = {"code": 3, "message": "The file could not be processed. [simulated]"}
        return out


class FileStore:
    """Thread-safe: tests force expiry from their thread while the server thread serves."""

    def __init__(
        self, directory: Path, ttl_seconds: float, video_seconds: float, processing_seconds: float
    ) -> None:
        self.directory = directory
        self.ttl = ttl_seconds
        self.video_seconds = video_seconds
        self.processing_seconds = processing_seconds
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._sweep(time.time())
            return len(self._files)

    def _sweep(self, now: float) -> None:
        for file_id in [i for i, f in self._files.items() if f.expires <= now]:
            self._files.pop(file_id).path.unlink(missing_ok=True)

    def add(
        self, source: Path, metadata: JSON, mime_type: str, size: int, sha256: str
    ) -> StoredFile:
        """Take over ``source`` (a finished upload, ``sha256`` its hex digest) as a new file."""
        file_id = self.chosen_id(metadata) or random_id()
        display = metadata.get("displayName") or metadata.get("display_name")
        mime = mime_type or str(metadata.get("mimeType") or metadata.get("mime_type") or "")
        if not mime:
            raise bad_request(
                "The file's MIME type is missing (X-Goog-Upload-Header-Content-Type)."
            )
        now = time.time()
        delay = self.video_seconds if mime.startswith("video/") else self.processing_seconds
        with self._lock:
            self._sweep(now)
            if file_id in self._files:
                raise ApiError(409, f"A file named files/{file_id} already exists.")
            path = self.directory / f"file-{file_id}"
            shutil.move(source, path)
            stored = StoredFile(
                id=file_id,
                display_name=str(display) if display else None,
                mime_type=mime,
                size=size,
                sha256=sha256,
                path=path,
                created=now,
                expires=now + self.ttl,
                ready_at=now + delay,
                failed="[[sim:fail]]" in str(display or ""),
            )
            self._files[file_id] = stored
            return stored

    @staticmethod
    def chosen_id(metadata: JSON) -> str | None:
        """The id a caller asked for in ``name`` (checked at start, before any byte moves)."""
        given = metadata.get("name")
        if given is None:
            return None
        file_id = str(given).removeprefix("files/")
        if not _GIVEN_ID.match(file_id):
            raise bad_request(
                f"Invalid file name {given!r}: up to 40 lowercase letters, digits or "
                "dashes, not starting or ending with a dash."
            )
        return file_id

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            self._sweep(time.time())
            found = self._files.get(file_id)
        if found is None:
            raise denied(file_id)
        return found

    def delete(self, file_id: str) -> None:
        with self._lock:
            found = self._files.pop(file_id, None)
        if found is None:
            raise denied(file_id)
        found.path.unlink(missing_ok=True)

    def all(self) -> list[StoredFile]:
        """Newest first, as the API lists them."""
        with self._lock:
            self._sweep(time.time())
            return sorted(self._files.values(), key=lambda f: f.created, reverse=True)

    def expire(self, file_id: str | None = None) -> list[str]:
        """Make one file (or every file) reach its expiration time now; returns their names."""
        with self._lock:
            targets = [self._files[file_id]] if file_id in self._files else []
            if file_id is None:
                targets = list(self._files.values())
            for stored in targets:
                stored.expires = time.time()
            names = [t.name for t in targets]
            self._sweep(time.time())
        return names

    def clear(self) -> None:
        with self._lock:
            for stored in self._files.values():
                stored.path.unlink(missing_ok=True)
            self._files.clear()

    # -- files referenced from an interaction's input ------------------------------------

    def resolve(self, uri: str) -> StoredFile | None:
        """The file a Files API uri names, or None for other uris; refuses unusable files."""
        match = FILE_URI.match(uri)
        if not match:
            return None
        stored = self.get(match.group(1))
        state = stored.state(time.time())
        if state != "ACTIVE":
            raise failed_precondition(
                f"The File {stored.id} is not in an ACTIVE state and usage is not allowed."
            )
        return stored

    def describe(self, stored: StoredFile, kind: str) -> str:
        """What the simulated model "sees" in a file: its size, hash and opening text."""
        label = f" “{stored.display_name}”" if stored.display_name else ""
        head = (
            f"{kind}{label} ({stored.mime_type}, {stored.size} bytes, Files API "
            f"{stored.name}, sha256 {stored.sha256[:12]}…)"
        )
        found = extract.pages(stored.path, stored.mime_type)
        if not found:
            return head
        number, text = found[0]
        where = f" page {number}" if number is not None else ""
        flat = " ".join(text.split())
        return f"{head} —{where} reads: “{flat[:160]}{'…' if len(flat) > 160 else ''}”"
