"""The places of a ``google_maps_result`` step, for display: names and Google Maps links
(untrusted: plain text, http(s) links only) and the widget's context token.

The token is kept only when the deployment has a Maps browser key to draw the widget with
(``GOOGLE_MAPS_WIDGET_KEY``); the page shows the widget in a sandboxed frame of its own.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from ._markdown import clean_text, is_http_url

_MAX_PLACES = 20
# What Google's context tokens look like ("widgetcontent/…", base64url): no quote, no space.
_TOKEN = re.compile(r"^[A-Za-z0-9/_+=.-]{1,4000}\Z")


def maps_places(results: list[dict[str, Any]]) -> dict[str, Any]:
    places: list[dict[str, str]] = []
    token = ""
    for result in results:
        for place in result.get("places") or []:
            if not isinstance(place, dict) or len(places) >= _MAX_PLACES:
                continue
            name = clean_text(place.get("name")) if isinstance(place.get("name"), str) else ""
            url = place["url"].strip() if isinstance(place.get("url"), str) else ""
            places.append({"name": name or url, "url": url if is_http_url(url) else ""})
        candidate = result.get("widget_context_token")
        if isinstance(candidate, str) and _TOKEN.match(candidate) and not token:
            token = candidate
    shown: dict[str, Any] = {"places": places}
    if token and settings.GOOGLE_MAPS_WIDGET_KEY:
        shown["widget_token"] = token
    return shown
