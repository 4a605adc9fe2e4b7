"""Backups: one archive with a consistent copy of the database and the files it refers to.

The archive is a gzipped tar: `manifest.json` (format, time, counts), `database.json` (every
row, as Django's serializer writes it: portable between SQLite and PostgreSQL) and
`media/<stored name>` for every stored file. It is written while the app runs: the rows come
from one read-only snapshot (REPEATABLE READ on PostgreSQL; one read transaction on SQLite),
and the files are the ones those rows name, read through the storage (local disk or an
object store), streamed, never held whole.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from .models import Attachment, Conversation, ShareLink

FORMAT = "chat-backup/1"
# Rebuilt by `migrate` on the new install, or not worth keeping (sessions: sign in again).
EXCLUDED = ["contenttypes", "auth.permission", "sessions", "admin.logentry"]


class BackupError(Exception):
    """A backup or a restore that cannot go on; the message says why."""


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent read of the whole database while writers go on."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    archive.addfile(info, io.BytesIO(data))


def _add_stream(archive: tarfile.TarFile, name: str, stream: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(timezone.now().timestamp())
    archive.addfile(info, stream)


def write_backup(target: Path) -> dict[str, Any]:
    """Write the archive to `target` (atomically: a half-written backup never has its name)."""
    partial = target.with_name(target.name + ".partial")
    try:
        manifest = _write(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return manifest


def _write(partial: Path) -> dict[str, Any]:
    missing: list[str] = []
    with tarfile.open(partial, "w:gz") as archive, _snapshot():
        with tempfile.TemporaryFile() as rows:
            text = io.TextIOWrapper(rows, encoding="utf-8")
            call_command(
                "dumpdata",
                exclude=EXCLUDED,
                natural_foreign=True,
                natural_primary=True,
                stdout=text,
            )
            text.flush()
            size = rows.tell()
            rows.seek(0)
            _add_stream(archive, "database.json", rows, size)
            text.detach()
        names = list(Attachment.objects.values_list("file", flat=True))
        names += ShareLink.objects.exclude(content="").values_list("content", flat=True)
        for name in names:
            try:
                with default_storage.open(name, "rb") as stream:
                    _add_stream(archive, f"media/{name}", stream, default_storage.size(name))
            except FileNotFoundError:
                missing.append(name)  # deleted after the snapshot, with its row
        manifest = {
            "format": FORMAT,
            "created": timezone.now().isoformat(),
            "database": connection.vendor,
            "conversations": Conversation.objects.count(),
            "files": len(names) - len(missing),
            "share_links": ShareLink.objects.count(),
            "missing_files": missing,
        }
        _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
    return manifest


def _safe_member(member: tarfile.TarInfo) -> str:
    """The stored name of a media member; anything else in the archive is refused."""
    name = member.name.removeprefix("media/")
    parts = Path(name).parts
    if not member.isfile() or not parts or ".." in parts or Path(name).is_absolute():
        raise BackupError(f"The archive holds an unexpected entry: {member.name!r}.")
    return name


def restore_backup(source: Path, *, force: bool = False) -> dict[str, Any]:
    """Load an archive into this (freshly migrated) install: rows, then files."""
    if not force and (Conversation.objects.exists() or _has_users()):
        raise BackupError(
            "This install already has people or conversations: restore into a fresh one "
            "(or pass --force to add the backup to what is here)."
        )
    try:
        archive = tarfile.open(source, "r:gz")
    except (OSError, tarfile.TarError) as error:
        raise BackupError(f"{source} is not a backup archive: {error}") from None
    with archive:
        manifest = _read_manifest(archive)
        # Every entry is checked before anything is written.
        media = {m.name: _safe_member(m) for m in archive if m.name.startswith("media/")}
        rows = archive.extractfile("database.json")
        if rows is None:
            raise BackupError("The archive has no database.json.")
        with tempfile.NamedTemporaryFile(suffix=".json") as copy:
            while chunk := rows.read(1 << 20):
                copy.write(chunk)
            copy.flush()
            with transaction.atomic():
                call_command("loaddata", copy.name, verbosity=0)
        restored = 0
        for member in archive:
            if member.name not in media:
                continue
            name = media[member.name]
            stream = archive.extractfile(member)
            assert stream is not None
            if default_storage.exists(name):
                default_storage.delete(name)
            saved = default_storage.save(name, stream)
            if saved != name:
                raise BackupError(f"The storage renamed {name!r} to {saved!r}.")
            restored += 1
    return {**manifest, "files_restored": restored}


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile("manifest.json")
        manifest = json.loads(member.read()) if member else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"The archive is not a {FORMAT} backup.")
    return manifest


def _has_users() -> bool:
    from django.contrib.auth import get_user_model

    exists: bool = get_user_model().objects.exists()
    return exists
