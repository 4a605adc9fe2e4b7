"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatapp.settings")
# Build Django's app before importing anything that touches models (routing, consumers).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402
from django.utils.http import is_same_domain  # noqa: E402

from . import agent_triggers, recovery, scheduler, shutdown, tracing  # noqa: E402
from .daphne_tuning import (  # noqa: E402
    answer_oversized_heads,
    limit_request_bodies,
    limit_websocket_messages,
    skip_twisted_form_parsing,
)
from .protocol import MAX_FRAME_BYTES  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402

skip_twisted_form_parsing()
# A request line or headers past Twisted's 16 KiB limits get 414/431, not a cut connection.
answer_oversized_heads()
# Bodies over their route's limit answered 413 before they are read; the rest handed over
# in chunks, from disk.
limit_request_bodies()
# Room for the largest legitimate frame; the consumer answers bigger ones with an error.
limit_websocket_messages(MAX_FRAME_BYTES + 64 * 1024)
# SIGTERM drains the worker's answers before it exits (a rolling restart loses nothing).
shutdown.install()
# Traces of each turn, exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
tracing.configure()

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin, default port filled in; None if it is
    not one (a path, credentials, "null", a scheme other than http(s))."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        return None
    if parts.username is not None or parts.password is not None or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def allowed_origin(scope: dict[str, Any]) -> bool:
    """Whether a websocket's Origin is this site, by Django's CSRF rule for a form post.

    The Origin must be exactly the scheme://host:port the socket was opened on (the Host
    header, itself in ALLOWED_HOSTS; https when SECURE_PROXY_SSL_HEADER says so, as the TLS
    proxy does, or when the socket is wss), or one of CSRF_TRUSTED_ORIGINS ("https://*.x.org"
    for subdomains). A host alone is not enough: http://host or another port is another site.
    """
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin1").lower(), []).append(value.decode("latin1"))
    origins = headers.get("origin", [])
    if len(origins) != 1 or (key := _origin_key(origins[0])) is None:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        scheme, _, netloc = trusted.partition("://")
        if "*" not in netloc and key == _origin_key(trusted):
            return True
        if "*" in netloc and scheme.lower() == key[0]:
            if is_same_domain(urlsplit(origins[0]).netloc.lower(), netloc.lstrip("*")):
                return True

    use_forwarded = settings.USE_X_FORWARDED_HOST and "x-forwarded-host" in headers
    hosts = headers.get("x-forwarded-host" if use_forwarded else "host", [])
    if len(hosts) != 1:
        return False
    domain, _ = split_domain_port(hosts[0])
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # Django's own DEBUG default
    if not domain or not validate_host(domain, allowed_hosts):
        return False
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = headers.get(meta_name.removeprefix("HTTP_").replace("_", "-").lower())
        if forwarded:
            scheme = "https" if forwarded[0].split(",")[0].strip() == secure_value else "http"
    return key == _origin_key(f"{scheme}://{hosts[0]}")


class SameOriginValidator:
    """Refuses a websocket (403 at the handshake) unless `allowed_origin` accepts it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if allowed_origin(scope):
            await self.app(scope, receive, send)
        else:
            await WebsocketDenier()(scope, receive, send)


router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    # Daphne has no lifespan events: the worker's background jobs start with its first request.
    if scope["type"] in ("http", "websocket"):
        recovery.ensure_started()
        scheduler.ensure_started()
        agent_triggers.ensure_started()
    if scope["type"] == "websocket" and shutdown.draining():
        # Stopping: the page reconnects, to another worker behind the proxy.
        await WebsocketDenier()(scope, receive, send)
        return
    await router(scope, receive, send)
