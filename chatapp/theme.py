"""Each person's theme (light, dark or the system's), put on <html> by the server so the
first paint already has it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from .preference_models import Preferences
from .responses import error_response, wants_json

SYSTEM = "system"


def theme(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `theme` is "light", "dark" or "system" (anonymous: the system's)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"theme": SYSTEM}
    chosen = Preferences.shown_to(request).get("theme")
    return {"theme": chosen or SYSTEM, "themes": Preferences.Theme.values}


@require_POST
@login_required
def set_theme(request: HttpRequest) -> HttpResponse:
    chosen = request.POST.get("theme", "")
    if chosen not in Preferences.Theme.values:
        return error_response(gettext("Unknown theme."), key="theme")
    preferences = Preferences.of(request.user)
    preferences.theme = chosen
    preferences.save(update_fields=["theme"])
    if wants_json(request):
        return JsonResponse({"ok": True, "theme": chosen})
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure())
    return redirect(back if safe else "home")
