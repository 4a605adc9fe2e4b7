"""The cap on open sockets per person holds across workers, and never locks anyone out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chatapp import socket_cap

pytestmark = pytest.mark.deploy

REDIS = "redis://127.0.0.1:6379/9"


@pytest.fixture
def shared(settings: Any) -> Iterator[redis.Redis]:
    settings.REDIS_URL = REDIS
    settings.CHAT_MAX_SOCKETS_PER_USER = 3
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is needed on 127.0.0.1:6379 (scripts/ensure-services.sh): {error}")
    yield client
    client.close()


def a_user() -> int:
    """A user id no other run on this machine uses at the same time."""
    return uuid.uuid4().int % 10**12 + 10**12


def another_worker_holds(client: redis.Redis, user: int, count: int, expiry: float) -> None:
    client.zadd(f"chat:sockets:{user}", {f"worker-b|{n}": expiry for n in range(count)})


async def test_sockets_on_another_worker_count_against_the_cap(shared: redis.Redis) -> None:
    user = a_user()
    another_worker_holds(shared, user, 2, time.time() + 60)
    assert await socket_cap.acquire(user, "worker-a|1")
    assert not await socket_cap.acquire(user, "worker-a|2")
    await socket_cap.release(user, "worker-a|1")
    assert await socket_cap.acquire(user, "worker-a|3")
    await socket_cap.release(user, "worker-a|3")
    assert shared.zcard(f"chat:sockets:{user}") == 2


async def test_the_sockets_of_a_killed_worker_stop_counting_when_their_lease_ends(
    shared: redis.Redis,
) -> None:
    user = a_user()
    another_worker_holds(shared, user, 3, time.time() - 1)  # leases that were not renewed
    assert await socket_cap.acquire(user, "worker-a|1")
    assert shared.zcard(f"chat:sockets:{user}") == 1
    await socket_cap.release(user, "worker-a|1")


async def test_other_users_are_not_affected(shared: redis.Redis) -> None:
    full, other = a_user(), a_user()
    another_worker_holds(shared, full, 3, time.time() + 60)
    assert not await socket_cap.acquire(full, "worker-a|1")
    assert await socket_cap.acquire(other, "worker-a|2")
    await socket_cap.release(other, "worker-a|2")


async def test_a_redis_outage_falls_back_to_this_workers_count(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    user = a_user()
    assert await socket_cap.acquire(user, "worker-a|1")
    assert await socket_cap.acquire(user, "worker-a|2")
    assert not await socket_cap.acquire(user, "worker-a|3")
    for name in ("worker-a|1", "worker-a|2"):
        await socket_cap.release(user, name)
    assert await socket_cap.acquire(user, "worker-a|4")
    await socket_cap.release(user, "worker-a|4")


async def test_a_worker_renews_the_leases_of_its_open_sockets(
    shared: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setattr(socket_cap, "RENEW_SECONDS", 0.05)
    user = a_user()
    assert await socket_cap.acquire(user, "worker-a|1")
    first = shared.zscore(f"chat:sockets:{user}", "worker-a|1")
    await asyncio.sleep(0.3)
    renewed = shared.zscore(f"chat:sockets:{user}", "worker-a|1")
    assert first is not None and renewed is not None and renewed > first
    await socket_cap.release(user, "worker-a|1")
    assert shared.zscore(f"chat:sockets:{user}", "worker-a|1") is None
