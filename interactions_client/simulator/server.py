"""Run the simulator with uvicorn in a background thread (for tests and scripts)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from .app import SimulatorApp, create_app
from .asgi import SimulatedDrop
from .config import SimulatorConfig


@dataclass
class RunningSimulator:
    app: SimulatorApp
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> SimulatorConfig:
        return self.app.config


class _HideSimulatedDrops(logging.Filter):
    """Injected drops are expected; keep their tracebacks out of the test output."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDrop)


_FILTER = _HideSimulatedDrops()


def hide_simulated_drops() -> None:
    logging.getLogger("uvicorn.error").addFilter(_FILTER)


@contextmanager
def serve(
    config: SimulatorConfig | None = None,
    *,
    app: SimulatorApp | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
) -> Iterator[RunningSimulator]:
    """Serve the simulator on ``host:port`` (0 = a free port) until the block exits."""
    app = app or create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(uv_config)
    hide_simulated_drops()
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="interactions-simulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the simulator failed to start")
        time.sleep(0.01)
    try:
        yield RunningSimulator(app, host, bound_port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
