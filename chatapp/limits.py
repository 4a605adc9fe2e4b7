"""Limits: what each user may send (set by an admin, for them or their group), and how often
sign-in may fail.

Sending: `check(user)` runs before a message, an edit, a regeneration or a retry goes
upstream. Messages per minute are the user's turns created in the last 60 s, across all
conversations (a retry re-runs a turn and creates none); tokens per day are the user's usage
today, UTC (see `chatapp.usage`). Which limits apply: `chatapp.limit_rules`.

Sign-in: failed attempts are counted in the cache (Redis with several workers) per username
from one address, and per address (an IPv6 address by its /64, what one host can pick from).
Past `SIGNIN_MAX_FAILURES` for the pair, or `SIGNIN_MAX_FAILURES_PER_ADDRESS` for the address,
within `SIGNIN_WINDOW_MINUTES` of the first, the login forms refuse that address without
checking the password. A username alone is never locked, so a stranger's wrong passwords
cannot keep anyone (the admin included) out from their own address. A successful sign-in
clears its pair's count; the address's runs out with its window.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from redis.exceptions import RedisError

from . import limit_rules, usage
from .languages import grouped
from .models import Turn
from .user_errors import UserError


class LimitExceeded(UserError):
    """A user is over one of their limits; `message` says which and until when."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=429)


def limits_of(user: Any) -> tuple[int | None, int | None]:
    """(messages per minute, tokens per day) for a user; None means no limit. Their own
    limits, else their groups', else the server defaults (chatapp.limit_rules)."""
    found = limit_rules.effective([user.pk])[user.pk]
    return found.messages_per_minute, found.tokens_per_day


def check(user: Any) -> None:
    """Raise `LimitExceeded` if the user may not send anything right now (the turns service
    calls it, in its database hop, before anything is created or sent upstream)."""
    per_minute, per_day = limits_of(user)
    if per_minute is not None:
        now = timezone.now()
        # The newest `per_minute` turns of the last minute, through the sidebar index (owner)
        # and the turn_tree index (conversation, created).
        recent = list(
            Turn.objects.filter(
                usage.RAN_HERE,
                conversation__owner_id=user.pk,
                created__gt=now - timedelta(seconds=60),
            )
            .order_by("-created")
            .values_list("created", flat=True)[:per_minute]
        )
        if len(recent) >= per_minute:
            wait = math.ceil((recent[-1] + timedelta(seconds=60) - now).total_seconds())
            raise LimitExceeded(
                ngettext(
                    "You can send %(n)s message per minute; try again in %(wait)s s.",
                    "You can send %(n)s messages per minute; try again in %(wait)s s.",
                    per_minute,
                )
                % {"n": grouped(per_minute), "wait": max(wait, 1)}
            )
    if per_day is not None and usage.tokens_today(user.pk) >= per_day:
        raise LimitExceeded(
            gettext("You have used your %s tokens for today; the limit resets at midnight UTC.")
            % grouped(per_day)
        )


