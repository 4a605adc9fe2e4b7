"""Security headers (chatapp.headers): the Content-Security-Policy with a fresh nonce on every
page, signed-in pages never cached, Referrer-Policy and Permissions-Policy. The browser side,
every page working under the policy in Chromium, is tests/e2e/test_csp.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.test import Client, RequestFactory

from chatapp.headers import SecurityHeadersMiddleware
from chatapp.models import Attachment, Conversation
from tests.security.test_generated_media import png

pytestmark = pytest.mark.django_db


def directives(response: Any) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def nonce(response: Any) -> str:
    match = re.fullmatch(r"'self' 'nonce-([\w-]{20,})'", directives(response)["script-src"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_pages_carry_the_policy(client: Client, alice: Any, alice_client: Client) -> None:
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", password="pw-root-123"))
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    pages = [
        client.get("/login/"),
        client.get("/admin/login/"),
        client.get("/signup/"),  # closed: a 404 page
        client.get("/no-such-page/"),
        alice_client.get("/"),
        alice_client.get(f"/c/{conversation.pk}/"),
        alice_client.get("/sidebar/"),
        alice_client.get("/password/"),
        staff.get("/admin/"),
        staff.get("/admin/usage/"),
    ]
    for response in pages:
        found = directives(response)
        assert found == {
            "default-src": "'self'",
            "script-src": f"'self' 'nonce-{nonce(response)}'",
            "style-src": "'self' 'unsafe-inline'",
            "img-src": "'self' data: blob:",
            "media-src": "'self' blob:",
            "font-src": "'self'",
            "connect-src": "'self' ws://testserver",
            "frame-src": "'self'",
            "worker-src": "'none'",
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        }, response.request["PATH_INFO"]
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]
        assert "microphone=()" in response["Permissions-Policy"]
    assert len({nonce(response) for response in pages}) == len(pages)


def test_a_refused_form_post_carries_the_policy_too(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    refused = client.post("/c/new", {"model": "gemini-3.5-flash"})
    assert refused.status_code == 403 and nonce(refused)
    assert refused["Cache-Control"] == "private, no-store"


def test_behind_the_tls_proxy_the_socket_is_wss(client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    response = client.get("/login/", HTTP_HOST="chat.example.com", HTTP_X_FORWARDED_PROTO="https")
    assert directives(response)["connect-src"] == "'self' wss://chat.example.com"


def test_signed_in_pages_are_never_cached(client: Client, alice: Any, alice_client: Client) -> None:
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    for url in ("/", f"/c/{conversation.pk}/", "/sidebar/", f"/c/{conversation.pk}/export.json"):
        assert alice_client.get(url)["Cache-Control"] == "private, no-store", url
    # Signed out: the sign-in page keeps Django's own never-cache header; a probe says nothing.
    assert "no-store" in client.get("/login/")["Cache-Control"]
    assert not client.get("/healthz").has_header("Cache-Control")


def test_a_response_with_its_own_policy_keeps_it(
    alice: Any, alice_client: Client, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    attachment = Attachment(
        owner=alice, kind="image", mime_type="image/png", extension=".png", size=1, name="a.png"
    )
    attachment.file.save("upload.png", ContentFile(png()), save=True)
    served = alice_client.get(f"/files/{attachment.uuid}")
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served["Cache-Control"] == "private, max-age=3600"


def test_templates_can_use_the_nonce() -> None:
    template = engines["django"].from_string(
        '<script nonce="{{ request.csp_nonce }}">start()</script>'
    )

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(template.render({}, request))

    response = SecurityHeadersMiddleware(view)(RequestFactory().get("/"))
    assert f'<script nonce="{nonce(response)}">' in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_only_djangos_debug_error_page_goes_without(debug: bool, settings: Any) -> None:
    settings.DEBUG = debug
    middleware = SecurityHeadersMiddleware(lambda request: HttpResponse(status=500))
    response = middleware(RequestFactory().get("/"))
    # Django's technical 500 page runs inline scripts; it only ever shows with DEBUG on.
    assert response.has_header("Content-Security-Policy") is not debug
