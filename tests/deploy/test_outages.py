"""Redis or PostgreSQL away for a few seconds while answers stream: generations go on,
pages lose nothing (a page on another worker resyncs once delivery is back), step writes
are retried, /readyz says so while it lasts, and nothing needs a restart afterwards.

The services sit behind TCP proxies the tests cut (`tcp_proxy`), so the real ones, which
other tests use, are never stopped.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.harness.cluster import Cluster
from tests.harness.servers import LiveServer, server_env

from .tcp_proxy import CuttableProxy
from .test_workers import Tab, open_tab, rebuild, saved_turn, sign_in, start

OUTAGE_SECONDS = 5


@pytest.fixture(scope="module")
def proxies(database: str) -> Iterator[tuple[CuttableProxy, CuttableProxy]]:
    pg = urlsplit(database)
    postgres = CuttableProxy(pg.hostname or "127.0.0.1", pg.port or 5432)
    redis = CuttableProxy("127.0.0.1", 6379)
    yield postgres, redis
    postgres.close()
    redis.close()


@pytest.fixture(scope="module")
def outage_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    database: str,
    simulator_url: str,
    proxies: tuple[CuttableProxy, CuttableProxy],
) -> Iterator[Cluster]:
    postgres, redis = proxies
    subprocess.run(["redis-cli", "-n", "6", "FLUSHDB"], check=True, capture_output=True)
    pg = urlsplit(database)
    var_dir = tmp_path_factory.mktemp("outages")
    env = server_env(
        var_dir,
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{postgres.port}{pg.path}",
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/6",
        GEMINI_API_KEY="deploy-test-key",
        GOOGLE_GEMINI_BASE_URL=simulator_url,
        CHAT_RECOVERY_INTERVAL_SECONDS="1",
        CHAT_RECOVERY_STALE_SECONDS="20",
    )
    cluster = Cluster(var_dir, env)
    LiveServer(url="", env=env, log_path=var_dir / "manage.log").manage("migrate", "--noinput")
    cluster.start()
    cluster.start()
    yield cluster
    cluster.stop_all()


@pytest.fixture(scope="module")
def cookie(outage_cluster: Cluster) -> str:
    worker = outage_cluster.workers[0]
    worker.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('outage', password='a-long-pass-phrase')",
    )
    http = sign_in(worker, "outage")
    value = str(http.cookies["sessionid"])
    http.close()
    return value


def ready(worker: LiveServer) -> int:
    return httpx.get(f"{worker.url}/readyz", timeout=20).status_code


async def follow(tab: Tab, conversation: int) -> None:
    await tab.send({"type": "subscribe", "conversation": conversation})


async def resync_until_final(tab: Tab, conversation: int, turn: int, timeout: float = 60) -> None:
    """What the page does: when a running answer goes quiet, ask again (a snapshot)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await tab.final(turn, timeout=5)
            return
        except AssertionError:
            await follow(tab, conversation)
    raise AssertionError(f"turn {turn} never ended on this tab")


async def test_redis_away_for_a_few_seconds(
    outage_cluster: Cluster, cookie: str, database: str, proxies: tuple[CuttableProxy, ...]
) -> None:
    _, redis = proxies
    runner, other = outage_cluster.workers[:2]
    tab = await open_tab(runner, cookie)
    conversation, turn = await start(tab, "[[sim:slow]] through a redis outage")
    watcher = await open_tab(other, cookie)
    await follow(watcher, conversation)
    await watcher.until(lambda f: f["type"] == "delta" and f["turn"] == turn)

    redis.cut()
    await asyncio.sleep(1)
    assert await asyncio.to_thread(ready, runner) == 503
    await asyncio.sleep(OUTAGE_SECONDS - 1)
    redis.restore()

    # The tab on the generation's worker was served in process: it lost nothing.
    await tab.final(turn, timeout=60)
    status, answer, _ = saved_turn(database, turn)
    assert status == "completed" and rebuild(tab.frames, turn) == answer
    # The page on the other worker catches up once delivery is back.
    await resync_until_final(watcher, conversation, turn)
    assert await asyncio.to_thread(ready, runner) == 200

    # Nothing needs a restart: a new answer streams across workers again.
    second = await open_tab(runner, cookie)
    conversation, turn = await start(second, "after the redis outage")
    fresh = await open_tab(other, cookie)
    await follow(fresh, conversation)
    await fresh.final(turn, timeout=60)
    for socket in (tab, watcher, second, fresh):
        await socket.ws.close()


async def test_postgresql_away_for_a_few_seconds(
    outage_cluster: Cluster, cookie: str, database: str, proxies: tuple[CuttableProxy, ...]
) -> None:
    postgres, _ = proxies
    runner = outage_cluster.workers[0]
    tab = await open_tab(runner, cookie)
    conversation, turn = await start(tab, "[[sim:slow]] through a database restart")
    await tab.until(lambda f: f["type"] == "delta" and f["turn"] == turn)

    postgres.cut()
    await asyncio.sleep(1)
    assert await asyncio.to_thread(ready, runner) == 503
    await asyncio.sleep(OUTAGE_SECONDS - 1)
    postgres.restore()

    await tab.final(turn, timeout=60)
    status, answer, _ = saved_turn(database, turn)
    assert status == "completed" and rebuild(tab.frames, turn) == answer
    assert await asyncio.to_thread(ready, runner) == 200
    conversation, turn = await start(tab, "after the database restart")
    await tab.final(turn, timeout=60)
    assert saved_turn(database, turn)[0] == "completed"
    await tab.ws.close()


def test_no_generation_crashed_through_the_outages(outage_cluster: Cluster) -> None:
    for worker in outage_cluster.workers:
        log = worker.log()
        assert "crashed" not in log and "Exception inside application" not in log, worker.tail()
