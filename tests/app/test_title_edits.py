"""Titles follow an edit of the first message until the person names the conversation;
"Regenerate title" hands the title back to the model; no directive ever reaches a title."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chatapp.models import Conversation
from chatapp.titles import cleaned, title_from

from ..reliability.helpers import is_final
from .test_consumers import start_chat


def test_directives_in_any_case_never_reach_a_title() -> None:
    assert title_from("[[SIM:slow]] Plan a [[sim:echo]]trip") == "Plan a trip"
    assert cleaned("[[Sim:fail]] Trip Ideas") == "Trip Ideas"


async def edit_first(
    sock: Any, turn_id: int, text: str, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Edit turn `turn_id`; the new turn's first frame (frames before it go in `seen`)."""
    await sock.send({"type": "edit", "turn": turn_id, "text": text})

    def new_turn(frame: dict[str, Any]) -> bool:
        if seen is not None:
            seen.append(frame)
        return bool(
            frame["type"] == "turn" and frame["seq"] == 0 and frame["turn"]["id"] != turn_id
        )

    edited: dict[str, Any] = await sock.until(new_turn)
    return edited


@pytest.mark.django_db(transaction=True)
async def test_an_edit_of_the_first_message_renames_until_renamed_by_hand(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    first = await start_chat(sock, "Plan a trip to Porto")
    pk = first["turn"]["conversation"]
    await sock.until(is_final(first["turn"]["id"]))

    seen: list[dict[str, Any]] = []
    edited = await edit_first(sock, first["turn"]["id"], "[[sim:slow]] Plan a trip to Lisbon", seen)
    renamed = [f["conversation"]["title"] for f in seen if f["type"] == "conversation"]
    assert renamed == ["Plan a trip to Lisbon"]
    assert (await Conversation.objects.aget(pk=pk)).title == "Plan a trip to Lisbon"
    await sock.until(is_final(edited["turn"]["id"]))

    # Named by hand: later edits keep the person's title.
    await Conversation.objects.filter(pk=pk).aupdate(title="My trip", title_by_hand=True)
    again = await edit_first(sock, edited["turn"]["id"], "Plan a trip to Faro")
    await sock.until(is_final(again["turn"]["id"]))
    assert (await Conversation.objects.aget(pk=pk)).title == "My trip"
    await sock.close()


@pytest.mark.django_db(transaction=True)
async def test_an_edit_of_a_later_message_keeps_the_title(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    first = await start_chat(sock, "Plan a trip to Porto")
    await sock.until(is_final(first["turn"]["id"]))
    pk = first["turn"]["conversation"]
    second = await start_chat(sock, "And the food?", pk, first["turn"]["id"])
    await sock.until(is_final(second["turn"]["id"]))
    edited = await edit_first(sock, second["turn"]["id"], "And the wine?")
    await sock.until(is_final(edited["turn"]["id"]))
    assert (await Conversation.objects.aget(pk=pk)).title == "Plan a trip to Porto"
    await sock.close()


@pytest.mark.django_db
def test_rename_is_by_hand_and_regenerate_title_gives_it_back(
    alice: Any, upstream: Any, settings: Any
) -> None:
    from chatapp.models import Turn

    settings.CHAT_TITLE_MODEL = "gemini-2.5-flash-lite"
    client = Client()
    client.force_login(alice)
    chat = Conversation.objects.create(owner=alice, title="please plan", model="m")
    Turn.objects.create(
        conversation=chat,
        model="m",
        status="completed",
        user_input=[{"type": "text", "text": "please plan a weekend trip to Lisbon"}],
        user_text="please plan a weekend trip to Lisbon",
        answer_text="Here is a plan.",
    )
    renamed = client.post(
        f"/c/{chat.pk}/rename", {"title": "Mine [[sim:fail]]"}, HTTP_ACCEPT="application/json"
    ).json()
    assert renamed["title"] == "Mine"
    chat.refresh_from_db()
    assert chat.title_by_hand
    written = client.post(f"/c/{chat.pk}/retitle", HTTP_ACCEPT="application/json").json()
    chat.refresh_from_db()
    assert written["title"] == chat.title == "Plan Weekend Trip Lisbon"
    assert not chat.title_by_hand and "sim:" not in chat.title
