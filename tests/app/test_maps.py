"""Google Maps grounding (a conversation switch; the person's location only with the message
it came with, never stored), its places and attribution, the widget frame, and URL context
cards with each URL's retrieval status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from chatapp.history import settings_fields
from chatapp.models import Conversation, Turn
from chatapp.rendering import render_steps

from .test_capabilities import creates
from .test_consumers import start_chat

TOKEN = "widgetcontent/AbC_123-xyz"


def maps_tool(request: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in request.get("tools", []) if t["type"] == "google_maps")


@pytest.mark.django_db
def test_the_switch_sends_the_maps_tool_with_a_widget_only_when_a_key_is_set(
    alice: Any, settings: Any
) -> None:
    conversation = Conversation.objects.create(
        owner=alice, model="gemini-3.5-flash", google_search=True, google_maps=True
    )
    settings.GOOGLE_MAPS_WIDGET_KEY = ""
    assert settings_fields(conversation)["tools"] == [
        {"type": "google_search"},
        {"type": "google_maps"},
    ]
    settings.GOOGLE_MAPS_WIDGET_KEY = "browser-key"
    assert maps_tool(settings_fields(conversation)) == {
        "type": "google_maps",
        "enable_widget": True,
    }


@pytest.mark.django_db(transaction=True)
async def test_the_location_goes_with_its_message_only_and_is_not_stored(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conv = await Conversation.objects.acreate(
        owner=alice, model="gemini-3.5-flash", google_maps=True
    )
    sock = await connect(alice)
    await sock.send(
        {
            "type": "send",
            "conversation": conv.pk,
            "parent": None,
            "text": "coffee near me",
            "location": {"latitude": 45.4642, "longitude": 9.19},
        }
    )
    first = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    final = await sock.until_final(first["turn"]["id"])
    assert maps_tool(creates(upstream)[-1]) == {
        "type": "google_maps",
        "latitude": 45.4642,
        "longitude": 9.19,
    }
    turn = await Turn.objects.aget(pk=first["turn"]["id"])
    assert "45.4642" not in json.dumps(turn.user_input)
    kinds = [s["type"] for s in turn.steps]
    assert "google_maps_call" in kinds and "google_maps_result" in kinds
    html = final["turn"]["html"]
    assert "data-maps-places" in html and "Google Maps" in html
    assert 'href="https://maps.google.com/?cid=' in html
    # The next message, sent without a location, goes without one.
    await start_chat(sock, "and a bookshop?", conv.pk, first["turn"]["id"])
    await sock.until_final()
    assert "latitude" not in maps_tool(creates(upstream)[-1])


@pytest.mark.django_db(transaction=True)
async def test_a_location_out_of_range_is_refused(connect: Any, alice: Any) -> None:
    sock = await connect(alice)
    await sock.send(
        {
            "type": "send",
            "text": "hi",
            "client_id": "c1",
            "location": {"latitude": 123, "longitude": 9},
        }
    )
    error = await sock.until(lambda f: f["type"] == "error")
    assert error["client_id"] == "c1" and "location" in error["message"]
    assert not await Turn.objects.aexists()


MAPS_STEPS = [
    {"type": "google_maps_call", "id": "m1", "arguments": {"queries": ["coffee"]}},
    {
        "type": "google_maps_result",
        "call_id": "m1",
        "result": [
            {
                "places": [
                    {"name": "Café <b>Aurora</b>", "url": "https://maps.google.com/?cid=1"},
                    {"name": "Trap", "url": "javascript:alert(1)"},
                ],
                "widget_context_token": TOKEN,
            }
        ],
    },
    {
        "type": "model_output",
        "content": [
            {
                "type": "text",
                "text": "Try Café Aurora.",
                "annotations": [
                    {
                        "type": "place_citation",
                        "name": "Café Aurora",
                        "url": "https://maps.google.com/?cid=1",
                        "start_index": 4,
                        "end_index": 16,
                    }
                ],
            }
        ],
    },
]


def rendered(steps: list[dict[str, Any]]) -> str:
    from chatapp.payloads import render_step

    return render_step({"index": 0, "type": "x", "parts": render_steps(steps)})


def test_places_are_escaped_linked_safely_and_credited_to_google_maps(settings: Any) -> None:
    settings.GOOGLE_MAPS_WIDGET_KEY = ""
    html = rendered(MAPS_STEPS)
    assert "Café &lt;b&gt;Aurora&lt;/b&gt;" in html and "<b>Aurora" not in html
    assert 'href="https://maps.google.com/?cid=1"' in html
    assert "javascript:" not in html
    assert html.count("Google Maps") >= 2  # under the places, and under the cited sources
    assert "Searched Google Maps for:" in html and "maps-widget" not in html


def test_the_widget_is_a_sandboxed_frame_only_with_a_browser_key(settings: Any) -> None:
    settings.GOOGLE_MAPS_WIDGET_KEY = "browser-key"
    html = rendered(MAPS_STEPS)
    assert 'class="maps-widget" sandbox="allow-scripts allow-popups' in html
    assert "allow-same-origin" not in html
    assert "/maps/widget?token=widgetcontent/AbC_123-xyz" in html.replace("%2F", "/")
    assert "browser-key" not in html


@pytest.mark.django_db
def test_the_widget_page_exists_only_with_a_key_and_has_its_own_policy(settings: Any) -> None:
    client = Client()
    settings.GOOGLE_MAPS_WIDGET_KEY = ""
    assert client.get("/maps/widget", {"token": TOKEN}).status_code == 404
    settings.GOOGLE_MAPS_WIDGET_KEY = "browser-key"
    assert client.get("/maps/widget", {"token": 'x" onload="alert(1)'}).status_code == 404
    page = client.get("/maps/widget", {"token": TOKEN})
    assert page.status_code == 200
    assert f'context-token="{TOKEN}"' in page.content.decode()
    policy = page["Content-Security-Policy"]
    assert "https://maps.googleapis.com" in policy and "frame-ancestors 'self'" in policy
    assert page["X-Frame-Options"] == "SAMEORIGIN"


def test_url_context_cards_list_each_url_with_its_status() -> None:
    html = rendered(
        [
            {
                "type": "url_context_call",
                "id": "u1",
                "arguments": {"urls": ["https://example.com/a", "https://example.com/b"]},
            },
            {
                "type": "url_context_result",
                "call_id": "u1",
                "result": [
                    {"url": "https://example.com/a", "status": "success"},
                    {"url": "https://example.com/b", "status": "paywall"},
                    {"url": "javascript:alert(1)", "status": "error"},
                ],
            },
        ]
    )
    assert html.count("https://example.com/a") >= 2
    assert "retrieved" in html and "behind a paywall" in html and "could not be retrieved" in html
    assert 'href="javascript:' not in html
