"""Live servers for the reliability and security tests: Daphne subprocesses (started with
tests/e2e's `run_server`), a standalone simulator process, and a websocket client.

Nothing here uses the pytest-django test database: the servers have their own SQLite files
under a temporary VAR_DIR, read and written through `manage.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.e2e.conftest import ROOT, LiveServer, run_server, server_env
from tests.live_env import free_port

__all__ = ["LiveServer", "LiveSocket", "Simulator", "run_server", "run_simulator", "sign_up"]

FINAL_SEQ = 2**31


def sign_up(server: LiveServer, username: str, *, admin: bool = False) -> str:
    """Create a user on the server's database; return a signed-in session id."""
    make = "create_superuser" if admin else "create_user"
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        f"user = get_user_model().objects.{make}({username!r}, password='Correct-Horse-42')\n"
        "client = Client()\n"
        "client.force_login(user)\n"
        "print(client.cookies['sessionid'].value)\n"
    )
    return server.manage("shell", "-c", code).strip().splitlines()[-1]


def query(server: LiveServer, expression: str) -> Any:
    """Evaluate a Python expression in `manage.py shell` (models imported); JSON back."""
    code = (
        "import json\n"
        "from chatapp.models import Attachment, Conversation, Turn\n"
        f"print(json.dumps({expression}, default=str))\n"
    )
    return json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])


class LiveSocket:
    """A browser-like websocket to a live server (the `websockets` sync client)."""

    def __init__(self, server: LiveServer, session: str, origin: str | None = None) -> None:
        self.ws: ClientConnection = ws_connect(
            server.url.replace("http://", "ws://") + "/ws/chat/",
            origin=origin or server.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={session}"},
            open_timeout=10,
            max_size=None,
            proxy=None,
            legacy=True,  # a connection object kept open across calls, closed by close()
        )
        self.frames: list[dict[str, Any]] = []
        self.raw: list[str] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame in {timeout}s; last: {self.frames[-3:]}")
            try:
                raw = self.ws.recv(timeout=remaining)
            except TimeoutError:
                continue
            text = raw if isinstance(raw, str) else raw.decode()
            self.raw.append(text)
            frame = json.loads(text)
            self.frames.append(frame)
            if predicate(frame):
                return frame

    def until_final(self, turn_id: int, timeout: float = 30) -> dict[str, Any]:
        frame = self.until(
            lambda f: f["type"] == "turn" and f.get("final") and f["turn"]["id"] == turn_id,
            timeout,
        )
        return frame["turn"]  # type: ignore[no-any-return]

    def close(self) -> None:
        with suppress(Exception):
            self.ws.close()


class Simulator:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path

    def get(self, path: str, api_key: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path)
        if api_key:
            request.add_header("x-goog-api-key", api_key)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def run_simulator(log_dir: Path, *args: str) -> Iterator[Simulator]:
    """`python -m interactions_client.simulator` on a free port, in its own process."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"simulator-{port}.log"
    env = server_env(log_dir)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "interactions_client.simulator", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    simulator = Simulator(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the simulator exited:\n{simulator.log()}")
            with suppress(OSError, urllib.error.URLError):
                if simulator.get("/_simulator/health")["status"] == "ok":
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start:\n{simulator.log()}")
            time.sleep(0.05)
        yield simulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def kill(server: LiveServer) -> None:
    """SIGKILL the server's process: no cleanup, no graceful shutdown."""
    assert server.process is not None
    server.process.kill()
    server.process.wait(timeout=10)
