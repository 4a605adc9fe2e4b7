"""Who may use the team admin pages (/team/), and the rules that keep a team administrable.

Team admins are staff (`is_staff`); superusers also keep Django's own admin at /admin/. A team
admin may not change a superuser (only another superuser may), nor deactivate or demote
themselves, nor leave the team without an active admin.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from . import audit


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-out visitors go to the sign-in page; signed-in people who are not team admins
    get a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def refusal(actor: Any, target: Any, *, active: bool, staff: bool) -> str:
    """Why `actor` may not leave `target` with these flags; "" when they may."""
    if target.is_superuser and not actor.is_superuser:
        return str(_("Only a superuser can change a superuser."))
    if target.pk == actor.pk and (not active or not staff):
        return str(_("You cannot deactivate or demote yourself: ask another team admin."))
    if target.is_active and target.is_staff and not (active and staff):
        others = get_user_model().objects.filter(is_active=True, is_staff=True)
        if not others.exclude(pk=target.pk).exists():
            return str(_("The team needs at least one active team admin."))
    return ""


def record(request: HttpRequest, action: str, target: str, **details: Any) -> None:
    """Every change made on the team pages goes to the audit log, with the admin's address."""
    audit.record(request.user, action, target, request, **details)
