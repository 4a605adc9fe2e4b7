"""A page that misses frames asks for a snapshot and still ends with the complete answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.harness.browser import (
    ADMIN,
    answer_text,
    create_admin,
    send_message,
    streamed,
    turn_id,
    wait_status,
    watch,
)
from tests.harness.servers import LiveServer, run_server


@pytest.fixture
def lossy_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Every socket loses the 4th and 9th frames of each answer, and its final frame."""
    with run_server(
        tmp_path / "var", CHAT_FAULT_DROP_FRAMES="4,9,final", CHAT_STALL_SECONDS="2"
    ) as server:
        yield server


def test_lost_frames_and_a_lost_final_frame_end_in_the_complete_answer(
    lossy_server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(lossy_server.url).new_page()
    page.set_default_timeout(20_000)  # a fresh server's first answer, on a busy machine
    sent: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda data: sent.append(json.loads(data))))
    page.goto("/")
    create_admin(page, *ADMIN)

    turn = send_message(page, "Tell me about the history of tea in five sentences")
    live = streamed(watch(turn, timeout=40))  # the live text only ever grows: no holes
    wait_status(turn, "completed")
    saved = lossy_server.manage(
        "shell", "-v", "0", "-c", f"print(Turn.objects.get(pk={turn_id(turn)}).answer_text, end='')"
    )
    # Frames 4 and 9 never reached the page: it went on only through snapshots, and showed
    # no hole and no doubled text on the way.
    assert all(saved.startswith(text) for text in live), "the live text has a hole"
    assert len(live) > 3 and len(live[-1]) > len(live[0]), "the page went on after the gaps"
    subscribes = [f for f in sent if f["type"] == "subscribe"]
    assert len(subscribes) >= 2, "the page asked for snapshots after the gaps and the stall"

    shown = answer_text(turn)
    page.reload()
    assert answer_text(page.locator(f"#turn-{turn_id(turn)}")) == shown


def test_an_80000_character_cjk_message_and_its_long_answer_reach_the_page(
    quick_page: Page,
) -> None:
    page = quick_page
    closes: list[int] = []
    page.on("websocket", lambda ws: ws.on("close", lambda _: closes.append(1)))
    page.goto("/")
    text = "漢字かな交じり文" * 10_000  # 80,000 characters
    turn = send_message(page, text)
    wait_status(turn, "completed")
    assert len(turn.locator(".msg-user .user-text").inner_text()) >= 80_000
    assert text[:2000] in answer_text(turn)  # the simulator quotes the message back
    assert closes == [], "the socket was never closed"
    page.reload()  # the whole turn again, in a page and in a subscribe snapshot
    assert len(page.locator(f"#turn-{turn_id(turn)} .msg-user .user-text").inner_text()) >= 80_000
