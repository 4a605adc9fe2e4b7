"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatapp.settings")
# Build Django's app before importing anything that touches models (routing, consumers).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from . import recovery  # noqa: E402
from .daphne_tuning import (  # noqa: E402
    limit_request_bodies,
    limit_websocket_messages,
    skip_twisted_form_parsing,
)
from .protocol import MAX_FRAME_BYTES  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402

skip_twisted_form_parsing()
# Bodies over their route's limit answered 413 before they are read; the rest handed over
# in chunks, from disk.
limit_request_bodies()
# Room for the largest legitimate frame; the consumer answers bigger ones with an error.
limit_websocket_messages(MAX_FRAME_BYTES + 64 * 1024)

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    # Daphne has no lifespan events: the worker's background jobs start with its first request.
    if scope["type"] in ("http", "websocket"):
        recovery.ensure_started()
    await router(scope, receive, send)
