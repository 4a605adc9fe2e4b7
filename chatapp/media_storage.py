"""Where stored files live: the local disk (default), or an S3-compatible object store when
`MEDIA_STORAGE_URL` (or the usual `AWS_STORAGE_BUCKET_NAME`) is set, so that several
machines share uploads, generated images and backups.

Files are never served by the store: every download still passes the app's owner or share
checks and is proxied, streamed from the store a block at a time (`open` for reading returns
the object's body as a stream, not a local copy of the whole file). Writes go through boto3's
multipart transfer from the file already on disk.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.files.base import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


def storage_from_url(url: str) -> dict[str, Any]:
    """Django's STORAGES entry for `s3://bucket/prefix?endpoint_url=...&region_name=...`
    (credentials from the standard AWS_* variables, read by boto3)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        raise ValueError("MEDIA_STORAGE_URL: use s3://bucket/prefix?endpoint_url=...")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    options: dict[str, Any] = {
        "bucket_name": parts.hostname,
        "location": unquote(parts.path.strip("/")),
        "endpoint_url": query.get("endpoint_url"),
        "region_name": query.get("region_name"),
    }
    return s3_storage(options)


def s3_storage(options: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        "default_acl": None,  # private objects: only the app reads them
        "querystring_auth": True,
        "file_overwrite": False,
        "addressing_style": "path",  # MinIO and other S3-compatible stores
        "signature_version": "s3v4",
        "max_memory_size": 2 * 2**20,  # a file opened for writing spills to disk past 2 MB
    }
    clean = {key: value for key, value in options.items() if value not in (None, "")}
    return {"BACKEND": "chatapp.media_storage.MediaStorage", "OPTIONS": {**defaults, **clean}}


class StreamedFile(File):  # type: ignore[misc]
    """A stored object read as a stream: sequential reads, no seeking, no local copy."""

    def __init__(self, body: Any, name: str, size: int) -> None:
        super().__init__(body, name)
        self._size = size

    @property
    def size(self) -> int:
        return self._size

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.file.close()


class MediaStorage(S3Storage):  # type: ignore[misc]
    def _open(self, name: str, mode: str = "rb") -> Any:
        if mode != "rb":
            return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        try:
            found = self.bucket.Object(key).get()
        except self.connection.meta.client.exceptions.NoSuchKey:
            raise FileNotFoundError(name) from None
        return StreamedFile(found["Body"], name, found["ContentLength"])
