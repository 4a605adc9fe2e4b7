"""Tools Gemini runs itself, in Chromium: an admin registers a remote MCP server (its token
never reaches a page), a person switches it on and sees the call and result cards, live and
after a reload; Google Maps answers show places credited to Google Maps, and the person's
location is sent only once the browser was allowed to give it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.client.mcp_server import McpBehaviour, serve_mcp
from tests.e2e.test_accessibility import AXE, serious
from tests.e2e.test_csp import open_settings
from tests.e2e.test_team_admin import DESKTOP, PHONE, fits_width
from tests.harness.browser import (
    TIMEOUT_MS,
    answer_text,
    screenshot,
    send_message,
    signed_in_as,
    wait_status,
)
from tests.harness.servers import LiveServer

SECRET = "e2e-mcp-secret-41d9"
PERSON = ("tessa", "Tessa-Tools-2026")


@pytest.fixture(scope="module")
def person_state(browser: Browser, quick_server: LiveServer, quick_admin_state: Any) -> Any:
    """A member of the team (not an admin) of this module's own, added on the people page, so
    the conversations made here do not show in other tests' sidebars."""
    context = browser.new_context(base_url=quick_server.url, storage_state=quick_admin_state)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/team/")
        form = page.locator("#create-person")
        form.get_by_label("Username").fill(PERSON[0])
        form.get_by_label("Password").fill(PERSON[1])
        form.get_by_role("button", name="Add person").click()
        expect(page.locator(f'tr[data-person="{PERSON[0]}"]')).to_be_visible()
    finally:
        context.close()
    return signed_in_as(browser, quick_server, *PERSON)


def both_widths(page: Page, name: str, focus: Locator | None = None) -> None:
    """Screenshots at desktop and phone widths (settings closed, `focus` in view)."""
    close_settings(page)
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page.set_viewport_size(size)
        # The sidebar slides away at phone width: shoot once it has.
        page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running')"
        )
        if focus is not None:
            focus.scroll_into_view_if_needed()
        if size is PHONE:
            fits_width(page)
        screenshot(page, f"tools-{name}{suffix}")
    page.set_viewport_size(DESKTOP)


def remove_server(admin: Page, name: str) -> None:
    """Removed once used, so other tests' settings panels stay as they were."""
    admin.goto("/team/mcp/")
    admin.get_by_role("button", name=f"Remove {name}").click()
    expect(admin.locator(f'tr[data-server="{name}"]')).to_have_count(0)


def new_chat(page: Page) -> None:
    page.goto("/")
    open_settings(page)


def close_settings(page: Page) -> None:
    if page.locator("#settings-dialog[open]").count():
        page.click("#settings-close")


def switch_on(page: Page, chip: str) -> None:
    """The chip beside the message box (the options sheet closed first)."""
    close_settings(page)
    toggle = page.locator(".chip-toggle", has_text=chip)
    if toggle.get_attribute("aria-pressed") != "true":  # it may be this person's default
        toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")


def test_an_admin_registers_an_mcp_server_and_a_person_sees_its_cards(
    new_context: Callable[..., BrowserContext],
    quick_server: LiveServer,
    quick_admin_state: Any,
    person_state: Any,
) -> None:
    with serve_mcp(McpBehaviour(token=SECRET)) as (url, behaviour):
        admin_context = new_context(quick_server.url, quick_admin_state, viewport=DESKTOP)
        admin_context.add_init_script(path=str(AXE))
        admin = admin_context.new_page()
        admin.goto("/team/")
        admin.get_by_role("link", name="MCP servers").click()
        form = admin.locator("#add-mcp")
        form.get_by_label("Name").fill("calc")
        form.get_by_label("URL").fill(url)
        form.get_by_label("Headers").fill(f"Authorization: Bearer {SECRET}")
        form.get_by_label("Allowed tools").fill("add")
        form.get_by_role("button", name="Add server").click()
        row = admin.locator('tr[data-server="calc"]')
        expect(row).to_contain_text("set")
        expect(row).to_contain_text("add")
        assert SECRET not in admin.content()
        assert serious(admin) == [], "MCP servers page"
        both_widths(admin, "mcp-admin")
        admin.get_by_role("link", name="Change calc").click()
        expect(admin.locator("#headers-state")).to_contain_text("Headers are set")
        assert SECRET not in admin.content()
        assert serious(admin) == [], "MCP server edit page"
        both_widths(admin, "mcp-edit")

        person_context = new_context(quick_server.url, person_state, viewport=DESKTOP)
        person_context.add_init_script(path=str(AXE))
        person = person_context.new_page()
        new_chat(person)
        person.check('input[name=mcp_servers][value="calc"]')
        close_settings(person)
        expect(person.locator(".chip-toggle", has_text="MCP servers")).to_have_attribute(
            "aria-pressed", "true"
        )
        turn = send_message(person, "Please add 2 and 3 together")
        wait_status(turn, "completed")
        open_settings(person)
        assert serious(person) == [], "an answer with MCP cards, and the settings"
        close_settings(person)
        call = turn.locator('.tool-card[data-tool="mcp_server_tool_call"]')
        result = turn.locator('.tool-card[data-tool="mcp_server_tool_result"]')
        expect(call).to_contain_text("calc · add")
        expect(result).to_contain_text("calc · add")
        assert "I called add on MCP server calc" in answer_text(turn)
        call.locator("summary").click()
        result.locator("summary").click()
        expect(result.locator(".tool-output")).to_be_visible()
        assert SECRET not in person.content()
        sent = {k.lower(): v for k, v in behaviour.calls[-1]["headers"].items()}
        assert sent["authorization"] == f"Bearer {SECRET}"
        both_widths(person, "mcp-cards", call)

        person.reload()
        expect(person.locator('.tool-card[data-tool="mcp_server_tool_result"]')).to_have_count(1)
        assert SECRET not in person.content()
        remove_server(admin, "calc")


