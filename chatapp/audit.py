"""The audit log: who signed in or failed to, what admins changed, which share links came and
went. Stored as `AuditEvent` rows, read-only in the admin. Never a password, never message text.

Sign-in events come from Django's auth signals (connected below); admin changes from
`chatapp.admin.AuditedAdmin`; share links from `chatapp.share_links.record_share_event`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .limits import client_ip
from .models import AuditEvent


def record(
    actor: Any, action: str, target: str = "", request: HttpRequest | None = None, **details: Any
) -> AuditEvent:
    """Write one audit event. `actor` may be a user, an anonymous user or None."""
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        action=action[:40],
        target=str(target)[:255],
        ip=client_ip(request),
        details=details,
    )


@receiver(user_logged_in, dispatch_uid="chatapp.audit.logged_in")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record(user, "login", target=user.get_username(), request=request)


@receiver(user_login_failed, dispatch_uid="chatapp.audit.login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the name that was tried: Django masks the password, and it is not kept anyway.
    username = credentials.get(get_user_model().USERNAME_FIELD)
    record(
        None,
        "login.failed",
        target=username if isinstance(username, str) else "",
        request=request,
    )


@receiver(user_logged_out, dispatch_uid="chatapp.audit.logged_out")
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(user, "logout", target=user.get_username(), request=request)
