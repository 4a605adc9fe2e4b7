"""When an answer goes wrong: one error box per failure with Retry, and a silent upstream
said out loud (with Stop and Retry) instead of a wait up to the read timeout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.harness.browser import answer, send_message, signed_in_state, wait_status
from tests.harness.servers import LiveServer, run_server


def test_a_failed_answer_shows_one_error_with_retry(quick_page: Page) -> None:
    page = quick_page
    page.goto("/")
    turn = send_message(page, "[[sim:fail]] break please")
    wait_status(turn, "failed")
    errors = turn.locator(".turn-error, .step-error")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("Simulated model failure")
    expect(turn.get_by_role("button", name="Retry")).to_have_count(1)
    expect(errors.get_by_role("button", name="Retry")).to_be_visible()
    # The answer's text streamed before the failure stays.
    expect(answer(turn)).to_contain_text("I started answering")
    page.reload()
    expect(page.locator("#messages .turn-error, #messages .step-error")).to_have_count(1)


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose pages call an answer silent after 3 seconds."""
    with run_server(tmp_path_factory.mktemp("impatient"), CHAT_STALL_SECONDS="3") as server:
        yield server


def test_a_silent_answer_says_so_with_stop_and_retry(
    impatient_server: LiveServer, browser: Browser, new_context: Callable[..., BrowserContext]
) -> None:
    state: Any = signed_in_state(browser, impatient_server)
    page = new_context(impatient_server.url, state).new_page()
    page.goto("/")
    turn = send_message(page, "[[sim:hang]] are you there?")
    notice = turn.locator(".turn-stall")
    expect(notice).to_contain_text("Gemini has sent nothing for 3 seconds", timeout=8000)
    expect(notice).to_contain_text("Gemini has sent nothing for 5 seconds", timeout=8000)
    expect(notice.get_by_role("button", name="Stop")).to_be_visible()
    # Retry stops the silent run and sends the message again (the simulator hangs only once).
    notice.get_by_role("button", name="Retry").click()
    wait_status(turn, "completed")
    expect(answer(turn)).to_contain_text("are you there?")
    expect(turn.locator(".turn-stall")).to_have_count(0)


def test_streamed_text_stays_while_a_recovered_run_catches_up(page: Page) -> None:
    """A worker that died mid-answer: the survivor's first frame resets the running turn
    (seq 0, its saved steps). The page keeps what it had streamed until the new run has
    caught up. The reset is played into the page's own frame handler here; the real frames
    that follow resync the page and the answer ends complete."""
    page.goto("/")
    turn = send_message(page, "[[sim:slow]] keep my text please")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.live-text:not(.thinking .live-text)')]
                 .some(n => (n.liveSource || '').length > 60)"""
    )
    streamed = page.evaluate(
        """async () => {
            const { applyTurn } = await import("/static/js/chat/turns.js");
            const turn = document.querySelector("#messages > .turn");
            const live = [...turn.querySelectorAll(".step-live:not(.step-thought)")];
            const text = live.map((s) => s.querySelector(".live-text").liveSource).join("");
            // What the survivor sends: the turn as saved, its streaming step started over.
            const copy = turn.cloneNode(true);
            for (const step of copy.querySelectorAll(".step-live:not(.step-thought)")) {
              step.querySelector(".live-text").textContent = "";
              step.querySelector(".live-text").classList.remove("markdown");
            }
            applyTurn({ type: "turn", seq: 0, reset: true, turn: {
              id: Number(turn.dataset.turn), conversation: Number(turn.closest("#chat")
                ? document.getElementById("chat").dataset.conversation : 0),
              parent: null, siblings: [Number(turn.dataset.turn)], html: copy.outerHTML } });
            return text;
        }"""
    )
    stale = turn.locator(".step-stale")
    expect(stale).to_have_count(1)
    expect(stale).to_contain_text(streamed.split("\n")[0].strip("*").strip()[:20])
    wait_status(turn, "completed")
    expect(turn.locator(".step-stale")).to_have_count(0)
    expect(answer(turn)).to_contain_text("You said: “keep my text please”")