def test_a_server_that_is_down_answers_with_a_clear_error(
    new_context: Callable[..., BrowserContext],
    quick_server: LiveServer,
    quick_admin_state: Any,
    person_state: Any,
) -> None:
    with serve_mcp(McpBehaviour(status=503)) as (url, _):
        admin = new_context(quick_server.url, quick_admin_state).new_page()
        admin.goto("/team/mcp/")
        form = admin.locator("#add-mcp")
        form.get_by_label("Name").fill("flaky")
        form.get_by_label("URL").fill(url)
        form.get_by_role("button", name="Add server").click()
        expect(admin.locator('tr[data-server="flaky"]')).to_be_visible()
        person = new_context(quick_server.url, person_state, viewport=DESKTOP).new_page()
        new_chat(person)
        person.check('input[name=mcp_servers][value="flaky"]')
        close_settings(person)
        turn = send_message(person, "Please add 2 and 3 together")
        wait_status(turn, "completed")
        error = turn.locator('.tool-card.tool-error[data-tool="mcp_server_tool_result"]')
        expect(error).to_contain_text("flaky")
        expect(error).to_contain_text("failed")
        assert "I could not use add" in answer_text(turn) or "could not use" in answer_text(turn)
        assert "HTTP 503" in answer_text(turn)
        both_widths(person, "mcp-down", error)
        remove_server(admin, "flaky")


def test_maps_answers_show_places_and_the_location_goes_only_when_allowed(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, person_state: Any
) -> None:
    allowed = new_context(
        quick_server.url,
        person_state,
        viewport=DESKTOP,
        permissions=["geolocation"],
        geolocation={"latitude": 45.4642, "longitude": 9.19},
    ).new_page()
    new_chat(allowed)
    switch_on(allowed, "Google Maps")
    turn = send_message(allowed, "Find a quiet cafe near me")
    wait_status(turn, "completed")
    places = turn.locator("[data-maps-places]")
    expect(places.locator("li a")).to_have_count(3)
    expect(places.locator(".maps-attribution")).to_have_text("Google Maps")
    href = places.locator("li a").first.get_attribute("href") or ""
    assert href.startswith("https://maps.google.com/")
    expect(turn.locator(".sources + .maps-attribution")).to_contain_text("Google Maps")
    assert "near 45.4642, 9.1900" in answer_text(turn)
    both_widths(allowed, "maps", places)

    # Refused by the browser: the message goes, without a location.
    refused = new_context(quick_server.url, person_state, viewport=DESKTOP).new_page()
    new_chat(refused)
    switch_on(refused, "Google Maps")
    turn = send_message(refused, "Find a bookshop near me")
    wait_status(turn, "completed")
    expect(turn.locator("[data-maps-places] li a")).to_have_count(3)
    assert "near 45" not in answer_text(turn)


def test_url_context_shows_each_url_with_its_status(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, person_state: Any
) -> None:
    page = new_context(quick_server.url, person_state, viewport=DESKTOP).new_page()
    new_chat(page)
    switch_on(page, "URL context")
    turn = send_message(page, "Summarize https://example.com/guide please")
    wait_status(turn, "completed")
    result = turn.locator('.tool-card[data-tool="url_context_result"]')
    result.locator("summary").click()
    expect(result.locator("a")).to_have_text("https://example.com/guide")
    expect(result.locator(".url-status")).to_have_text("retrieved")
    both_widths(page, "url-context", result)
