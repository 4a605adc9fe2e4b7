"""How many websockets (tabs) one person may hold open, counted across every worker.

With Redis, each open socket is a member of a per-user sorted set scored by the end of its
lease; each worker renews the leases of its own sockets, so the sockets of a killed worker
stop counting within a lease. Without Redis (one process) a counter in memory is the truth.
If Redis fails, the local count decides: an outage must not lock people out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

LEASE_SECONDS = 90.0
RENEW_SECONDS = 30.0

# Drop expired leases, then add this socket only if the user is under the cap.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_local: Counter[int] = Counter()
_members: dict[str, int] = {}  # this worker's sockets: member name -> user pk
_shared: _Shared | None = None


def _key(user_pk: int) -> str:
    return f"chat:sockets:{user_pk}"


class _Shared:
    """The Redis side, one per event loop, with the task that renews this worker's leases."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.loop = asyncio.get_running_loop()
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.acquire_script = self.redis.register_script(_ACQUIRE)
        self.renewer = self.loop.create_task(self._renew(), name="socket-leases")

    async def acquire(self, user_pk: int, member: str) -> bool:
        now = time.time()
        args = [now, settings.CHAT_MAX_SOCKETS_PER_USER, now + LEASE_SECONDS, member]
        result: Any = await self.acquire_script(
            keys=[_key(user_pk)], args=[*args, int(LEASE_SECONDS * 2)]
        )
        return bool(result)

    async def release(self, user_pk: int, member: str) -> None:
        await self.redis.zrem(_key(user_pk), member)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            if not _members:
                continue
            try:
                pipe = self.redis.pipeline(transaction=False)
                expiry = time.time() + LEASE_SECONDS
                for member, user_pk in _members.items():
                    pipe.zadd(_key(user_pk), {member: expiry})
                    pipe.expire(_key(user_pk), int(LEASE_SECONDS * 2))
                await pipe.execute()
            except Exception as exc:  # a Redis outage: try again next round
                log.warning("socket leases not renewed: %s", exc)


def _redis() -> _Shared | None:
    global _shared
    if not settings.REDIS_URL:
        return None
    if _shared is None or _shared.loop is not asyncio.get_running_loop():
        _shared = _Shared(settings.REDIS_URL)
    return _shared


async def acquire(user_pk: int, member: str) -> bool:
    """Count one more socket for this user, or say no when they hold the maximum."""
    allowed: bool = _local[user_pk] < settings.CHAT_MAX_SOCKETS_PER_USER
    shared = _redis()
    if shared is not None:
        try:
            allowed = await shared.acquire(user_pk, member)
        except Exception as exc:
            log.warning("socket cap counted on this worker only: %s", exc)
    if allowed:
        _local[user_pk] += 1
        _members[member] = user_pk
    return allowed


async def release(user_pk: int, member: str) -> None:
    if _members.pop(member, None) is None:
        return
    _local[user_pk] -= 1
    if _local[user_pk] <= 0:
        del _local[user_pk]
    shared = _redis()
    if shared is not None:
        try:
            await shared.release(user_pk, member)
        except Exception as exc:  # its lease runs out instead
            log.warning("socket lease not released: %s", exc)
