"""The composer, at 1440x900 and 390x844: the model picker, the chips, defaults carried to a
new chat, the queue of messages, tokens and cost under answers, the context gauge, and the
options sheet (its Save button always on screen)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.accounts import query, sign_up
from tests.harness.browser import screenshot, send_message, turns, wait_status
from tests.harness.servers import LiveServer

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
SLOW = "[[sim:slow]] please write slowly"


@pytest.fixture(params=list(VIEWPORTS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def person(
    server: LiveServer, new_context: Callable[..., BrowserContext], width: str
) -> tuple[Page, str]:
    """A page of a new person (their own defaults) at `width`; and their username."""
    username = f"composer-{uuid.uuid4().hex[:10]}"
    session = sign_up(server, username)
    options: dict[str, Any] = {"viewport": VIEWPORTS[width]}
    if width == "phone":
        options.update(is_mobile=True, has_touch=True)
    context = new_context(server.url, **options)
    context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    page = context.new_page()
    page.goto("/")
    return page, username


@pytest.fixture
def quick(
    quick_server: LiveServer,
    quick_admin_state: Any,
    new_context: Callable[..., BrowserContext],
    width: str,
) -> Page:
    return person(quick_server, new_context, width)[0]


@pytest.fixture
def slow(
    chat_server: LiveServer,
    admin_state: Any,
    new_context: Callable[..., BrowserContext],
    width: str,
) -> Page:
    return person(chat_server, new_context, width)[0]


def conversation_id(page: Page) -> int:
    match = re.search(r"/c/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def pick(page: Page, name: str) -> None:
    page.locator("#model-btn").click()
    page.get_by_role("option", name=re.compile(re.escape(name))).click()
    expect(page.locator("#model-btn")).to_contain_text(name)


def chip(page: Page, label: str) -> Any:
    return page.locator(".chip-toggle", has_text=label)


def saved(page: Page, server: LiveServer, expression: str, expected: Any) -> None:
    """The conversation on screen, read back from the database, until it matches."""
    pk = conversation_id(page)
    read = f"Conversation.objects.filter(pk={pk}).values_list({expression}).get()[0]"
    for _ in range(20):
        if query(server, read) == expected:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{expression} of conversation {pk} never became {expected!r}")


def test_picker_shows_names_by_kind_and_switching_model_works(
    quick: Page, quick_server: LiveServer, width: str
) -> None:
    page = quick
    expect(page.locator("#model-btn")).to_contain_text("Gemini 3.5 Flash")
    turn = send_message(page, "Hello from the picker test")
    wait_status(turn, "completed")

    page.locator("#model-btn").click()
    menu = page.get_by_role("listbox", name="Model")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("group", name="Text models")).to_contain_text(
        "Gemini 3.1 Pro (preview)"
    )
    expect(menu.get_by_role("group", name="Image models")).to_contain_text("Nano Banana 2")
    expect(menu.get_by_role("group", name="Agents")).to_contain_text("Deep Research (preview)")
    expect(menu).to_contain_text("Fast and capable: the everyday model for most questions.")
    expect(menu.get_by_role("option", name=re.compile("Gemini 3.5 Flash"))).to_have_attribute(
        "aria-selected", "true"
    )
    expect(menu).to_be_in_viewport()
    screenshot(page, f"composer-picker-{width}")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    # Switching saves at once (no reload) and the next answer comes from that model.
    pick(page, "Nano Banana 2")
    saved(page, quick_server, "'model'", "gemini-3.1-flash-image")
    expect(chip(page, "URL context")).to_have_attribute("aria-disabled", "true")
    turn = send_message(page, "Draw a small red kite")
    wait_status(turn, "completed")
    expect(turn.locator(".model-name")).to_have_attribute("title", "gemini-3.1-flash-image")
    page.reload()
    expect(page.locator("#model-btn")).to_contain_text("Nano Banana 2")


def test_chips_toggle_persist_and_say_why_they_are_off(
    quick: Page, quick_server: LiveServer, width: str
) -> None:
    page = quick
    turn = send_message(page, "Hello from the chips test")
    wait_status(turn, "completed")
    search = chip(page, "Google Search")
    expect(search).to_have_attribute("aria-pressed", "false")
    search.click()
    expect(search).to_have_attribute("aria-pressed", "true")
    saved(page, quick_server, "'google_search'", True)
    chip(page, "Code execution").click()
    saved(page, quick_server, "'code_execution'", True)
    screenshot(page, f"composer-chips-{width}")

    page.reload()
    expect(chip(page, "Google Search")).to_have_attribute("aria-pressed", "true")
    expect(chip(page, "Code execution")).to_have_attribute("aria-pressed", "true")
    chip(page, "Code execution").click()
    expect(chip(page, "Code execution")).to_have_attribute("aria-pressed", "false")
    saved(page, quick_server, "'code_execution'", False)

    # An agent can't take them: disabled, switched off, and the chip says why.
    pick(page, "Deep Research (preview)")
    search = chip(page, "Google Search")
    expect(search).to_have_attribute("aria-disabled", "true")
    expect(search).to_have_attribute("aria-pressed", "false")
    expect(search).to_have_attribute("title", "Agents choose their own tools.")
    saved(page, quick_server, "'google_search'", False)
    expect(search).to_be_disabled()  # aria-disabled: still focusable, and says why when used
    search.click(force=True)
    expect(page.locator("#chip-note")).to_have_text("Agents choose their own tools.")
    screenshot(page, f"composer-chips-agent-{width}")
    expect(chip(page, "Background")).to_have_attribute("aria-disabled", "false")

    # Structured output needs a schema: its chip opens the options at the schema.
    pick(page, "Gemini 3.5 Flash")
    chip(page, "Structured output").click()
    expect(page.locator("#set-schema")).to_be_focused()
    page.fill("#set-schema", '{"type": "object", "properties": {"name": {"type": "string"}}}')
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-dialog")).to_be_hidden()
    expect(chip(page, "Structured output")).to_have_attribute("aria-pressed", "true")
    saved(page, quick_server, "'response_schema__type'", "object")


def test_the_last_model_and_chips_start_the_next_new_chat(
    quick: Page, quick_server: LiveServer, width: str
) -> None:
    page = quick
    # A new chat: the choices wait for its first message, which creates it with them.
    pick(page, "Gemini 3.1 Pro (preview)")
    chip(page, "Google Search").click()
    turn = send_message(page, "Hello from the defaults test")
    wait_status(turn, "completed")
    expect(turn.locator(".model-name")).to_have_attribute("title", "gemini-3.1-pro-preview")
    saved(page, quick_server, "'google_search'", True)
    chip(page, "Background").click()
    saved(page, quick_server, "'background'", True)

    page.goto("/")
    expect(page.locator("#model-btn")).to_contain_text("Gemini 3.1 Pro (preview)")
    expect(chip(page, "Google Search")).to_have_attribute("aria-pressed", "true")
    expect(chip(page, "Background")).to_have_attribute("aria-pressed", "true")
    expect(chip(page, "URL context")).to_have_attribute("aria-pressed", "false")
    turn = send_message(page, "A second chat with the same choices")
    wait_status(turn, "completed")
    saved(page, quick_server, "'model'", "gemini-3.1-pro-preview")
    saved(page, quick_server, "'google_search'", True)


def test_queue_edit_cancel_auto_send_and_stop_and_send(slow: Page, width: str) -> None:
    page = slow
    first = send_message(page, SLOW)
    prompt = page.locator("#prompt")
    expect(page.locator("#send-btn")).to_have_text("Queue")
    prompt.fill("second, as first written")
    prompt.press("Enter")
    prompt.fill("third, to be cancelled")
    page.locator("#send-btn").click()
    queue = page.get_by_role("region", name="Sent when the answer ends")
    expect(queue).to_be_visible()
    expect(queue.get_by_role("textbox")).to_have_count(2)
    expect(prompt).to_have_value("")
    first_queued = queue.get_by_role("textbox", name="Queued message 1")
    expect(first_queued).to_have_value("second, as first written")
    first_queued.fill("second, edited while waiting")
    screenshot(page, f"composer-queue-{width}")
    queue.get_by_role("button", name="Cancel queued message 2").click()
    expect(queue.get_by_role("textbox")).to_have_count(1)
    assert turns(page).count() == 1  # nothing was sent while the answer was written

    # The answer ends: the queued message goes by itself, as edited.
    wait_status(first, "completed")
    expect(turns(page)).to_have_count(2)
    expect(turns(page).nth(1).locator(".user-text")).to_have_text("second, edited while waiting")
    expect(queue).to_be_hidden()

    # "Stop and send": the answer being written stops, and the queue goes now.
    wait_status(turns(page).nth(1), "completed")
    third = send_message(page, SLOW)
    prompt.fill("sent now")
    prompt.press("Enter")
    expect(queue).to_be_visible()
    queue.get_by_role("button", name="Stop and send").click()
    wait_status(third, "stopped")
    expect(turns(page).last.locator(".user-text")).to_have_text("sent now")
    expect(turns(page)).to_have_count(4)
    expect(queue).to_be_hidden()


def test_tokens_cost_and_context_gauge(
    quick: Page, quick_server: LiveServer, new_context: Callable[..., BrowserContext], width: str
) -> None:
    page = quick
    turn = send_message(page, "How many tokens does this use?")
    wait_status(turn, "completed")
    meter = turn.locator(".answer-meter")
    expect(meter).to_contain_text(re.compile(r"in \d+"))
    expect(meter).to_contain_text(re.compile(r"out \d+"))
    expect(meter).to_contain_text("thinking")
    expect(meter).to_contain_text("cached 0")
    expect(meter.locator(".meter-cost")).to_have_text(re.compile(r"^(< )?\$0\.\d{4}$"))
    pk = conversation_id(page)
    usage = query(quick_server, f"Turn.objects.filter(conversation={pk}).get().usage")
    expect(meter).to_contain_text(f"in {usage['total_input_tokens']}")
    used = usage["total_input_tokens"] + usage["total_output_tokens"]

    gauge = page.get_by_role("meter", name="Context window used")
    expect(gauge).to_be_visible()
    expect(gauge).to_have_attribute("aria-valuetext", re.compile(rf"^{used} of 1(\.0)?M tokens$"))
    screenshot(page, f"composer-answer-{width}")

    page.reload()
    expect(page.locator(".answer-meter .meter-cost")).to_be_visible()
    expect(page.get_by_role("meter", name="Context window used")).to_be_visible()
    # A smaller window, the same tokens: the gauge follows the chosen model.
    pick(page, "Nano Banana Pro")
    expect(gauge).to_have_attribute("aria-valuetext", re.compile(rf"^{used} of 65\.5K tokens$"))


def test_options_sheet_is_labelled_and_its_save_stays_on_screen(
    quick: Page, quick_server: LiveServer, width: str
) -> None:
    page = quick
    turn = send_message(page, "Hello from the options test")
    wait_status(turn, "completed")
    options = page.get_by_role("button", name="Options")
    expect(options).to_be_visible()
    options.click()
    sheet = page.get_by_role("dialog", name="Chat options")
    expect(sheet).to_be_visible()
    save = sheet.get_by_role("button", name="Save settings")
    expect(save).to_be_in_viewport()
    box = sheet.bounding_box()
    assert box is not None
    if width == "phone":
        # A bottom sheet: full width, ending at the bottom of the screen.
        assert box["width"] == VIEWPORTS["phone"]["width"]
        assert abs(box["y"] + box["height"] - VIEWPORTS["phone"]["height"]) <= 1
    else:
        # A side sheet on the right, as tall as the window.
        assert abs(box["x"] + box["width"] - VIEWPORTS["desktop"]["width"]) <= 1
        assert box["height"] == VIEWPORTS["desktop"]["height"]
    expect(sheet.get_by_label("Keep nothing on Google's servers")).to_be_visible()
    expect(sheet.get_by_label("Thinking")).to_be_visible()
    screenshot(page, f"composer-options-{width}")
    sheet.get_by_label("System instruction").fill("Answer like a pirate.")
    # The field at the end of the sheet scrolled to: Save is still on screen.
    sheet.get_by_label("JSON schema for structured output").scroll_into_view_if_needed()
    expect(save).to_be_in_viewport()
    save.click()
    expect(sheet).to_be_hidden()
    saved(page, quick_server, "'system_instruction'", "Answer like a pirate.")
    page.reload()
    page.get_by_role("button", name="Options").click()
    expect(sheet.get_by_label("System instruction")).to_have_value("Answer like a pirate.")
    page.get_by_role("button", name="Close options").click()
    expect(page.get_by_role("dialog", name="Chat options")).to_be_hidden()
