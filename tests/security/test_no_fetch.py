"""The server fetches no URL a user (or the model) supplies: media links, links in messages,
citation and url_context URLs go to the API or the page as text, never to a socket here.

Every socket connection and name lookup of the process is recorded while a conversation with
such URLs is answered, rendered, exported and shared; only loopback (the upstream simulator)
is allowed."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chatapp.models import Conversation, Turn

from ..reliability.helpers import creates, is_final

pytestmark = pytest.mark.django_db(transaction=True)

MEDIA_URLS = [
    "https://example.invalid/a.mp3",
    "http://169.254.169.254/latest/meta-data/iam.wav",
    "http://10.0.0.1:8080/internal.ogg",
]
PROMPT = (
    "Summarize https://example.invalid/page and http://169.254.169.254/latest/meta-data/ "
    "and http://[fd00::1]/x for me"
)


def is_loopback(host: Any) -> bool:
    if host in (None, "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Connections to, and lookups of, anything but loopback, from anywhere in the process."""
    seen: list[str] = []
    connect, connect_ex, getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            seen.append(f"connect {address!r}")

    def guarded_connect(sock: socket.socket, address: Any) -> Any:
        check(sock, address)
        return connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> Any:
        check(sock, address)
        return connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host):
            seen.append(f"getaddrinfo {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return seen


def test_the_guard_sees_an_outbound_connection(outbound: list[str]) -> None:
    """The recorder works: a connection attempt to a non-loopback address is caught."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        probe.connect_ex(("192.0.2.1", 9))  # TEST-NET-1: never routed
    finally:
        probe.close()
    assert outbound == ["connect ('192.0.2.1', 9)"]


async def test_user_supplied_urls_are_never_fetched_by_the_server(
    connect: Any, alice: Any, upstream: Any, settings: Any, tmp_path: Any, outbound: list[str]
) -> None:
    settings.MEDIA_ROOT = tmp_path
    conversation = await Conversation.objects.acreate(
        owner=alice, model="gemini-3.5-flash", google_search=True, url_context=True
    )
    sock = await connect(alice)
    await sock.send(
        {
            "type": "send",
            "conversation": conversation.pk,
            "text": PROMPT,
            "media_urls": MEDIA_URLS,
        }
    )
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    final = await sock.until(is_final(created["turn"]["id"]))
    assert final["turn"]["status"] == "completed"

    # The links went upstream as they were, for the API to fetch.
    sent = creates(upstream)[-1]["json"]
    sent_uris = [item.get("uri") for item in sent["input"][-1]["content"] if "uri" in item]
    assert sent_uris == MEDIA_URLS
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    kinds = {step["type"] for step in turn.steps}
    assert {"url_context_call", "google_search_result"} <= kinds
    html = final["turn"]["html"]
    assert '<sup class="cite">' in html and "example.invalid" in html

    # Rendering the page, the sidebar, exports and a share link fetches nothing either.
    client = Client()
    await sync_to_async(client.force_login)(alice)
    for url in (
        f"/c/{conversation.pk}/",
        "/sidebar/?q=Summarize",
        f"/c/{conversation.pk}/export.md",
        f"/c/{conversation.pk}/export.json",
    ):
        response = await sync_to_async(client.get)(url)
        assert response.status_code == 200, url
    shared = await sync_to_async(client.post)(
        f"/c/{conversation.pk}/share", HTTP_ACCEPT="application/json"
    )
    assert shared.status_code == 201
    page = await sync_to_async(Client().get)(urlsplit(shared.json()["url"]).path)
    assert page.status_code == 200 and "example.invalid" in page.content.decode()

    assert outbound == [], "the server reached out to a user-supplied address"
