"""Remote MCP servers: registered by team admins on /team/mcp/ (headers write-only), switched
on per conversation, sent upstream as `mcp_server` tools, and their call/result steps shown as
cards, through the simulator calling a tiny MCP server on loopback."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from chatapp.history import settings_fields
from chatapp.models import AuditEvent, Conversation, McpServer, Turn
from tests.client.mcp_server import McpBehaviour, serve_mcp

from .test_consumers import start_chat

SECRET = "s3cret-mcp-token-7f1c"
User = get_user_model()


@pytest.fixture
def boss(db: Any) -> Any:
    return User.objects.create_user("boss", password="pw-boss-123", is_staff=True)


@pytest.fixture
def admin_client(boss: Any) -> Client:
    client = Client()
    client.force_login(boss)
    return client


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def add(client: Client, **fields: Any) -> Any:
    data = {"name": "tools", "url": "https://mcp.example.com/mcp", "enabled": "on", **fields}
    return client.post("/team/mcp/add", data)


@pytest.mark.django_db
def test_only_staff_reach_and_change_the_mcp_page(alice: Any, admin_client: Client) -> None:
    assert Client().get("/team/mcp/").status_code == 302
    person = client_of(alice)
    assert person.get("/team/mcp/").status_code == 403
    assert add(person).status_code == 403
    server = McpServer.objects.create(name="keep", url="https://mcp.example.com/")
    assert person.post(f"/team/mcp/{server.pk}/", {"name": "x"}).status_code == 403
    assert person.post(f"/team/mcp/{server.pk}/delete").status_code == 403
    assert McpServer.objects.filter(name="keep").exists()
    assert not McpServer.objects.filter(name="tools").exists()
    page = admin_client.get("/team/mcp/")
    assert page.status_code == 200 and b'href="/team/mcp/"' in page.content
    assert add(admin_client).status_code == 302
    assert McpServer.objects.filter(name="tools").exists()


@pytest.mark.django_db
def test_headers_are_kept_on_the_server_and_never_shown(admin_client: Client) -> None:
    response = add(
        admin_client,
        headers=f"Authorization: Bearer {SECRET}\nX-Team: blue",
        allowed_tools="add, city_weather",
    )
    assert response.status_code == 302
    server = McpServer.objects.get(name="tools")
    assert server.headers == {"Authorization": f"Bearer {SECRET}", "X-Team": "blue"}
    assert server.allowed_tools == ["add", "city_weather"]
    listing = admin_client.get("/team/mcp/").content.decode()
    edit = admin_client.get(f"/team/mcp/{server.pk}/").content.decode()
    assert "set" in listing and SECRET not in listing and SECRET not in edit
    assert "Headers are set" in edit
    # Blank keeps them; an error elsewhere does not echo newly typed ones back.
    admin_client.post(f"/team/mcp/{server.pk}/", {"name": "tools", "url": server.url})
    server.refresh_from_db()
    assert server.headers["Authorization"] == f"Bearer {SECRET}" and not server.enabled
    bad = admin_client.post(
        f"/team/mcp/{server.pk}/", {"name": "tools", "url": "ftp://x", "headers": "A: other-9q"}
    )
    assert bad.status_code == 400 and b"other-9q" not in bad.content
    admin_client.post(
        f"/team/mcp/{server.pk}/", {"name": "tools", "url": server.url, "headers": "A: b"}
    )
    server.refresh_from_db()
    assert server.headers == {"A": "b"}
    admin_client.post(
        f"/team/mcp/{server.pk}/", {"name": "tools", "url": server.url, "clear_headers": "on"}
    )
    server.refresh_from_db()
    assert server.headers == {}
    events = AuditEvent.objects.filter(action__startswith="team.mcp.")
    assert {e.action for e in events} == {"team.mcp.add", "team.mcp.change"}
    assert all(SECRET not in json.dumps(e.details) for e in events)
    admin_client.post(f"/team/mcp/{server.pk}/delete")
    assert not McpServer.objects.exists()
    assert AuditEvent.objects.filter(action="team.mcp.delete", target="tools").exists()


@pytest.mark.django_db
def test_urls_are_https_or_loopback_http_in_development(
    admin_client: Client, settings: Any
) -> None:
    assert add(admin_client, url="http://mcp.example.com/mcp").status_code == 400
    assert add(admin_client, name="bad", headers="no colon here").status_code == 400
    settings.MCP_ALLOW_LOOPBACK_HTTP = False
    assert add(admin_client, url="http://127.0.0.1:9/mcp").status_code == 400
    settings.MCP_ALLOW_LOOPBACK_HTTP = True
    assert add(admin_client, url="http://127.0.0.1:9/mcp").status_code == 302
    assert add(admin_client, url="https://other.example.com/").status_code == 400  # same name


@pytest.mark.django_db
def test_the_request_carries_enabled_servers_with_their_headers(alice: Any) -> None:
    McpServer.objects.create(
        name="tools",
        url="https://mcp.example.com/mcp",
        headers={"Authorization": f"Bearer {SECRET}"},
        allowed_tools=["add"],
    )
    McpServer.objects.create(name="off", url="https://off.example.com/", enabled=False)
    conversation = Conversation.objects.create(
        owner=alice, model="gemini-3.5-flash", mcp_servers=["tools", "off", "gone"]
    )
    assert settings_fields(conversation)["tools"] == [
        {
            "type": "mcp_server",
            "name": "tools",
            "url": "https://mcp.example.com/mcp",
            "headers": {"Authorization": f"Bearer {SECRET}"},
            "allowed_tools": [{"tools": ["add"]}],
        }
    ]


@pytest.mark.django_db
def test_people_switch_servers_on_in_their_own_conversations_only(alice: Any, bob: Any) -> None:
    McpServer.objects.create(
        name="tools", url="https://mcp.example.com/", headers={"Authorization": SECRET}
    )
    McpServer.objects.create(name="off", url="https://off.example.com/", enabled=False)
    conversation = Conversation.objects.create(owner=alice, model="gemini-3.5-flash")
    owner = client_of(alice)
    page = owner.get(f"/c/{conversation.pk}/").content.decode()
    assert 'name="mcp_servers" value="tools"' in page and SECRET not in page
    assert 'value="off"' not in page
    data = {"model": "gemini-3.5-flash", "mcp_servers": ["tools"], "google_maps": "on"}
    assert owner.post(f"/c/{conversation.pk}/settings", data).status_code == 200
    conversation.refresh_from_db()
    assert conversation.mcp_servers == ["tools"] and conversation.google_maps
    refused = owner.post(f"/c/{conversation.pk}/settings", {**data, "mcp_servers": ["off"]})
    assert refused.status_code == 400
    stranger = client_of(bob)
    assert stranger.get(f"/c/{conversation.pk}/").status_code == 404
    assert stranger.post(f"/c/{conversation.pk}/settings", data).status_code == 404
    exported = owner.get(f"/c/{conversation.pk}/export.json")
    assert exported.status_code == 200
    assert json.loads(exported.content)["settings"]["mcp_servers"] == ["tools"]
    assert SECRET not in exported.content.decode()


def _frames_text(sock: Any) -> str:
    return json.dumps(sock.frames)


@pytest.mark.django_db(transaction=True)
async def test_an_mcp_call_and_result_are_answered_and_shown_as_cards(
    connect: Any, alice: Any, upstream: Any
) -> None:
    with serve_mcp(McpBehaviour(token=SECRET)) as (url, behaviour):
        await McpServer.objects.acreate(
            name="calc", url=url, headers={"Authorization": f"Bearer {SECRET}"}
        )
        conv = await Conversation.objects.acreate(
            owner=alice, model="gemini-3.5-flash", mcp_servers=["calc"]
        )
        sock = await connect(alice)
        created = await start_chat(sock, "Please add 2 and 3 together", conv.pk)
        final = await sock.until_final(created["turn"]["id"])
    # The MCP server got the header from our server, through the upstream.
    sent = {k.lower(): v for k, v in behaviour.calls[0]["headers"].items()}
    assert sent["authorization"] == f"Bearer {SECRET}"
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    kinds = [s["type"] for s in turn.steps]
    assert "mcp_server_tool_call" in kinds and "mcp_server_tool_result" in kinds
    call = next(s for s in turn.steps if s["type"] == "mcp_server_tool_call")
    assert call["server_name"] == "calc" and call["name"] == "add"
    assert turn.status == "completed"
    assert "I called `add` on MCP server `calc` and it returned" in turn.answer_text
    html = final["turn"]["html"]
    assert 'data-tool="mcp_server_tool_call"' in html
    assert 'data-tool="mcp_server_tool_result"' in html
    assert "calc" in html and "add" in html
    # Neither a frame nor the reloaded page carries the credentials.
    assert SECRET not in _frames_text(sock)
    page = await sync_to_async(lambda: client_of(alice).get(f"/c/{conv.pk}/").content.decode())()
    assert 'data-tool="mcp_server_tool_result"' in page and SECRET not in page


@pytest.mark.django_db(transaction=True)
async def test_a_server_that_is_down_gives_a_clear_error_in_the_answer(
    connect: Any, alice: Any, upstream: Any
) -> None:
    await McpServer.objects.acreate(name="down", url=f"http://127.0.0.1:{free_port()}/mcp")
    conv = await Conversation.objects.acreate(
        owner=alice, model="gemini-3.5-flash", mcp_servers=["down"]
    )
    sock = await connect(alice)
    created = await start_chat(sock, "Please add 2 and 3 together", conv.pk)
    final = await sock.until_final(created["turn"]["id"])
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    result = next(s for s in turn.steps if s["type"] == "mcp_server_tool_result")
    assert result.get("is_error") and turn.status == "completed"
    assert "could not use" in turn.answer_text and "down" in turn.answer_text
    assert "tool-error" in final["turn"]["html"] and "failed" in final["turn"]["html"]


@pytest.mark.django_db(transaction=True)
async def test_a_server_that_refuses_the_credentials_says_so(
    connect: Any, alice: Any, upstream: Any
) -> None:
    with serve_mcp(McpBehaviour(token=SECRET)) as (url, _):
        await McpServer.objects.acreate(name="locked", url=url, headers={"Authorization": "no"})
        conv = await Conversation.objects.acreate(
            owner=alice, model="gemini-3.5-flash", mcp_servers=["locked"]
        )
        sock = await connect(alice)
        created = await start_chat(sock, "Please add 2 and 3 together", conv.pk)
        await sock.until_final(created["turn"]["id"])
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert "refused the credentials" in turn.answer_text


def test_untrusted_mcp_text_is_escaped_in_the_cards() -> None:
    from chatapp.payloads import render_step
    from chatapp.rendering import render_steps

    hostile = "<img src=x onerror=alert(1)>"
    steps = [
        {
            "type": "mcp_server_tool_call",
            "id": "m1",
            "name": hostile,
            "server_name": hostile,
            "arguments": {"q": hostile},
        },
        {
            "type": "mcp_server_tool_result",
            "call_id": "m1",
            "name": hostile,
            "server_name": hostile,
            "result": [{"type": "text", "text": hostile}],
        },
    ]
    html = render_step({"index": 0, "type": "x", "parts": render_steps(steps)})
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.django_db
def test_an_import_keeps_only_servers_registered_and_enabled_here(alice: Any) -> None:
    from .test_export import minimal, upload

    McpServer.objects.create(name="tools", url="https://mcp.example.com/")
    McpServer.objects.create(name="off", url="https://off.example.com/", enabled=False)
    settings = {"model": "gemini-3.5-flash", "mcp_servers": ["tools", "off", "elsewhere"]}
    response = upload(client_of(alice), json.dumps(minimal(settings=settings)))
    assert response.status_code == 201
    notes = response.json()["notes"]
    assert any("off" in n and "elsewhere" in n for n in notes)
    assert Conversation.objects.get(pk=response.json()["id"]).mcp_servers == ["tools"]


@pytest.mark.django_db
def test_the_sdk_reads_our_tools_as_the_types_we_mean(alice: Any, settings: Any) -> None:
    # google-genai 3.4.0, the reference client: an unknown shape would become UnknownTool.
    from google.genai._gaos.types.interactions.googlemaps import GoogleMaps
    from google.genai._gaos.types.interactions.mcpserver import MCPServer
    from google.genai._gaos.types.interactions.tool import Tool
    from pydantic import TypeAdapter

    settings.GOOGLE_MAPS_WIDGET_KEY = "browser-key"
    McpServer.objects.create(
        name="tools", url="https://mcp.example.com/mcp", headers={"A": "b"}, allowed_tools=["x"]
    )
    conversation = Conversation.objects.create(
        owner=alice, model="gemini-3.5-flash", google_maps=True, mcp_servers=["tools"]
    )
    tools = TypeAdapter(list[Tool]).validate_python(settings_fields(conversation)["tools"])
    maps, mcp = tools
    assert isinstance(maps, GoogleMaps) and maps.enable_widget is True
    assert isinstance(mcp, MCPServer) and mcp.headers == {"A": "b"}
    assert mcp.allowed_tools is not None and mcp.allowed_tools[0].tools == ["x"]
