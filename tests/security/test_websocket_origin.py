"""The chat websocket's Origin check: scheme, host and port must all be this site's.

A page on http://host:8001 or on https://host when the socket came in as plain http is
another origin (another site, or a downgraded one), as Django's CSRF check treats a form
post. Behind the TLS proxy (`X-Forwarded-Proto: https`) the site is https://host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from chatapp.asgi import allowed_origin, application
from tests.app.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def opens(user: Any, *headers: tuple[str, str], path: str = "/ws/chat/") -> bool:
    cookie = await asyncio.to_thread(session_cookie, user)
    sent = [(k.encode(), v.encode()) for k, v in headers] + [
        (b"cookie", f"sessionid={cookie}".encode())
    ]
    comm = WebsocketCommunicator(application, path, headers=sent)
    connected, _ = await comm.connect()
    await comm.disconnect()
    return connected


async def test_the_origin_must_match_scheme_host_and_port(alice: Any) -> None:
    host = ("host", "127.0.0.1:8000")
    assert await opens(alice, ("origin", "http://127.0.0.1:8000"), host)
    for origin in (
        "https://127.0.0.1:8000",  # wrong scheme: the socket did not come over TLS
        "http://127.0.0.1:8001",  # wrong port: another site on the same machine
        "http://127.0.0.1",  # port 80
        "http://localhost:8000",  # an allowed host, but not the one the socket is for
        "ws://127.0.0.1:8000",
        "http://127.0.0.1:8000/path",
        "http://user@127.0.0.1:8000",
        "null",
        "",
    ):
        assert not await opens(alice, ("origin", origin), host), origin
    # Two Origin headers, or a Host outside ALLOWED_HOSTS with a matching Origin: refused.
    origin = ("origin", "http://127.0.0.1:8000")
    assert not await opens(alice, origin, ("origin", "http://127.0.0.1:8000"), host)
    assert not await opens(
        alice, ("origin", "http://evil.example:8000"), ("host", "evil.example:8000")
    )


async def test_behind_the_tls_proxy_the_site_is_https(alice: Any, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    host = ("host", "chat.example.com")
    proxied = ("x-forwarded-proto", "https")
    assert await opens(alice, ("origin", "https://chat.example.com"), host, proxied)
    assert await opens(alice, ("origin", "https://chat.example.com:443"), host, proxied)
    assert not await opens(alice, ("origin", "http://chat.example.com"), host, proxied)
    assert not await opens(alice, ("origin", "https://chat.example.com:8443"), host, proxied)
    # Without the proxy's word the socket is plain http, whatever the page claims.
    assert not await opens(alice, ("origin", "https://chat.example.com"), host)
    assert await opens(alice, ("origin", "http://chat.example.com"), host)
    assert not await opens(
        alice, ("origin", "https://chat.example.com"), host, ("x-forwarded-proto", "http")
    )


async def test_csrf_trusted_origins_are_trusted_exactly(alice: Any, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["app"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.team.example"]
    host = ("host", "app:8000")  # what a proxy that rewrites Host sends
    for origin in ("https://chat.example.com", "https://a.team.example", "https://team.example"):
        assert await opens(alice, ("origin", origin), host), origin
    for origin in (
        "http://chat.example.com",
        "https://chat.example.com:8443",
        "http://a.team.example",
        "https://a.team.example:8443",
        "https://evilteam.example",
        "http://app:8000",  # the socket's own origin stays allowed only as the site itself
    ):
        expected = origin == "http://app:8000"
        assert await opens(alice, ("origin", origin), host) is expected, origin


def test_the_check_reads_the_scheme_of_a_wss_scope(settings: Any) -> None:
    """A server that sets the scope's scheme (uvicorn) is believed, as Django believes it."""
    scope = {"type": "websocket", "scheme": "wss", "headers": [(b"host", b"127.0.0.1:8000")]}
    origin = [(b"origin", b"https://127.0.0.1:8000")]
    assert allowed_origin({**scope, "headers": scope["headers"] + origin})
    assert not allowed_origin({**scope, "scheme": "ws", "headers": scope["headers"] + origin})


# --- on the real stack: Daphne, a browser-like client ---


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.harness.servers import run_server

    var_dir: Path = tmp_path_factory.mktemp("origin")
    with run_server(var_dir, SIMULATOR_TOKENS_PER_SECOND="0") as server:
        server.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_user('carol', password='pw-carol-123')",
        )
        yield server


def sign_in(url: str) -> str:
    import httpx

    with httpx.Client(base_url=url, trust_env=False) as http:
        http.get("/login/")
        token = http.cookies["csrftoken"]
        http.post(
            "/login/",
            data={"username": "carol", "password": "pw-carol-123", "csrfmiddlewaretoken": token},
        )
        return f"sessionid={http.cookies['sessionid']}"


async def daphne_accepts(url: str, cookie: str, origin: str, **headers: str) -> bool:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    try:
        async with connect(
            url.replace("http://", "ws://") + "/ws/chat/",
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie, **headers},
            proxy=None,
            open_timeout=10,
        ):
            return True
    except InvalidStatus as refused:
        assert refused.response.status_code == 403
        return False


@pytest.mark.django_db(transaction=False)
@pytest.mark.live
async def test_daphne_refuses_the_wrong_scheme_and_port(live: Any) -> None:
    cookie = await asyncio.to_thread(sign_in, live.url)
    port = int(live.url.rsplit(":", 1)[1])
    assert await daphne_accepts(live.url, cookie, live.url)
    assert not await daphne_accepts(live.url, cookie, live.url.replace("http:", "https:"))
    assert not await daphne_accepts(live.url, cookie, f"http://127.0.0.1:{port + 1}")
    # As through the TLS proxy: https is the site, plain http a downgrade.
    proxied = {"X-Forwarded-Proto": "https"}
    https = live.url.replace("http:", "https:")
    assert await daphne_accepts(live.url, cookie, https, **proxied)
    assert not await daphne_accepts(live.url, cookie, live.url, **proxied)
