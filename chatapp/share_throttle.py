"""Anonymous views of shared pages, counted per address and clock minute."""

from __future__ import annotations

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from .limits import client_ip


def throttle_wait(request: HttpRequest) -> int:
    """Seconds before this anonymous visitor may see another shared page; 0 when they may now.

    A count per address and clock minute in the cache (Redis with several workers), like the
    sign-in throttle in `chatapp.limits`. Signed-in people are not counted."""
    limit = settings.SHARE_VIEWS_PER_MINUTE
    if limit <= 0 or request.user.is_authenticated:
        return 0
    now = time.time()
    minute = int(now // 60)
    key = f"share-view:{_visitor(client_ip(request))}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= limit:
        return 0
    return max(math.ceil((minute + 1) * 60 - now), 1)


def _visitor(ip: str | None) -> str:
    """Who is counted: an IPv4 address, or an IPv6 /64 (one host usually holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
