"""Several Daphne workers serving one team (one database, one channel layer): start, stop,
kill and restart them, as a process manager would."""

from __future__ import annotations

import signal
import subprocess
from contextlib import suppress
from pathlib import Path

from .servers import LiveServer, new_server, start_daphne, wait_until_up


class Cluster:
    """Workers serving one team: start, kill and restart them."""

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.var_dir = var_dir
        self.env = env
        self.workers: list[LiveServer] = []

    def start(self, **env: str) -> LiveServer:
        worker = new_server(self.var_dir, {**self.env, **env})
        start_daphne(worker)
        wait_until_up(worker)
        self.workers.append(worker)
        return worker

    def terminate(self, worker: LiveServer, timeout: float = 60) -> int:
        """Stop a worker the way a process manager does (SIGTERM, then wait); its exit code."""
        assert worker.process is not None
        worker.process.send_signal(signal.SIGTERM)
        return worker.process.wait(timeout=timeout)

    def kill(self, worker: LiveServer) -> None:
        assert worker.process is not None
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process and worker.process.poll() is None:
                worker.process.terminate()
                with suppress(subprocess.TimeoutExpired):
                    worker.process.wait(timeout=10)
                if worker.process.poll() is None:
                    worker.process.kill()
