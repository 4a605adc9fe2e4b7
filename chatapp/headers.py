"""Security headers of every response: a Content-Security-Policy with a fresh nonce, no caching
of a signed-in user's pages, and a Permissions-Policy.

The policy allows this origin's own scripts and, for an inline script a template may need,
`<script nonce="{{ request.csp_nonce }}">`; never an inline script without it, an event
handler attribute or a `javascript:` URL. Styles may be inline: the search-suggestions widget
(Google's raw HTML) is shown in a sandboxed `srcdoc` iframe, and a `srcdoc` document inherits
this policy, so its `<style>` needs 'unsafe-inline' (no nonce reaches HTML rendered outside a
request, for a websocket frame). Model text never carries styles: both Markdown sanitizers
(nh3 here, DOMPurify in the page) drop `style` tags and attributes; only what KaTeX and
Mermaid generate in the page from that sanitized text (maths, diagrams) has inline styles.

A response that sets its own policy keeps it (served files: `default-src 'none'; sandbox`),
and so does one that sets its own Cache-Control (share pages, files).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

# Features the chat never uses, refused for the page and any frame in it. (Copying an answer
# needs clipboard-write, allowed to this origin by default.) Geolocation is this page's only,
# asked when a Google Maps conversation sends a message; never granted to a frame.
PERMISSIONS_POLICY = "geolocation=(self), " + ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "browsing-topics",
    )
)


def content_security_policy(nonce: str, websocket_origin: str | None) -> str:
    """The policy of a page; `websocket_origin` ("wss://chat.example.com") when known."""
    connect = "'self'" + (f" {websocket_origin}" if websocket_origin else "")
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": "'self' 'unsafe-inline'",
        # Generated images are served from /files/; pasted images are previewed as blob: URLs.
        "img-src": "'self' data: blob:",
        "media-src": "'self' blob:",
        "font-src": "'self'",
        # Browsers before CSP 3 do not count ws(s) to this host as 'self'.
        "connect-src": connect,
        # The only frame is the sandboxed srcdoc one for search suggestions: an about:srcdoc
        # document, which frame-src does not govern. Nothing from elsewhere is framed.
        "frame-src": "'self'",
        "worker-src": "'none'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _websocket_origin(request: HttpRequest) -> str | None:
    try:
        host = str(request.get_host())
    except DisallowedHost:
        return None
    return ("wss://" if request.is_secure() else "ws://") + host


class SecurityHeadersMiddleware:
    """Sets `request.csp_nonce`, then the headers above on the way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce
        response = self.get_response(request)
        # Django's debug error page runs inline scripts; it never shows with DEBUG off.
        debug_page = settings.DEBUG and response.status_code >= 500
        if "Content-Security-Policy" not in response and not debug_page:
            policy = content_security_policy(nonce, _websocket_origin(request))
            response["Content-Security-Policy"] = policy
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            # A signed-in page holds someone's conversations: no cache, shared or private,
            # keeps it (nor does the back button after signing out).
            response["Cache-Control"] = "private, no-store"
        return response
