"""The language chooser: a person's choice of language, kept in their preferences."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .preference_models import Preferences

# "" follows the browser; anything else must be one of the site's languages.
CHOICES = frozenset(["", *(code for code, _name in settings.LANGUAGES)])


@login_required
@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    if language not in CHOICES:
        return HttpResponse(status=400)
    preferences = Preferences.of(request.user)
    preferences.language = language
    preferences.save(update_fields=["language"])
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("my_usage")
    return HttpResponseRedirect(back)
