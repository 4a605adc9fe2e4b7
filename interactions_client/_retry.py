"""One retry policy, as plain functions so tests assert the numbers without sleeping.

Retried: 408, 409, 429 and 5xx answers, and transport failures. A create (POST) is retried
after a transport failure only when the request surely never reached the server (connect
errors), because a lost answer may hide a created interaction. Streams are retried only
until their response opens; after the first event an error goes to the caller.
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

DEFAULT_MAX_RETRIES = 2
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 409, 429})


def should_retry_status(status_code: int) -> bool:
    return status_code in RETRY_STATUSES or status_code >= 500


def should_retry_exception(exc: Exception, *, idempotent: bool) -> bool:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return idempotent and isinstance(exc, httpx.TransportError)


def retry_after_seconds(headers: httpx.Headers | None, now: float | None = None) -> float | None:
    """The server's hint, from `retry-after-ms` or `Retry-After` (seconds or HTTP date)."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = -1
        if 0 < value <= MAX_RETRY_AFTER:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        value = parsed.timestamp() - (time.time() if now is None else now)
    return value if 0 < value <= MAX_RETRY_AFTER else None


def retry_delay(
    attempt: int,
    headers: httpx.Headers | None = None,
    *,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based).

    A valid server hint wins; otherwise 0.5 s x 2^attempt, capped at 8 s, times a jitter
    factor in (0.75, 1].
    """
    hinted = retry_after_seconds(headers)
    if hinted is not None:
        return hinted
    base: float = min(INITIAL_DELAY * 2.0**attempt, MAX_DELAY)
    jitter: float = 1 - 0.25 * (rng or random).random()
    return base * jitter
