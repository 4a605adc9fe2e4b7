from __future__ import annotations

import asyncio

import pytest

from chatapp.titles import MAX_TITLE, title_from


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("What is 12*7? Use the calculator", "What is 12*7? Use the calculator"),
        ("\n\n# Plan a trip\nwith details", "Plan a trip"),
        ("> quoted `code` here", "quoted code here"),
        ("- a bullet", "a bullet"),
        ("   ", "New chat"),
    ],
)
def test_titles_come_from_the_first_line(message: str, title: str) -> None:
    assert title_from(message) == title


def test_long_titles_are_cut_at_a_word() -> None:
    title = title_from("word " * 40)
    assert len(title) <= MAX_TITLE + 1 and title.endswith("…") and not title.endswith(" …")


# --- titles written by the title model ---

from typing import Any  # noqa: E402

from chatapp.models import Conversation  # noqa: E402
from chatapp.titles import cleaned  # noqa: E402

from ..reliability.helpers import is_final  # noqa: E402
from .test_consumers import start_chat  # noqa: E402


@pytest.mark.parametrize(
    ("reply", "title"),
    [
        ('"Weekend Trip to Lisbon"', "Weekend Trip to Lisbon"),
        ("Title: **Budget Planning**.\nAnything else?", "Budget Planning"),
        ("# Recipe Ideas [[sim:slow]]", "Recipe Ideas"),
        ("   \n", ""),
    ],
)
def test_a_model_reply_becomes_a_clean_title(reply: str, title: str) -> None:
    assert cleaned(reply) == title


def test_directives_never_reach_a_title() -> None:
    assert title_from("[[sim:slow]] Plan a trip") == "Plan a trip"


@pytest.mark.django_db(transaction=True)
async def test_the_first_answer_gets_a_title_written_by_the_title_model(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.CHAT_TITLE_MODEL = "gemini-2.5-flash-lite"
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:slow]] please plan a weekend trip to Lisbon")
    conversation = created["turn"]["conversation"]
    assert "sim:" not in (await Conversation.objects.aget(pk=conversation)).title
    await sock.until(is_final(created["turn"]["id"]))
    renamed = await sock.until(
        lambda f: f["type"] == "conversation" and f["conversation"]["title"] != "please plan"
    )
    assert renamed["conversation"]["title"] == "Plan Weekend Trip Lisbon"
    assert (await Conversation.objects.aget(pk=conversation)).title == "Plan Weekend Trip Lisbon"
    asked = [
        r
        for r in upstream.app.requests
        if (r.get("json") or {}).get("model") == settings.CHAT_TITLE_MODEL
    ]
    assert len(asked) == 1
    body = asked[0]["json"]
    assert body["store"] is False and "title" in body["system_instruction"]
    assert "[[sim:" not in str(body["input"])


@pytest.mark.django_db(transaction=True)
async def test_a_title_the_person_set_is_never_overwritten(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.CHAT_TITLE_MODEL = "gemini-2.5-flash-lite"
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:slow]] a question worth a title")
    conversation = created["turn"]["conversation"]
    await Conversation.objects.filter(pk=conversation).aupdate(title="Mine")
    await sock.until(is_final(created["turn"]["id"]))
    await asyncio.sleep(0.5)  # the title model has answered by now
    assert (await Conversation.objects.aget(pk=conversation)).title == "Mine"


@pytest.mark.django_db(transaction=True)
def test_a_person_can_ask_for_a_new_title(alice: Any, upstream: Any, settings: Any) -> None:
    from django.test import Client

    from chatapp.models import Turn

    alice_client = Client()
    alice_client.force_login(alice)
    settings.CHAT_TITLE_MODEL = "gemini-2.5-flash-lite"
    conversation = Conversation.objects.create(owner=alice, title="old one", model="m")
    Turn.objects.create(
        conversation=conversation,
        model="m",
        user_text="Compare the night trains from Vienna to Rome",
        answer_text="Here are the trains.",
        status="completed",
    )
    answer = alice_client.post(
        f"/c/{conversation.pk}/retitle", HTTP_ACCEPT="application/json"
    ).json()
    assert answer["title"] == "Compare Night Trains From Vienna"
    conversation.refresh_from_db()
    assert conversation.title == "Compare Night Trains From Vienna"