# --- sign-in throttling ---


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the server saw it (Daphne's --proxy-headers sets it)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _address(ip: str | None) -> str:
    """What one client controls: an IPv4 address, or an IPv6 address's /64 network. Requests
    without an address (a server on a Unix socket) share one count, as behind a proxy."""
    if not ip:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _open_without_cache(default: Any) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """The throttles count in the cache (Redis with several workers). While it is away they
    let requests through, logged, rather than failing them: a few seconds unthrottled beat
    nobody signing in and every shared page a 500."""

    def wrap(function: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> _T:
            try:
                return function(*args, **kwargs)
            except (OSError, RedisError):
                log.warning("%s: the cache is unavailable", function.__name__, exc_info=True)
                return default  # type: ignore[no-any-return]

        return guarded

    return wrap


@_open_without_cache(0)
def minute_budget_wait(kind: str, ip: str | None, amount: int, limit: int) -> int:
    """Spend `amount` of an address's budget of `limit` per clock minute for `kind`; the
    seconds to wait when it is spent (nothing is spent then), 0 when it may go ahead.

    One count per address and minute in the cache (Redis with several workers). A single
    amount above the whole budget takes all of one minute, so it is slow but never refused
    for ever."""
    if limit <= 0:
        return 0
    now = time.time()
    minute = int(now // 60)
    key = f"budget:{kind}:{_address(ip)}:{minute}"
    amount = min(amount, limit)
    cache.add(key, 0, timeout=120)
    try:
        spent = cache.incr(key, amount)
    except ValueError:  # evicted between add and incr
        cache.set(key, amount, timeout=120)
        spent = amount
    if spent <= limit:
        return 0
    cache.decr(key, amount)
    return max(math.ceil((minute + 1) * 60 - now), 1)


def _pair_key(username: str, ip: str | None) -> str:
    pair = f"{username.strip().casefold()}\n{_address(ip)}"
    return f"signin-fail:pair:{hashlib.sha256(pair.encode()).hexdigest()[:32]}"


def _keys(username: str | None, ip: str | None) -> list[tuple[str, int]]:
    """The counts an attempt adds to, each with its limit: the pair's and the address's."""
    keys = [(f"signin-fail:ip:{_address(ip)}", settings.SIGNIN_MAX_FAILURES_PER_ADDRESS)]
    if username:
        keys.append((_pair_key(username, ip), settings.SIGNIN_MAX_FAILURES))
    return keys


@_open_without_cache(0)
def wait_seconds(username: str | None, ip: str | None) -> int:
    """How long sign-in stays refused for this username from this address; 0: allowed."""
    keys = [(key, limit) for key, limit in _keys(username, ip) if limit > 0]
    if not keys:
        return 0
    counts = cache.get_many([key for key, _ in keys])
    blocked = [key for key, limit in keys if counts.get(key, 0) >= limit]
    if not blocked:
        return 0
    until = cache.get_many([f"{key}:until" for key in blocked]).values()
    now = time.time()
    # A count whose end time the cache lost waits a minute more.
    return max(max((math.ceil(u - now) for u in until), default=60), 1)


@_open_without_cache(None)
def record_failure(username: str | None, ip: str | None) -> None:
    window = settings.SIGNIN_WINDOW_MINUTES * 60
    for key, _ in _keys(username, ip):
        # The window starts with the first failure; later failures do not extend it.
        if cache.add(key, 0, timeout=window):
            cache.set(f"{key}:until", time.time() + window, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.set(key, 1, timeout=window)
            cache.set(f"{key}:until", time.time() + window, timeout=window)


@_open_without_cache(None)
def clear_failures(username: str | None, ip: str | None) -> None:
    """After a successful sign-in: that username from that address starts afresh."""
    if username:
        key = _pair_key(username, ip)
        cache.delete_many([key, f"{key}:until"])


class ThrottledLoginMixin:
    """Refuses a sign-in while its username from its address, or its address, is throttled,
    before the password is read."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    error_messages: dict[str, str]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        wait = wait_seconds(username, client_ip(self.request))
        if wait:
            minutes = max(math.ceil(wait / 60), 1)
            raise ValidationError(
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(n)s minute.",
                    "Too many failed sign-in attempts. Try again in %(n)s minutes.",
                    minutes,
                ),
                code="throttled",
                params={"n": minutes},
            )
        return super().clean()  # type: ignore[misc,no-any-return]


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The login page's form (chatapp.urls)."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin site's login form: the same limits, or it would be a way around them."""


@receiver(user_login_failed, dispatch_uid="chatapp.limits.count_failure")
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Password sign-ins only: a failed single sign-on callback names no user.
    username = credentials.get(get_user_model().USERNAME_FIELD)
    if isinstance(username, str) and username:
        record_failure(username, client_ip(request))


@receiver(user_logged_in, dispatch_uid="chatapp.limits.reset_failures")
def _reset_failures(
    sender: Any, user: Any, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    clear_failures(user.get_username(), client_ip(request))
