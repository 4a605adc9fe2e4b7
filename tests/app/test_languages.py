"""Which language a person reads: the browser's, unless they chose one; the websocket and work
done without a request (a resumed or scheduled answer) follow the same choice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from chatapp import languages
from chatapp.asgi import application
from chatapp.models import Conversation, Preferences
from tests.app.conftest import session_cookie


def choose(user: Any, language: str) -> None:
    Preferences.objects.update_or_create(user=user, defaults={"language": language})


def test_the_sign_in_page_follows_the_browser(db: Any) -> None:
    spanish = Client(headers={"accept-language": "es-ES,es;q=0.9,en;q=0.5"})
    page = spanish.get("/login/").content.decode()
    assert '<html lang="es" ' in page and "Iniciar sesión" in page
    italian = Client(headers={"accept-language": "it"}).get("/login/").content.decode()
    assert '<html lang="it" ' in italian and "Nome utente" in italian
    other = Client(headers={"accept-language": "de-DE"}).get("/login/").content.decode()
    assert '<html lang="en" ' in other and "Sign in" in other


def test_a_persons_choice_wins_over_the_browser(alice: Any) -> None:
    client = Client(headers={"accept-language": "es"})
    client.force_login(alice)
    assert "Mi uso" in client.get("/usage/").content.decode()
    choose(alice, "it")
    page = client.get("/usage/")
    assert (
        '<html lang="it" ' in page.content.decode() and "Il mio utilizzo" in page.content.decode()
    )
    assert page["Content-Language"] == "it"
    choose(alice, "")  # follow the browser again
    assert "Mi uso" in client.get("/usage/").content.decode()


def test_the_chooser_keeps_the_choice_and_goes_back(alice: Any) -> None:
    client = Client(enforce_csrf_checks=False)
    client.force_login(alice)
    answer = client.post("/language", {"language": "es", "next": "/team/"})
    assert answer.status_code == 302 and answer["Location"] == "/team/"
    assert Preferences.of(alice).language == "es"
    # Somewhere else is not a place to go back to.
    answer = client.post("/language", {"language": "it", "next": "https://evil.example/"})
    assert answer["Location"] == "/usage/" and Preferences.of(alice).language == "it"
    assert client.post("/language", {"language": "fr"}).status_code == 400
    assert Preferences.of(alice).language == "it"
    assert client.get("/language").status_code == 405


def test_the_chooser_needs_a_signed_in_person_and_a_csrf_token(alice: Any) -> None:
    assert Client().post("/language", {"language": "es"}).status_code == 302  # to sign in
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(alice)
    assert guarded.post("/language", {"language": "es"}).status_code == 403


@pytest.mark.django_db(transaction=True)
async def test_work_without_a_request_speaks_its_owners_language(alice: Any) -> None:
    conversation = await Conversation.objects.acreate(owner=alice, title="", model="m")

    async def title() -> str:
        return str(gettext("New chat"))

    assert await languages.as_owner(conversation.pk, title()) == "New chat"
    await asyncio.to_thread(choose, alice, "it")
    assert await languages.as_owner(conversation.pk, title()) == "Nuova chat"
    # A socket's language (already the person's choice) is kept without asking again.
    with languages.speaking("es"):
        assert await languages.as_owner(conversation.pk, title()) == "Nuevo chat"
    assert translation.get_language() == "en"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("accept", "chosen", "expected"),
    [
        ("es-ES,es;q=0.9", "", "Ese mensaje no es JSON válido."),
        ("es-ES,es;q=0.9", "it", "Quel messaggio non è un JSON valido."),
        ("", "", "That frame is not valid JSON."),
    ],
)
async def test_socket_errors_speak_the_persons_language(
    alice: Any, accept: str, chosen: str, expected: str
) -> None:
    await asyncio.to_thread(choose, alice, chosen)
    cookie = await asyncio.to_thread(session_cookie, alice)
    headers = [
        (b"origin", b"http://127.0.0.1:8000"),
        (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"sessionid={cookie}".encode()),
        (b"accept-language", accept.encode()),
    ]
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    try:
        await communicator.send_to(text_data="{not json")
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "error" and frame["message"] == expected
    finally:
        await communicator.disconnect()
