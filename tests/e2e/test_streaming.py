"""Sending a message and watching the answer stream: reload, Stop, Retry, a second tab."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.harness.browser import (
    answer,
    answer_text,
    screenshot,
    send_message,
    sentences,
    state,
    streamed,
    turn_id,
    turns,
    wait_for_text,
    wait_status,
    watch,
)

SLOW = "[[sim:slow]] please write slowly"


def test_send_message_streams_then_renders_markdown(page: Page) -> None:
    page.goto("/")
    text = "Show me some python code for a greeting"
    turn = send_message(page, text)
    expect(turn.locator(".msg-user .user-text")).to_have_text(text)
    expect(page.locator("#stop-btn")).to_be_visible()
    # Send stays, as Queue: a message written now waits for the answer to end.
    expect(page.locator("#send-btn")).to_have_text("Queue")

    wait_for_text(turn, 40)
    screenshot(page, "streaming")
    texts = streamed(watch(turn))
    assert len(texts) >= 4, f"the answer did not stream (saw {len(texts)} states)"
    assert len(texts[-1]) > len(texts[0])

    wait_status(turn, "completed")
    steps = answer(turn)
    answer_md = steps.locator(":scope > .step:not(:has(.thinking)) .markdown")
    expect(answer_md.locator("strong").first).to_be_visible()
    expect(answer_md.locator("code").first).to_be_visible()
    expect(steps).to_contain_text(f"You said: “{text}”")
    code = steps.locator(".code-block")
    expect(code.locator(".code-lang")).to_have_text("python")
    expect(code.locator("pre")).to_contain_text("def simulated()")
    expect(steps.locator(".live-text")).to_have_count(0)
    expect(turn.locator(".usage")).to_have_text(re.compile(r"^\d+ tokens$"))
    expect(turn.locator(".turn-status")).to_have_count(0)
    expect(page.locator("#send-btn")).to_be_visible()
    expect(page.locator("#stop-btn")).to_be_hidden()

    shown = answer_text(turn)

    # The code block's Copy button copies the code.
    code.get_by_role("button", name="Copy code").click()
    expect(code.get_by_role("button", name="Copy code")).to_have_text("Copied")
    assert "def simulated()" in page.evaluate("navigator.clipboard.readText()")

    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    conversation = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("#chat-title")).to_have_text(text)
    item = page.locator(f'#conv-list [data-conversation="{conversation}"]')
    expect(item.locator(".conv-title")).to_have_text(text)
    expect(item).to_have_class(re.compile(r"\bactive\b"))
    expect(page).to_have_title(f"{text} · Gemini Team Chat")
    screenshot(page, "finished-answer")

    # The page the server renders shows the same answer.
    page.reload()
    expect(turns(page)).to_have_count(1)
    assert answer_text(turns(page).first) == shown


def test_streaming_turn_is_marked_in_progress(page: Page) -> None:
    page.goto("/")
    turn = send_message(page, SLOW)
    wait_for_text(turn, 40)
    assert state(turn)[0] == "in_progress"


def test_reload_mid_stream_finishes_without_doubled_text(page: Page) -> None:
    page.goto("/")
    turn = send_message(page, SLOW)
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    before = wait_for_text(turn, 60)

    page.reload()
    turn = page.locator(f"#turn-{turn_id(turn)}")
    samples = watch(turn)
    texts = streamed(samples)
    assert texts, "the reloaded page did not show the turn still running"
    assert texts[0].startswith(before[:40])
    assert samples[-1][0] == "completed"
    live_final = answer_text(turn)

    page.reload()
    saved = answer_text(turns(page).first)
    assert live_final == saved
    assert saved.count("You said:") == 1
    seen = sentences(saved)
    doubled = {s for s in seen if seen.count(s) > 1}
    assert not doubled, f"sentences shown twice: {doubled}"
    expect(page.locator("#messages > .turn")).to_have_count(1)


def test_copy_answer_copies_only_the_answer(page: Page) -> None:
    page.goto("/")
    turn = send_message(page, "Write a python function")
    wait_status(turn, "completed")
    turn.get_by_role("button", name="Copy answer").click()
    expect(turn.get_by_role("button", name="Copy answer")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "You said: “Write a python function”" in copied
    assert "def simulated() -> str:" in copied
    assert "Thought for a moment" not in copied
    assert "Copy\n" not in copied


def stop_slow_answer(page: Page) -> tuple[Locator, str]:
    """Start a slow answer, press Stop after a few words; the turn and its partial text."""
    page.goto("/")
    turn = send_message(page, SLOW)
    wait_for_text(turn, 70)
    page.locator("#stop-btn").click()
    wait_status(turn, "stopped", timeout=5000)
    return turn, answer_text(turn)


def test_stop_keeps_the_partial_text(page: Page) -> None:
    turn, partial = stop_slow_answer(page)
    assert len(partial) >= 70
    assert "You said:" in partial and "render as Markdown" not in partial
    expect(turn.locator(".turn-status")).to_have_text("Stopped.")
    expect(turn.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#stop-btn")).to_be_hidden()
    expect(page.locator("#send-btn")).to_be_visible()
    screenshot(page, "stopped")

    # It stays stopped, and the partial answer was saved as it was shown.
    page.wait_for_timeout(1000)
    assert state(turn)[:2] == ("stopped", partial)
    page.reload()
    turn = turns(page).first
    expect(turn).to_have_attribute("data-status", "stopped")
    assert answer_text(turn) == partial
    expect(turn.get_by_role("button", name="Retry")).to_be_visible()


def test_retry_after_stop_streams_a_fresh_answer(page: Page) -> None:
    turn, partial = stop_slow_answer(page)
    turn.get_by_role("button", name="Retry").click()
    # The new run is announced by the server; from then on it streams again.
    expect(turn).to_have_attribute("data-status", re.compile("queued|in_progress"))
    samples = watch(turn)
    texts = streamed(samples)
    wait_status(turn, "completed")
    full = answer_text(turn)
    assert full.count("You said:") == 1
    assert len(full) > len(partial)
    expect(turn.get_by_role("button", name="Retry")).to_have_count(0)
    expect(turns(page)).to_have_count(1)
    # While it ran again, the old partial answer was gone and the new one streamed.
    assert samples[0][1].strip() == "" or partial not in samples[0][1]
    assert len(texts) >= 4, f"the retried answer did not stream ({len(texts)} states)"


def test_second_tab_sees_the_live_stream(page: Page, context: BrowserContext) -> None:
    page.goto("/")
    first = send_message(page, "Hello from the first tab")
    wait_status(first, "completed")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))

    other = context.new_page()
    other.goto(page.url)
    expect(turns(other)).to_have_count(1)

    turn = send_message(page, "[[sim:slow]] a follow-up both tabs should watch")
    mirror = other.locator(f"#turn-{turn_id(turn)}")
    expect(mirror.locator(".user-text")).to_have_text(
        "[[sim:slow]] a follow-up both tabs should watch"
    )
    expect(other.locator("#stop-btn")).to_be_visible()
    texts = streamed(watch(mirror))
    assert len(texts) >= 4, f"the second tab did not see the answer stream ({len(texts)} states)"

    wait_status(mirror, "completed")
    wait_status(turn, "completed")
    assert answer_text(mirror) == answer_text(turn)
    expect(turns(other)).to_have_count(2)
    expect(other.locator("#stop-btn")).to_be_hidden()


def test_shift_enter_adds_a_line_enter_sends_escape_stops(page: Page) -> None:
    page.goto("/")
    prompt = page.locator("#prompt")
    prompt.press("Enter")  # nothing to send
    prompt.type("[[sim:slow]] first line")
    prompt.press("Shift+Enter")
    prompt.type("second line")
    expect(prompt).to_have_value("[[sim:slow]] first line\nsecond line")
    expect(turns(page)).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()

    prompt.press("Enter")
    expect(turns(page)).to_have_count(1)
    turn = turns(page).first
    expect(turn.locator(".user-text")).to_have_text("[[sim:slow]] first line\nsecond line")
    expect(prompt).to_have_value("")

    wait_for_text(turn, 20)
    page.keyboard.press("Escape")
    wait_status(turn, "stopped", timeout=5000)
    expect(turn.get_by_role("button", name="Retry")).to_be_visible()
