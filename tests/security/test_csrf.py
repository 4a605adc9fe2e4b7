"""CSRF is enforced on every POST endpoint: each URL of chatapp/urls.py (enumerated from the
URLconf itself, so a new endpoint is covered the day it is added) and every admin page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.urls.converters import IntConverter, PathConverter, StringConverter, UUIDConverter
from django.urls.resolvers import RoutePattern
from PIL import Image

from chatapp import share_links, urls
from chatapp.models import Conversation, Turn
from chatapp.uploads import store_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def things(alice: Any) -> dict[str, Any]:
    """Real objects of alice's, so each URL reaches a view that would act on them."""
    alice.is_staff = alice.is_superuser = True
    alice.save()
    conversation = Conversation.objects.create(owner=alice, title="t", model="gemini-3.5-flash")
    turn = Turn.objects.create(
        conversation=conversation, model="gemini-3.5-flash", user_text="hi", status="completed"
    )
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    upload = store_upload(alice, SimpleUploadedFile("a.png", out.getvalue(), "image/png"))
    link = share_links.create_link(alice, conversation, turn.pk)
    return {"pk": conversation.pk, "turn": turn, "uuid": upload.uuid, "token": link.token}


def fill(route: str, things: dict[str, Any], converters: dict[str, Any]) -> str:
    """A concrete path for a route such as "c/<int:pk>/<str:action>"."""
    values = {
        "pk": things["pk"],
        "action": "rename",
        "token": things["token"],
        "kind": "person",  # the team admin's limits
        "group_pk": things["pk"],
    }
    for name, converter in converters.items():
        if isinstance(converter, UUIDConverter):
            values[name] = things["uuid"]
        elif isinstance(converter, IntConverter | StringConverter | PathConverter):
            assert name in values, f"no test value for <{name}> in {route!r}: add one"
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def chat_urls(things: dict[str, Any]) -> list[str]:
    found = []
    for entry in urls.urlpatterns:
        if isinstance(entry, URLResolver):
            continue  # admin/: below, from the admin's own registry
        assert isinstance(entry, URLPattern) and isinstance(entry.pattern, RoutePattern)
        found.append(fill(str(entry.pattern), things, entry.pattern.converters))
    return found


def admin_urls(things: dict[str, Any]) -> list[str]:
    found = [reverse(f"admin:{name}") for name in ("index", "login", "logout", "password_change")]
    for model in admin.site._registry:
        meta = model._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        found.append(reverse(f"{prefix}_changelist"))
        found.append(reverse(f"{prefix}_add"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            for view in ("change", "delete", "history"):
                found.append(reverse(f"{prefix}_{view}", args=[obj.pk]))
    return found


# Signed by their sender instead (no session, no cookie): an unsigned POST does nothing
# (tests/app/test_gemini_webhooks.py proves the signature check).
SIGNED = {"/hooks/gemini/"}


def test_every_post_endpoint_refuses_a_request_without_a_csrf_token(
    alice: Any, things: dict[str, Any]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    endpoints = chat_urls(things) + admin_urls(things)
    assert {f"/c/{things['pk']}/rename", "/upload", "/import", "/c/new"} <= set(endpoints)
    assert f"/admin/chatapp/conversation/{things['pk']}/delete/" in endpoints
    accepted = []
    for url in endpoints:
        data: dict[str, Any] = {"title": "x", "model": "gemini-3.5-flash"}
        if url in ("/upload", "/import"):
            data = {"file": SimpleUploadedFile("f.json", b"{}", "application/json")}
        response = client.post(url, data)
        if url in SIGNED:
            assert response.status_code in (400, 404), url
            continue
        if response.status_code != 403:
            accepted.append((url, response.status_code))
    assert accepted == [], "POST endpoints that ran without a CSRF token"
    conversation = Conversation.objects.get(pk=things["pk"])
    assert conversation.title == "t", "nothing was changed"


def test_anonymous_posts_need_a_csrf_token_too(db: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    for url in ("/login/", "/setup/", "/signup/", "/logout/", "/admin/login/"):
        response = client.post(url, {"username": "x", "password": "y"})
        assert response.status_code == 403, url


def test_a_token_from_the_page_makes_the_same_post_work(alice: Any, things: dict[str, Any]) -> None:
    """The refusals above are the CSRF check, not something else failing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(f"/c/{things['pk']}/")
    token = client.cookies["csrftoken"].value
    assert page.status_code == 200
    response = client.post(
        f"/c/{things['pk']}/rename",
        {"title": "renamed"},
        HTTP_X_CSRFTOKEN=token,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert Conversation.objects.get(pk=things["pk"]).title == "renamed"
    # A wrong token is refused.
    other = Client(enforce_csrf_checks=True)
    other.force_login(alice)
    other.get("/")
    response = other.post(f"/c/{things['pk']}/pin", HTTP_X_CSRFTOKEN="x" * 64)
    assert response.status_code == 403
