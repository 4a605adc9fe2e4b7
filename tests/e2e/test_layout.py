"""A phone in dark mode: the sidebar slides in from ☰; screenshots of the main screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import screenshot, send_message, wait_for_text, wait_status
from tests.harness.servers import LiveServer

PHONE = {"width": 390, "height": 844}
DARK_BACKGROUND = "rgb(15, 17, 21)"  # --bg in app.css's dark scheme


@pytest.fixture
def phone(
    new_context: Callable[..., BrowserContext], chat_server: LiveServer, admin_state: Any
) -> Page:
    context = new_context(
        chat_server.url,
        admin_state,
        viewport=PHONE,
        color_scheme="dark",
        is_mobile=True,
        has_touch=True,
    )
    return context.new_page()


def fits_width(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"


def test_phone_dark_mode_sidebar_behind_menu_button(phone: Page) -> None:
    page = phone
    page.goto("/")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == DARK_BACKGROUND
    sidebar = page.locator("#sidebar")
    menu = page.get_by_role("button", name="Show conversations")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar).not_to_be_in_viewport()
    expect(page.locator("#prompt")).to_be_in_viewport()
    expect(page.locator("#send-btn")).to_be_in_viewport()
    fits_width(page)
    screenshot(page, "mobile-dark-empty")

    turn = send_message(page, "A short python snippet, please, on my phone")
    wait_for_text(turn, 60)
    screenshot(page, "mobile-dark-streaming")
    wait_status(turn, "completed")
    expect(turn.locator(".code-block")).to_be_visible()
    fits_width(page)
    screenshot(page, "mobile-dark-answer")

    menu.tap()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_in_viewport(ratio=1)
    page.wait_for_timeout(300)  # the slide-in transition
    expect(sidebar.locator(".conv-item.active")).to_be_visible()
    expect(sidebar.get_by_role("button", name="Sign out")).to_be_in_viewport()
    screenshot(page, "mobile-dark-sidebar-open")

    # A conversation picked from the sidebar opens with the sidebar closed.
    sidebar.locator(".conv-item.active .conv-link").tap()
    expect(page.locator("#messages > .turn")).to_have_count(1)
    expect(sidebar).not_to_be_in_viewport()


def test_phone_sidebar_closes_on_a_tap_beside_it(phone: Page) -> None:
    page = phone
    page.goto("/")
    menu = page.get_by_role("button", name="Show conversations")
    menu.tap()
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_in_viewport(ratio=1)
    page.wait_for_timeout(300)  # the slide-in transition
    page.touchscreen.tap(370, 400)  # the strip of chat still visible beside the sidebar
    expect(sidebar).not_to_be_in_viewport()
    expect(menu).to_have_attribute("aria-expanded", "false")
    # And it opens again.
    menu.tap()
    expect(sidebar).to_be_in_viewport(ratio=1)
