"""The standalone simulator, `python -m interactions_client.simulator`, in its own process:
an upstream several servers share, or one a test can stop, slow down or fault."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .environ import free_port
from .servers import ROOT, server_env, stop_process

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Simulator:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path

    def get(self, path: str, api_key: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path)
        if api_key:
            request.add_header("x-goog-api-key", api_key)
        with _OPENER.open(request, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with _OPENER.open(request, timeout=10) as response:
            return json.loads(response.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def run_simulator(log_dir: Path, *args: str) -> Iterator[Simulator]:
    """The simulator on a free port with command-line `args` (`--api-key`,
    `--tokens-per-second`, ...); its log in `log_dir`; stopped afterwards."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"simulator-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "interactions_client.simulator", "--port", str(port), *args],
            cwd=ROOT,
            env=server_env(log_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    simulator = Simulator(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 30
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
        stop_process(process)
