"""A loopback HTTP endpoint that records webhook deliveries (raw body and headers), for
tests; it can answer a few deliveries with an error status first."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 0  # answer this many deliveries with 500
    deliveries: list[Delivery] = field(default_factory=list)
    refused: int = 0

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.deliveries)} deliveries, wanted {count}")
            time.sleep(0.02)
        return self.deliveries


@contextmanager
def receive_webhooks(fail_first: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if receiver.refused < receiver.fail_first:
                receiver.refused += 1
                self.send_response(500)
            else:
                receiver.deliveries.append(Delivery(body, dict(self.headers)))
                self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/gemini"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
