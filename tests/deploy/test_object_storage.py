"""Two workers on two machines' worth of disk share their files through an S3-compatible
store (moto's server on loopback): uploads, generated images, share links, exports and
backups work across them, and every download still passes the app's checks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image

from tests.harness.cluster import Cluster
from tests.harness.environ import free_port
from tests.harness.servers import LiveServer, server_env

from .test_workers import open_tab, sign_in

BUCKET = "chat-media"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("moto's S3 server did not start")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def bucket(s3_url: str) -> Any:
    s3 = boto3.resource(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return s3.Bucket(BUCKET)


@pytest.fixture(scope="module")
def machines(
    tmp_path_factory: pytest.TempPathFactory, database: str, s3_url: str, simulator_url: str
) -> Iterator[Cluster]:
    bucket(s3_url).create()
    var_dir = tmp_path_factory.mktemp("s3")
    env = server_env(
        var_dir,
        DATABASE_URL=database,
        GEMINI_API_KEY="deploy-test-key",
        GOOGLE_GEMINI_BASE_URL=simulator_url,
        MEDIA_STORAGE_URL=f"s3://{BUCKET}/media?endpoint_url={s3_url}&region_name=us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    cluster = Cluster(var_dir, env)
    LiveServer(url="", env=env, log_path=var_dir / "manage.log").manage("migrate", "--noinput")
    # Each worker has a disk of its own, as on two machines.
    for name in ("one", "two"):
        cluster.start(VAR_DIR=str(tmp_path_factory.mktemp(f"machine-{name}")))
    yield cluster
    cluster.stop_all()


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(out, "PNG")
    return out.getvalue()


async def test_files_made_on_one_worker_are_served_by_the_other(
    machines: Cluster, s3_url: str, tmp_path: Path
) -> None:
    one, two = machines.workers[:2]
    one.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('s3user', password='a-long-pass-phrase'); "
        "get_user_model().objects.create_user('s3other', password='a-long-pass-phrase')",
    )
    http = sign_in(one, "s3user")
    headers = {"X-CSRFToken": http.cookies["csrftoken"], "Accept": "application/json"}
    uploaded = http.post(
        "/upload", files={"file": ("red.png", png("red"), "image/png")}, headers=headers
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]

    # The upload is in the bucket, on no worker's disk, and the other worker serves it.
    keys = [o.key for o in bucket(s3_url).objects.all()]
    assert len(keys) == 1 and keys[0].startswith("media/attachments/")
    on_two = httpx.AsyncClient(base_url=two.url, cookies={"sessionid": http.cookies["sessionid"]})
    anyone = httpx.AsyncClient(base_url=two.url)
    served = await on_two.get(f"/files/{file_id}")
    assert served.status_code == 200 and served.content == png("red")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # Still only for its owner.
    stranger = sign_in(two, "s3other")
    assert stranger.get(f"/files/{file_id}").status_code == 404

    # A generated image, made on one worker, saved to the store, shown by the other.
    made = json.loads(
        one.manage(
            "shell",
            "-c",
            "import json; from chatapp.models import Conversation; "
            "from django.contrib.auth import get_user_model; "
            "c = Conversation.objects.create(owner=get_user_model().objects.get(username='s3user'),"
            " model='gemini-3.1-flash-image'); print(json.dumps(c.pk))",
        )
        .strip()
        .splitlines()[-1]
    )
    tab = await open_tab(one, http.cookies["sessionid"])
    await tab.send(
        {
            "type": "send",
            "conversation": made,
            "parent": None,
            "text": "Draw a red square",
            "attachments": [file_id],
        }
    )
    created = await tab.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    final = await tab.final(created["turn"]["id"], timeout=60)
    images = [step["attachment"] for step in final["turn"]["steps"] if step.get("attachment")] or [
        m for m in _attachments(final["turn"]["html"]) if m != file_id
    ]
    assert images, final["turn"]
    generated = images[0]
    image = await on_two.get(f"/files/{generated}")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    await tab.ws.close()

    # Shared: anyone with the link gets the image from either worker.
    shared = http.post(f"/c/{made}/share", data={"leaf": created["turn"]["id"]}, headers=headers)
    assert shared.status_code == 201, shared.text
    path = httpx.URL(shared.json()["url"]).path
    # The link's frozen branch and page are in the store too.
    assert any(o.key.startswith("media/shares/") for o in bucket(s3_url).objects.all())
    public = await anyone.get(f"{path}/files/{generated}")
    assert public.status_code == 200 and public.content == image.content

    # Exported, its file links work on the other worker.
    exported = http.get(f"/c/{made}/export.md").text
    assert f"/files/{file_id}" in exported

    # A backup reads the files from the store.
    archive = tmp_path / "chat.tar.gz"
    summary = json.loads(two.manage("backup", str(archive)).strip().splitlines()[-1])
    assert summary["files"] >= 2 and not summary["missing_files"]
    for client in (http, stranger):
        client.close()
    await on_two.aclose()
    await anyone.aclose()


def _attachments(html: str) -> list[str]:
    import re

    return re.findall(r"/files/([0-9a-f-]{36})", html)
