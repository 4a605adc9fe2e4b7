"""Two Daphne workers on one PostgreSQL database and one Redis, with a standalone simulator.

These tests need the machine's PostgreSQL (127.0.0.1:5432, trust auth) and Redis
(127.0.0.1:6379); `make test` starts them when they are down (scripts/ensure-services.sh).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest

from tests.e2e.conftest import ROOT, LiveServer, _wait_until_up, server_env
from tests.live_env import free_port

PG = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(scope="package")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    name = f"chat_deploy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def redis_url() -> str:
    # A database index of its own, emptied first, so other users of this Redis are left alone.
    url = "redis://127.0.0.1:6379/7"
    subprocess.run(["redis-cli", "-n", "7", "FLUSHDB"], check=True, capture_output=True)
    return url


@pytest.fixture(scope="package")
def simulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The upstream every worker shares, so a surviving worker can re-attach to a stream."""
    port = free_port()
    log = tmp_path_factory.mktemp("simulator") / "simulator.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "interactions_client.simulator",
                "--port",
                str(port),
                "--tokens-per-second",
                "15",
                "--api-key",
                "deploy-test-key",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with suppress(OSError):
            urllib.request.urlopen(f"{url}/_simulator/health", timeout=1)
            break
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


class Cluster:
    """Workers serving one team: start, kill and restart them."""

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.var_dir = var_dir
        self.env = env
        self.workers: list[LiveServer] = []

    def start(self, **env: str) -> LiveServer:
        port = free_port()
        worker = LiveServer(
            url=f"http://127.0.0.1:{port}",
            env={**self.env, **env},
            log_path=self.var_dir / f"daphne-{port}.log",
        )
        with worker.log_path.open("wb") as log:
            worker.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "chatapp.asgi:application",
                ],
                cwd=ROOT,
                env=worker.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_until_up(worker)
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


@pytest.fixture(scope="package")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, database: str, redis_url: str, simulator_url: str
) -> Iterator[Cluster]:
    var_dir = tmp_path_factory.mktemp("cluster")
    env = server_env(
        var_dir,
        DATABASE_URL=database,
        REDIS_URL=redis_url,
        GEMINI_API_KEY="deploy-test-key",
        GOOGLE_GEMINI_BASE_URL=simulator_url,
        CHAT_RECOVERY_INTERVAL_SECONDS="1",
        CHAT_RECOVERY_STALE_SECONDS="10",
        CHAT_SCHEDULE_INTERVAL_SECONDS="1",
    )
    cluster = Cluster(var_dir, env)
    LiveServer(url="", env=env, log_path=var_dir / "manage.log").manage("migrate", "--noinput")
    cluster.start()
    cluster.start()
    yield cluster
    cluster.stop_all()
    for worker in cluster.workers:
        if worker.process and worker.process.returncode not in (0, -15, -9):
            print(f"\n--- {worker.url} ---\n{worker.tail()}")


@pytest.fixture(scope="package")
def session_cookie(cluster: Cluster) -> str:
    """A signed-in user's session, valid on every worker (sessions live in PostgreSQL)."""
    worker = cluster.workers[0]
    worker.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('team', password='a-long-pass-phrase')",
    )
    import httpx

    with httpx.Client(base_url=worker.url) as http:
        http.get("/login/")
        token = http.cookies["csrftoken"]
        response = http.post(
            "/login/",
            data={
                "username": "team",
                "password": "a-long-pass-phrase",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": f"{worker.url}/login/"},
        )
        assert response.status_code == 302, response.text
        return http.cookies["sessionid"]
