"""Each person's theme: stored in Preferences.theme and put on <html> by the server."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chatapp.preference_models import Preferences

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_chosen_theme_is_on_every_page(alice_client: Client, alice: Any) -> None:
    assert '<html lang="en" data-theme="system">' in alice_client.get("/").content.decode()
    answer = alice_client.post("/theme", {"theme": "dark"}, HTTP_ACCEPT="application/json")
    assert answer.json() == {"ok": True, "theme": "dark"}
    assert Preferences.of(alice).theme == "dark"
    for url in ("/", "/usage/", "/kb/"):
        page = alice_client.get(url).content.decode()
        assert 'data-theme="dark"' in page, url
        assert '<meta name="color-scheme" content="dark">' in page, url
    chat = alice_client.get("/").content.decode()
    assert '<option value="dark" selected>' in chat
    # Code blocks too: the dark highlighting applies whatever the system says.
    assert 'id="code-dark-css" media="all"' in chat
    alice_client.post("/theme", {"theme": "light"})
    assert 'id="code-dark-css" media="not all"' in alice_client.get("/").content.decode()


def test_unknown_themes_are_refused(alice_client: Client, alice: Any) -> None:
    assert alice_client.post("/theme", {"theme": "neon"}).status_code == 400
    assert Preferences.of(alice).theme == "system"


def test_without_script_the_form_goes_back_to_a_local_page(alice_client: Client) -> None:
    assert alice_client.post("/theme", {"theme": "light", "next": "/usage/"}).url == "/usage/"
    elsewhere = {"theme": "light", "next": "https://evil.example/"}
    assert alice_client.post("/theme", elsewhere).url == "/"


def test_anonymous_pages_follow_the_system(client: Client, alice: Any) -> None:
    assert 'data-theme="system"' in client.get("/login/").content.decode()
    assert client.post("/theme", {"theme": "dark"}).status_code == 302  # to sign in


def test_setting_the_theme_needs_csrf(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/theme", {"theme": "dark"}).status_code == 403
