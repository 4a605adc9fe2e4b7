"""The Google Maps contextual widget of a Maps-grounded answer, as a page of its own.

The chat page frames it sandboxed (scripts, no same-origin: it can reach neither the chat's
cookies nor its DOM), so Google's script runs under this page's policy, not the chat's. It
exists only when GOOGLE_MAPS_WIDGET_KEY is set: a Maps JavaScript API *browser* key, public by
design (restrict it by HTTP referrer in Google Cloud), never the Gemini API key.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from .rendering._places import _TOKEN

_GOOGLE = "https://maps.googleapis.com https://maps.gstatic.com"


@require_GET
@xframe_options_sameorigin
def maps_widget(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("token", "")
    if not settings.GOOGLE_MAPS_WIDGET_KEY or not _TOKEN.match(token):
        raise Http404
    context = {"key": settings.GOOGLE_MAPS_WIDGET_KEY, "token": token}
    response = render(request, "chat/maps_widget.html", context)
    response["Content-Security-Policy"] = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'nonce-{request.csp_nonce}' {_GOOGLE}",  # type: ignore[attr-defined]
            f"style-src 'unsafe-inline' {_GOOGLE} https://fonts.googleapis.com",
            f"img-src data: blob: {_GOOGLE} https://*.googleapis.com https://*.gstatic.com",
            f"connect-src {_GOOGLE} https://places.googleapis.com",
            "font-src https://fonts.gstatic.com",
            "frame-ancestors 'self'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    response["Cache-Control"] = "private, no-store"
    return response
