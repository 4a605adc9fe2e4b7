"""The chat websocket against hostile clients: foreign origins, no session, oversized,
malformed and flooding frames. A refused frame gets an `error` frame; the socket keeps working."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from chatapp.asgi import application
from chatapp.models import Conversation, Turn
from chatapp.protocol import MAX_FRAME_BYTES

from ..reliability.helpers import active_turns, is_final

pytestmark = pytest.mark.django_db(transaction=True)


async def still_works(sock: Any) -> None:
    """After whatever came before, a real message still gets its answer."""
    await sock.send({"type": "send", "conversation": None, "text": "Still there?"})
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    final = await sock.until(is_final(created["turn"]["id"]))
    assert final["turn"]["status"] == "completed"


async def send_raw(sock: Any, raw: str | bytes) -> None:
    """One websocket message, as the server receives it (empty text frames included)."""
    key = "bytes" if isinstance(raw, bytes) else "text"
    await sock.comm.send_input({"type": "websocket.receive", key: raw})


async def refused(sock: Any, raw: str | bytes, timeout: float = 5) -> dict[str, Any]:
    await send_raw(sock, raw)
    frame = await sock.receive(timeout)
    assert frame["type"] == "error", frame
    return frame


# --- who may connect ---


async def test_anonymous_and_foreign_origin_sockets_are_refused(connect: Any, alice: Any) -> None:
    anonymous = await connect(None)
    assert not anonymous.connected and anonymous.close_code == 4401
    for origin in (
        b"https://evil.example",
        b"http://127.0.0.1.evil.example",
        b"http://evil.example:8000",
        b"null",
        b"file://",
    ):
        sock = await connect(alice, origin=origin)
        assert not sock.connected, origin
    # No Origin header at all, or a forged session cookie: refused too.
    for headers in (
        [(b"host", b"127.0.0.1:8000")],
        [
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", b"sessionid=forged-session-key"),
        ],
    ):
        comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        connected, _ = await comm.connect()
        assert not connected, headers
        await comm.disconnect()
    # The same origin is welcome.
    assert (await connect(alice)).connected


async def test_a_deactivated_user_cannot_connect(connect: Any, alice: Any) -> None:
    await get_user_model().objects.filter(pk=alice.pk).aupdate(is_active=False)
    sock = await connect(alice)
    assert not sock.connected and sock.close_code == 4401


# --- what a connected socket may send ---


async def test_oversized_frames_are_refused_and_the_socket_keeps_working(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    head = '{"type": "send", "conversation": null, "text": "'
    just_right = head + "a" * (MAX_FRAME_BYTES - len(head) - 2) + '"}'
    assert len(just_right.encode()) == MAX_FRAME_BYTES
    # At the limit: through to validation (the text is longer than a message may be).
    frame = await refused(sock, just_right)
    assert frame["code"] == "invalid"
    for size in (MAX_FRAME_BYTES + 1, 4 * 1024 * 1024):
        raw = head + "a" * (size - len(head) - 2) + '"}'
        frame = await refused(sock, raw)
        assert frame["code"] == "too_large"
    # Multi-byte characters count as bytes, not characters.
    frame = await refused(sock, head + "é" * (MAX_FRAME_BYTES // 2) + '"}')
    assert frame["code"] == "too_large"
    assert await Conversation.objects.acount() == 0
    await still_works(sock)


MALFORMED: list[tuple[str | bytes, str]] = [
    ("not json at all", "bad_json"),
    ("{'type': 'send'}", "bad_json"),
    ('{"type": "send", "text": "x"', "bad_json"),
    ("", "bad_json"),
    (b"\x00\x01binary", "bad_frame"),
    ("[1, 2, 3]", "unknown_type"),
    ('"subscribe"', "unknown_type"),
    ("null", "unknown_type"),
    ("{}", "unknown_type"),
    ('{"type": "hack"}', "unknown_type"),
    ('{"type": "send"}', "invalid"),
    ('{"type": "send", "text": 5}', "invalid"),
    ('{"type": "send", "text": "x", "admin": true}', "invalid"),
    ('{"type": "send", "text": "x", "conversation": "1"}', "invalid"),
    ('{"type": "send", "text": "x", "attachments": "abc"}', "invalid"),
    ('{"type": "send", "text": "x", "attachments": [1]}', "invalid"),
    ('{"type": "send", "text": "x", "attachments": ' + json.dumps(["a"] * 11) + "}", "invalid"),
    (
        '{"type": "send", "text": "x", "media_urls": ' + json.dumps(["http://a/b.mp3"] * 6) + "}",
        "invalid",
    ),
    ('{"type": "send", "text": "x", "client_id": "' + "c" * 65 + '"}', "invalid"),
    ('{"type": "send", "text": "' + "t" * 100_001 + '"}', "invalid"),
    ('{"type": "subscribe", "conversation": -1}', "invalid"),
    ('{"type": "subscribe", "conversation": 0}', "invalid"),
    ('{"type": "subscribe", "conversation": 1.5}', "invalid"),
    ('{"type": "subscribe", "conversation": true}', "invalid"),
    ('{"type": "subscribe", "conversation": NaN}', "invalid"),
    ('{"type": "subscribe", "conversation": 1e400}', "invalid"),
    ('{"type": "subscribe", "conversation": 99999999999999999999999999}', "invalid"),
    ('{"type": "subscribe", "conversation": {"$gt": 0}}', "invalid"),
    ('{"type": "stop"}', "invalid"),
    ('{"type": "select", "conversation": 1}', "invalid"),
    ('{"type": "send", "text": "   "}', "empty"),
    ('{"type": "edit", "turn": 1, "text": "x"}', "not_found"),
    ('{"type": "subscribe", "conversation": 4611686018427387904}', "not_found"),
    ('{"type": "send", "text": "x", "attachments": ["../../etc/passwd"]}', "attachment"),
    (
        '{"type": "send", "text": "x", "attachments": ["00000000-0000-0000-0000-000000000000"]}',
        "attachment",
    ),
    ('{"type": "send", "text": "x", "media_urls": ["javascript:alert(1)"]}', "attachment"),
    ('{"type": "send", "text": "x", "media_urls": ["file:///etc/passwd"]}', "attachment"),
    ('{"type": "send", "text": "x", "media_urls": ["http://user:pw@host/a.mp3"]}', "attachment"),
    ('{"type": "send", "text": "x", "media_urls": ["http://h/a b.mp3"]}', "attachment"),
    ('{"type": "send", "text": "x", "media_urls": ["http://[::1/a.mp3"]}', "attachment"),
    ('{"type": "send", "text": "x", "media_urls": ["http://h:99999/a.mp3"]}', "attachment"),
    ('{"type": "send", "text": "x", "media_urls": [""]}', "attachment"),
]


async def test_malformed_frames_get_an_error_frame_each_and_the_socket_keeps_working(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    for raw, code in MALFORMED:
        frame = await refused(sock, raw)
        assert frame["code"] == code, (raw[:80], frame)
        assert frame["message"] and "Traceback" not in frame["message"]
    assert await Conversation.objects.acount() == 0 and await Turn.objects.acount() == 0
    await still_works(sock)


async def test_the_client_id_is_echoed_only_as_a_bounded_string(connect: Any, alice: Any) -> None:
    sock = await connect(alice)
    frame = await refused(sock, '{"type": "nope", "client_id": "' + "x" * 500 + '"}')
    assert frame["client_id"] == "x" * 64
    frame = await refused(sock, '{"type": "nope", "client_id": {"a": 1}}')
    assert frame["client_id"] == ""


async def test_a_deeply_nested_frame_is_refused_and_the_socket_keeps_working(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    nested = '{"type": "send", "text": "x", "client_id": ' + "[" * 50_000 + "]" * 50_000 + "}"
    assert len(nested) < MAX_FRAME_BYTES
    frame = await refused(sock, nested, timeout=1)
    assert frame["code"] in ("bad_json", "invalid")
    await still_works(sock)


async def test_a_lone_surrogate_in_a_message_does_not_kill_the_socket(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    await send_raw(sock, '{"type": "send", "text": "hello \\ud800 world", "client_id": "s"}')
    frame = await sock.until(lambda f: f["type"] in ("error", "turn"))
    if frame["type"] == "turn":
        await sock.until(is_final(frame["turn"]["id"]))
    await still_works(sock)


@pytest.mark.parametrize("kind", ['["send"]', '{"a": 1}'])
async def test_a_frame_with_an_unhashable_type_is_refused_and_the_socket_keeps_working(
    connect: Any, alice: Any, upstream: Any, kind: str
) -> None:
    sock = await connect(alice)
    frame = await refused(sock, '{"type": ' + kind + "}", timeout=1)
    assert frame["code"] == "unknown_type"
    await still_works(sock)


async def test_a_flood_of_200_bad_frames_does_not_break_the_socket(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    bad = [raw for raw, _ in MALFORMED if isinstance(raw, str) and len(raw) < 2000]
    flood = [bad[i % len(bad)] for i in range(200)]
    for raw in flood:  # all at once, before reading any answer
        await send_raw(sock, raw)
    answers = [await sock.receive() for _ in flood]
    assert [a["type"] for a in answers] == ["error"] * 200
    expected = dict((raw, code) for raw, code in MALFORMED if isinstance(raw, str))
    assert [a["code"] for a in answers] == [expected[raw] for raw in flood]
    await still_works(sock)
    assert await active_turns() == []
