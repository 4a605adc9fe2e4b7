"""`manage.py backup` while the app runs on PostgreSQL, `manage.py restore` on a fresh install:
conversations, files and share links come back."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
from PIL import Image

from tests.harness.accounts import PASSWORD, sign_up
from tests.harness.postgres import fresh_database
from tests.harness.servers import ROOT, LiveServer, run_server, server_env
from tests.harness.sockets import LiveSocket


def signed_in(server: LiveServer, username: str) -> httpx.Client:
    http = httpx.Client(base_url=server.url, timeout=30)
    http.get("/login/")
    response = http.post(
        "/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:300]
    http.headers.update({"X-CSRFToken": http.cookies["csrftoken"], "Accept": "application/json"})
    return http


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "orange").save(out, "PNG")
    return out.getvalue()


def test_a_backup_taken_while_answers_stream_restores_on_a_fresh_install(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "chat.tar.gz"
    with (
        fresh_database("source") as source,
        run_server(tmp_path / "source", DATABASE_URL=source) as server,
    ):
        session = sign_up(server, "ann")
        http = signed_in(server, "ann")
        upload = http.post("/upload", files={"file": ("orange.png", png(), "image/png")})
        assert upload.status_code == 201, upload.text
        file_id = upload.json()["id"]
        socket = LiveSocket(server, session)
        socket.send(
            {"type": "send", "conversation": None, "text": "Describe it", "attachments": [file_id]}
        )
        created = socket.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
        conversation, turn = created["turn"]["conversation"], created["turn"]["id"]
        answer = socket.until_final(turn)
        shared = http.post(f"/c/{conversation}/share", data={"leaf": turn})
        assert shared.status_code == 201, shared.text
        share_path = httpx.URL(shared.json()["url"]).path

        # Another answer is streaming while the backup is taken.
        socket.send(
            {
                "type": "send",
                "conversation": conversation,
                "parent": turn,
                "text": "[[sim:slow]] keep talking",
            }
        )
        socket.until(lambda f: f["type"] == "delta")
        done = server.manage("backup", str(archive))
        manifest = json.loads(done.strip().splitlines()[-1])
        assert manifest["conversations"] == 1 and manifest["files"] == 2  # upload + share copy
        assert manifest["share_links"] == 1 and not manifest["missing_files"]
        socket.close()
        http.close()

    with fresh_database("restored") as target:
        fresh = LiveServer(
            url="",
            env=server_env(tmp_path / "restored", DATABASE_URL=target),
            log_path=tmp_path / "x.log",
        )
        fresh.manage("migrate", "--noinput")
        fresh.manage("restore", str(archive))
        with run_server(tmp_path / "restored", DATABASE_URL=target) as server:
            http = signed_in(server, "ann")  # the password came back with the account
            page = http.get(f"/c/{conversation}/", headers={"Accept": "text/html"}).text
            assert "Describe it" in page and answer["steps"]
            stored = http.get(f"/files/{file_id}")
            assert stored.status_code == 200 and stored.content == png()
            public = httpx.get(server.url + share_path)
            assert public.status_code == 200 and "Describe it" in public.text
            # Ids go on after the restored ones (sequences were reset).
            socket = LiveSocket(server, sign_up(server, "ben"))
            socket.send({"type": "send", "conversation": None, "text": "hello again"})
            new = socket.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
            assert new["turn"]["conversation"] > conversation
            socket.close()
            http.close()


def test_restore_refuses_an_install_that_has_data_and_a_file_that_is_not_a_backup(
    tmp_path: Path,
) -> None:
    with fresh_database("busy") as database:
        env = server_env(tmp_path, DATABASE_URL=database)
        install = LiveServer(url="", env=env, log_path=tmp_path / "x.log")
        install.manage("migrate", "--noinput")
        not_a_backup = tmp_path / "notes.tar.gz"
        not_a_backup.write_bytes(b"hello")
        refused = subprocess.run(
            [sys.executable, "manage.py", "restore", str(not_a_backup)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 1 and "is not a backup archive" in refused.stderr
        install.manage("backup", str(tmp_path / "empty.tar.gz"))
        sign_up(install, "cid")
        refused = subprocess.run(
            [sys.executable, "manage.py", "restore", str(tmp_path / "empty.tar.gz")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 1 and "already has people" in refused.stderr
