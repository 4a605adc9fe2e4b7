"""Anonymous views of shared pages, counted per address and clock minute."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from .limits import client_ip, minute_budget_wait


def throttle_wait(request: HttpRequest) -> int:
    """Seconds before this anonymous visitor may see another shared page; 0 when they may now.

    One view each of the address's SHARE_VIEWS_PER_MINUTE per clock minute (IPv6: per /64),
    counted in the cache like the share downloads. Signed-in people are not counted."""
    if request.user.is_authenticated:
        return 0
    return minute_budget_wait("share-view", client_ip(request), 1, settings.SHARE_VIEWS_PER_MINUTE)
