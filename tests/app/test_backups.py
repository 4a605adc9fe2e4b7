"""A hostile or damaged archive is refused before anything is written."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from chatapp.backups import FORMAT, BackupError, restore_backup, write_backup
from chatapp.models import Conversation

pytestmark = pytest.mark.django_db


def archive_with(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


MANIFEST = json.dumps({"format": FORMAT}).encode()


@pytest.mark.parametrize("name", ["media/../../escaped", "media//etc/passwd", "media/"])
def test_entries_outside_the_media_folder_are_refused(
    tmp_path: Path, settings: Any, name: str
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    rows = json.dumps(
        [{"model": "chatapp.conversation", "pk": 7, "fields": {"owner": None, "model": "m"}}]
    ).encode()
    path = archive_with(
        tmp_path / "evil.tar.gz",
        {"manifest.json": MANIFEST, "database.json": rows, name: b"owned"},
    )
    with pytest.raises(BackupError, match="unexpected entry"):
        restore_backup(path)
    assert not Conversation.objects.exists()
    assert not (tmp_path / "escaped").exists()


def test_an_archive_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = archive_with(tmp_path / "other.tar.gz", {"manifest.json": b'{"format": "zip"}'})
    with pytest.raises(BackupError, match="not a chat-backup"):
        restore_backup(path)


def test_a_backup_is_never_left_half_written_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("chatapp.backups.call_command", broken)
    with pytest.raises(OSError):
        write_backup(tmp_path / "chat.tar.gz")
    assert list(tmp_path.iterdir()) == []
