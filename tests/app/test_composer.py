"""The composer: picker and chips rendered from the catalogue and CHIPS, the last model and
chips as a person's default for new chats, and what an answer used (tokens and cost)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chatapp import composer
from chatapp.answer_meter import dollars, meter
from chatapp.models import Conversation, McpServer, ModelPrice, Preferences, Turn
from chatapp.payloads import turn_payload

pytestmark = pytest.mark.django_db

USAGE = {
    "total_input_tokens": 1200,
    "total_output_tokens": 300,
    "total_thought_tokens": 100,
    "total_cached_tokens": 200,
    "total_tokens": 1600,
}


@pytest.fixture
def client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def chip_button(html: str, field: str) -> str:
    match = re.search(rf'<button[^>]*data-field="{field}"[^>]*>', html)
    assert match, f"no chip for {field}"
    return match.group(0)


def test_the_page_offers_models_by_kind_with_names_and_descriptions(client: Client) -> None:
    html = client.get("/").content.decode()
    assert 'role="listbox"' in html
    for group in ("Text models", "Image models", "Agents"):
        assert group in html
    assert "Gemini 3.1 Pro (preview)" in html and "Nano Banana Pro" in html
    assert "Fast and capable: the everyday model for most questions." in html
    assert 'data-model="gemini-3.1-flash-image" data-kind="image"' in html
    # The options are a labelled button, not a bare ⚙.
    assert re.search(r'id="settings-btn"[^>]*>.*?Options</button>', html, re.S)


def test_every_chip_comes_from_the_one_list_with_its_kinds_and_reason(client: Client) -> None:
    html = client.get("/").content.decode()
    for chip in composer.chips():
        button = chip_button(html, chip.field)
        assert 'aria-pressed="false"' in button
        assert f'data-kinds="{" ".join(sorted(chip.kinds))}"' in button
    assert "Agents choose their own tools." in chip_button(html, "google_search")
    assert [c.field for c in composer.CHIPS] == [
        "google_search",
        "google_maps",
        "url_context",
        "code_execution",
        "tools",
        "mcp_servers",
        "response_schema",
        "background",
    ]


def test_team_tools_chip_shows_only_when_the_team_has_tools(monkeypatch: Any) -> None:
    assert "tools" in [c.field for c in composer.chips()]  # the built-ins, at least
    monkeypatch.setattr(composer, "available_tools", list)
    assert "tools" not in [c.field for c in composer.chips()]


def test_the_mcp_chip_shows_only_when_servers_are_registered_and_enabled() -> None:
    assert "mcp_servers" not in [c.field for c in composer.chips()]
    server = McpServer.objects.create(name="calc", url="https://mcp.example/mcp")
    assert "mcp_servers" in [c.field for c in composer.chips()]
    server.enabled = False
    server.save()
    assert "mcp_servers" not in [c.field for c in composer.chips()]


def test_a_new_chat_keeps_only_mcp_servers_that_still_exist() -> None:
    user = User.objects.create_user("mona", password="pw-123456789")
    McpServer.objects.create(name="calc", url="https://mcp.example/mcp")
    preferences = Preferences.of(user)
    preferences.defaults = {"mcp_servers": ["calc", "gone"], "google_maps": True}
    preferences.save()
    chosen = composer.new_chat_settings(user)
    assert chosen["mcp_servers"] == ["calc"] and chosen["google_maps"] is True


def test_a_new_chat_starts_with_the_deployments_default_at_first(client: Client) -> None:
    html = client.get("/").content.decode()
    assert '<option value="gemini-3.5-flash" selected>' in html
    assert 'id="model-btn-name">Gemini 3.5 Flash<' in html


def test_saving_settings_makes_model_and_chips_the_next_new_chats_default(
    client: Client, alice: Any
) -> None:
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    form = {"model": "gemini-3.1-pro-preview", "google_search": "on", "background": "on"}
    assert client.post(f"/c/{conversation.pk}/settings", form).status_code == 200
    preferences = Preferences.of(alice)
    assert preferences.model == "gemini-3.1-pro-preview"
    assert preferences.defaults["google_search"] is True
    assert preferences.defaults["url_context"] is False

    html = client.get("/").content.decode()
    assert 'id="model-btn-name">Gemini 3.1 Pro (preview)<' in html
    assert 'aria-pressed="true"' in chip_button(html, "google_search")
    assert 'aria-pressed="true"' in chip_button(html, "background")
    assert 'aria-pressed="false"' in chip_button(html, "url_context")
    assert 'name="google_search" id="chip-field-google_search" tabindex="-1" checked' in html


def test_a_chat_created_by_its_first_message_takes_the_defaults(alice: Any) -> None:
    from chatapp.protocol import Send
    from chatapp.turns import send

    Preferences.objects.create(
        user=alice,
        model="gemini-2.5-flash",
        defaults={"code_execution": True, "tools": ["calculator", "gone"], "background": "yes"},
    )
    frame = Send(type="send", conversation=None, parent=None, text="hello")
    send(alice, frame, "worker-1")
    conversation = Conversation.objects.get(owner=alice)
    assert conversation.model == "gemini-2.5-flash"
    assert conversation.code_execution is True
    assert conversation.tools == ["calculator"]  # a tool no longer offered is dropped
    assert conversation.background is False  # not a boolean: ignored


def test_a_model_no_longer_offered_falls_back_to_the_default(alice: Any) -> None:
    Preferences.objects.create(user=alice, model="retired-model")
    assert composer.new_chat_settings(alice)["model"] == "gemini-3.5-flash"


def test_another_persons_defaults_are_not_mine(client: Client, alice: Any, bob: Any) -> None:
    Preferences.objects.create(user=bob, model="gemini-3-pro-image", defaults={"url_context": True})
    html = client.get("/").content.decode()
    assert 'id="model-btn-name">Gemini 3.5 Flash<' in html
    assert 'aria-pressed="false"' in chip_button(html, "url_context")


def test_meter_counts_tokens_by_kind_and_costs_them() -> None:
    shown = meter("gemini-3.5-flash", USAGE)
    assert shown is not None
    assert (shown["input"], shown["output"], shown["thinking"], shown["cached"]) == (
        1200,
        300,
        100,
        200,
    )
    assert shown["context"] == 1500  # what the next message carries: input and output
    # 1000 fresh in at 0.5, 200 cached at 0.05, 400 out (with thinking) at 3.0 per million.
    assert shown["cost"] == "$0.0017"
    assert meter("gemini-3.5-flash", None) is None
    assert meter("deep-research-preview-04-2026", USAGE)["cost"] == ""  # type: ignore[index]


def test_meter_uses_the_admins_prices() -> None:
    price = ModelPrice.objects.create(
        model="gemini-3.5-flash", input=Decimal(1000), output=Decimal(0), cached_input=Decimal(0)
    )
    try:
        assert meter("gemini-3.5-flash", USAGE)["cost"] == "$1.00"  # type: ignore[index]
    finally:
        price.delete()  # and the cached table with it, for the next tests


def test_dollars_stay_readable() -> None:
    assert dollars(Decimal(0)) == "$0"
    assert dollars(Decimal("0.00001")) == "< $0.0001"
    assert dollars(Decimal("0.01234")) == "$0.0123"
    assert dollars(Decimal("12.345")) == "$12.35"


def test_an_answer_shows_its_tokens_and_cost_under_it(alice: Any) -> None:
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    turn = Turn.objects.create(
        conversation=conversation,
        model="gemini-3.5-flash",
        user_input=[{"type": "text", "text": "hi"}],
        user_text="hi",
        status="completed",
        usage=USAGE,
    )
    html = turn_payload(turn)["html"]
    assert 'data-context-tokens="1500"' in html
    assert "1600 tokens" in html
    for part in ("in 1200", "out 300", "thinking 100", "cached 200", "$0.0017"):
        assert part in html
    # The answer names its model as people know it; the id stays as its tooltip.
    assert '<span class="model-name" title="gemini-3.5-flash">Gemini 3.5 Flash</span>' in html
