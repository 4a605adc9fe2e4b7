"""Two Daphne workers on one PostgreSQL database and one Redis, with a standalone simulator.

These tests need the machine's PostgreSQL (127.0.0.1:5432, trust auth) and Redis
(127.0.0.1:6379); `make test` starts them when they are down (scripts/ensure-services.sh).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.harness.accounts import create_user, http_sign_in
from tests.harness.cluster import Cluster
from tests.harness.postgres import fresh_database
from tests.harness.servers import LiveServer, server_env
from tests.harness.simulator import run_simulator


@pytest.fixture(scope="package")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    with fresh_database("deploy") as url:
        yield url


@pytest.fixture(scope="package")
def redis_url() -> str:
    # A database index of its own, emptied first, so other users of this Redis are left alone.
    url = "redis://127.0.0.1:6379/7"
    subprocess.run(["redis-cli", "-n", "7", "FLUSHDB"], check=True, capture_output=True)
    return url


@pytest.fixture(scope="package")
def simulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The upstream every worker shares, so a surviving worker can re-attach to a stream."""
    log_dir = tmp_path_factory.mktemp("simulator")
    args = ("--tokens-per-second", "15", "--api-key", "deploy-test-key")
    with run_simulator(log_dir, *args) as simulator:
        yield simulator.url


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
    create_user(worker, "team", "a-long-pass-phrase")
    return http_sign_in(worker.url, "team", "a-long-pass-phrase")["sessionid"]
