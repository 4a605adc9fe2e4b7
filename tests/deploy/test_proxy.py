"""The shipped nginx configuration (deploy/nginx.conf) in front of a worker.

Behind a TLS terminator and on a port other than 80, sign-in (Django's CSRF origin check)
and the chat socket (its exact origin check) must still see the browser's own origin:
nginx has to pass the port in Host and keep the X-Forwarded-Proto the terminator set.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.harness.environ import free_port
from tests.harness.servers import ROOT, LiveServer, run_server

NGINX = "/usr/sbin/nginx"


def _config(tmp: Path, listen: int, upstream: str) -> Path:
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server app:8000;" in site and "listen 80;" in site
    site = site.replace("server app:8000;", f"server {upstream};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp = "\n".join(
        f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    main = tmp / "nginx.conf"
    main.write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp}\n"
        f"    uwsgi_temp_path {tmp}/uwsgi;\n    scgi_temp_path {tmp}/scgi;\n{site}\n}}\n"
    )
    return main


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    overrides = {
        "DEBUG": "false",
        "SECRET_KEY": "proxy-test-secret-key-that-is-long-enough-for-django",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    with run_server(tmp_path_factory.mktemp("proxied"), **overrides) as live:
        live.manage("collectstatic", "--noinput", "-v", "0")  # before the first page
        live.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_user('prox', password='a-long-pass-phrase')",
        )
        yield live


@pytest.fixture(scope="module")
def proxy(worker: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx on a free port in front of the worker; yields the site's public origin."""
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = _config(tmp, port, worker.url.removeprefix("http://"))
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                    pytest.fail(f"nginx did not start: {log}")
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sign_in_and_the_chat_socket_work_behind_tls_on_another_port(proxy: str) -> None:
    origin = f"https://{proxy}"
    # What a TLS terminator in front of nginx adds to each request it forwards.
    tls = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=f"http://{proxy}", headers=tls) as http:
        page = http.get("/login/")
        assert page.status_code == 200, "the worker did not see the request as HTTPS"
        token = page.cookies["csrftoken"]
        signed_in = http.post(
            "/login/",
            data={
                "username": "prox",
                "password": "a-long-pass-phrase",
                "csrfmiddlewaretoken": token,
            },
            headers={
                "Origin": origin,
                "Referer": f"{origin}/login/",
                "Cookie": f"csrftoken={token}",
            },
        )
        assert signed_in.status_code == 302, signed_in.text[:300]
        session = signed_in.cookies["sessionid"]

    cookie = {"Cookie": f"sessionid={session}", **tls}
    with connect(f"ws://{proxy}/ws/chat/", origin=origin, additional_headers=cookie) as socket:
        socket.send('{"type": "subscribe", "conversation": 999999}')
        assert '"error"' in socket.recv(timeout=10)

    # The same origin on another port is another site.
    elsewhere = f"https://127.0.0.1:{free_port()}"
    with pytest.raises(InvalidStatus):
        connect(f"ws://{proxy}/ws/chat/", origin=elsewhere, additional_headers=cookie)
