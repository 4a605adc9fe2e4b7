"""Every quickstart capability through the chat: relay and websocket against the simulator."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from PIL import Image

from chatapp import tools
from chatapp.models import Attachment, Conversation, Turn

from .test_consumers import start_chat

pytestmark = pytest.mark.django_db(transaction=True)


def creates(simulator: Any) -> list[dict[str, Any]]:
    return [
        r["json"]
        for r in simulator.app.requests
        if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]


async def conversation(owner: Any, **fields: Any) -> Conversation:
    return await Conversation.objects.acreate(
        owner=owner, model=fields.pop("model", "gemini-3.5-flash"), **fields
    )


async def test_google_search_shows_citations_sources_and_sandboxed_suggestions(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conv = await conversation(alice, google_search=True)
    sock = await connect(alice)
    await start_chat(sock, "Who won the euro 2024?", conv.pk)
    final = await sock.until_final()
    assert creates(upstream)[-1]["tools"] == [{"type": "google_search"}]
    html = final["turn"]["html"]
    assert '<sup class="cite">' in html and 'class="sources"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    # The suggestions snippet goes into a sandboxed iframe, never into the page itself.
    assert '<iframe class="search-suggestions" sandbox="allow-popups' in html
    assert 'srcdoc="&lt;' in html
    page_without_iframes = html.split("<iframe")[0] + html.split("</iframe>")[-1]
    assert "<style" not in page_without_iframes


async def test_function_tools_run_in_a_loop_with_cards(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.CHAT_TOOLS = ["tests.app.relay_tools.lookup_city"]
    tools.registry.cache_clear()
    conv = await conversation(alice, tools=["lookup_city"])
    sock = await connect(alice)
    created = await start_chat(sock, "Tell me about London", conv.pk)
    final = await sock.until_final()
    tools.registry.cache_clear()
    assert final["turn"]["status"] == "completed"
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    kinds = [s["type"] for s in turn.steps]
    assert "function_call" in kinds and "function_result" in kinds and kinds[-1] == "model_output"
    call = next(s for s in turn.steps if s["type"] == "function_call")
    assert call["name"] == "lookup_city" and call["arguments"] == {"city": "London"}
    sent = creates(upstream)
    assert sent[0]["tools"][0]["name"] == "lookup_city"
    assert sent[0]["tools"][0]["parameters"]["properties"]["city"]["type"] == "string"
    assert sent[1]["previous_interaction_id"] and sent[1]["input"][0]["type"] == "function_result"
    assert "8.9" in turn.answer_text
    assert final["turn"]["html"].count('class="tool-card') >= 2
    # The cards were streamed as steps while the loop ran.
    streamed = [f for f in sock.frames if f["type"] == "step" and "tool-card" in f["html"]]
    assert len(streamed) >= 2


async def test_a_tool_that_raises_sends_its_error_back(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.CHAT_TOOLS = ["tests.app.relay_tools.broken_tool"]
    tools.registry.cache_clear()
    conv = await conversation(alice, tools=["broken_tool"])
    sock = await connect(alice)
    created = await start_chat(sock, "Check Paris", conv.pk)
    final = await sock.until_final()
    tools.registry.cache_clear()
    assert final["turn"]["status"] == "completed"
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    result = next(s for s in turn.steps if s["type"] == "function_result")
    assert result["is_error"] is True and "service is down" in str(result["result"])


async def test_a_tool_loop_is_capped(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.TOOL_MAX_ROUNDS = 0
    conv = await conversation(alice, tools=["calculator"])
    sock = await connect(alice)
    await start_chat(sock, "What is 6 * 7?", conv.pk)
    final = await sock.until_final()
    assert final["turn"]["status"] == "failed"
    assert final["turn"]["error"]["code"] == "tool_rounds"


async def test_generated_images_are_files_and_edits_send_them_back(
    connect: Any, alice: Any, upstream: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    conv = await conversation(alice, model="gemini-3.1-flash-image", stateless=True)
    sock = await connect(alice)
    created = await start_chat(sock, "A city skyline at sunset", conv.pk)
    final = await sock.until_final()
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    image = next(i for s in turn.steps for i in s.get("content") or [] if i["type"] == "image")
    assert "data" not in image and image["attachment"]
    assert "iVBOR" not in str(turn.steps)  # no base64 PNG in the database
    attachment = await Attachment.objects.aget(uuid=image["attachment"])
    assert attachment.generated and attachment.owner_id == alice.pk
    assert f'src="/files/{image["attachment"]}"' in final["turn"]["html"]
    client = Client()
    await sync_to_async(client.force_login)(alice)
    response = await sync_to_async(client.get)(f"/files/{image['attachment']}")
    png = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(png)).format == "PNG"

    await start_chat(sock, "make the sky purple", conv.pk, turn.pk)
    await sock.until_final()
    replayed = creates(upstream)[-1]["input"]
    output = next(s for s in replayed if s["type"] == "model_output")
    sent_image = next(i for i in output["content"] if i["type"] == "image")
    assert base64.b64decode(sent_image["data"]) == png and "attachment" not in sent_image


async def test_structured_answers_are_checked_against_the_schema(
    connect: Any, alice: Any, upstream: Any
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "recipe_name": {"type": "string"},
            "ingredients": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["recipe_name", "ingredients"],
    }
    conv = await conversation(alice, response_schema=schema)
    sock = await connect(alice)
    await start_chat(sock, "Banana bread", conv.pk)
    final = await sock.until_final()
    assert creates(upstream)[-1]["response_format"] == {
        "type": "text",
        "mime_type": "application/json",
        "schema": schema,
    }
    assert final["turn"]["structured"] == {"valid": True, "errors": []}
    assert 'class="highlight json"' in final["turn"]["html"]
    assert "does not match" not in final["turn"]["html"]

    strict = {
        **schema,
        "properties": {
            **schema["properties"],
            "recipe_name": {"type": "string", "pattern": "^Z{40}$"},
        },
    }
    await Conversation.objects.filter(pk=conv.pk).aupdate(response_schema=strict)
    await start_chat(sock, "Another one", conv.pk, final["turn"]["id"])
    final = await sock.until_final()
    assert final["turn"]["structured"]["valid"] is False
    assert "does not match the conversation's JSON schema" in final["turn"]["html"]


async def test_agents_run_remotely_and_reuse_their_environment(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conv = await conversation(alice, model="antigravity-preview-05-2026")
    sock = await connect(alice)
    first = await start_chat(sock, "Write fibonacci.py and run it", conv.pk)
    final = await sock.until_final()
    assert 'class="tool-card' in final["turn"]["html"]
    await conv.arefresh_from_db()
    assert conv.environment_id.startswith("env_")
    await start_chat(sock, "Now print it again", conv.pk, first["turn"]["id"])
    await sock.until_final()
    sent = creates(upstream)
    assert sent[0]["agent"] == "antigravity-preview-05-2026" and sent[0]["environment"] == "remote"
    assert sent[1]["environment"] == conv.environment_id


async def test_background_answers_finish_and_notify(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.BACKGROUND_POLL_SECONDS = 0.1
    conv = await conversation(alice, background=True, title="Long report")
    sock = await connect(alice)
    created = await start_chat(sock, "Write a detailed analysis", conv.pk)
    note = await sock.until(lambda f: f["type"] == "notify", timeout=15)
    assert note == {
        "type": "notify",
        "conversation": conv.pk,
        "title": "Long report",
        "status": "completed",
        "url": f"/c/{conv.pk}/",
    }
    assert creates(upstream)[0]["background"] is True
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert turn.status == "completed" and turn.answer_text
    # The sidebar keeps a badge until the conversation is opened.
    client = Client()
    await sync_to_async(client.force_login)(alice)
    sidebar = (await sync_to_async(client.get)("/sidebar/")).content.decode()
    assert "has-news" in sidebar and "(new answer)" in sidebar
    await sync_to_async(client.get)(f"/c/{conv.pk}/")
    sidebar = (await sync_to_async(client.get)("/sidebar/")).content.decode()
    assert "has-news" not in sidebar


async def upload(user: Any, name: str, data: bytes) -> dict[str, Any]:
    client = Client()
    await sync_to_async(client.force_login)(user)
    response = await sync_to_async(client.post)("/upload", {"file": io_file(name, data)})
    assert response.status_code == 201, response.content
    return response.json()


def io_file(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_attachments_go_upstream_as_data_and_urls_as_uris(
    connect: Any, alice: Any, bob: Any, upstream: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    png = png_bytes()
    mine = await upload(alice, "photo.png", png)
    theirs = await upload(bob, "secret.png", png)
    sock = await connect(alice)
    await sock.send({"type": "send", "text": "What is this?", "attachments": [theirs["id"]]})
    error = await sock.until(lambda f: f["type"] == "error")
    assert error["code"] == "attachment"
    await sock.send({"type": "send", "text": "Listen", "media_urls": ["javascript:alert(1)"]})
    assert (await sock.until(lambda f: f["type"] == "error"))["code"] == "attachment"

    await sock.send(
        {
            "type": "send",
            "text": "What is this?",
            "attachments": [mine["id"]],
            "media_urls": ["https://example.com/sample.mp3"],
        }
    )
    final = await sock.until_final()
    content = creates(upstream)[-1]["input"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["type"] == "image" and base64.b64decode(content[1]["data"]) == png
    assert content[2] == {
        "type": "audio",
        "uri": "https://example.com/sample.mp3",
        "mime_type": "audio/mp3",
    }
    assert "image/png" in final["turn"]["html"] and str(len(png)) in final["turn"]["html"]
    assert f'src="/files/{mine["id"]}"' in final["turn"]["html"]
    attachment = await Attachment.objects.aget(uuid=mine["id"])
    assert attachment.turn_id == final["turn"]["id"]
    # An attachment already sent cannot be attached again.
    await sock.send(
        {
            "type": "send",
            "text": "again",
            "attachments": [mine["id"]],
            "conversation": final["turn"]["conversation"],
            "parent": final["turn"]["id"],
        }
    )
    assert (await sock.until(lambda f: f["type"] == "error"))["code"] == "attachment"


async def test_an_agent_stream_without_its_environment_learns_it_once_at_the_end(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interactions_client.simulator import engine

    original = engine.Engine._final_head

    def without_environment(self: Any, record: Any) -> Any:
        head = original(self, record)
        head.pop("environment_id", None)  # as some transcripts of the real API do
        return head

    monkeypatch.setattr(engine.Engine, "_final_head", without_environment)
    conv = await conversation(alice, model="antigravity-preview-05-2026")
    sock = await connect(alice)
    first = await start_chat(sock, "Write fibonacci.py and run it", conv.pk)
    await sock.until_final()
    await conv.arefresh_from_db()
    assert conv.environment_id.startswith("env_"), "fetched from the interaction at the end"
    gets = [r for r in upstream.app.requests if r["method"] == "GET"]
    assert len(gets) == 1
    await start_chat(sock, "Now print it again", conv.pk, first["turn"]["id"])
    await sock.until_final()
    assert creates(upstream)[1]["environment"] == conv.environment_id
