"""The conversation list: search, rename, pin, archive and delete (in-page dialogs, never the
browser's prompt() or confirm(): any browser dialog fails the test)."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Locator, Page, expect

from tests.harness.browser import send_message, wait_status

ALPHA = "Zebra alpha picnic plan"
BETA = "Zebra beta budget review"
RENAMED = "Zebra gamma renamed"


def start_conversation(page: Page, text: str) -> int:
    page.goto("/")
    turn = send_message(page, text)
    wait_status(turn, "completed")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def item(page: Page, conversation: int) -> Locator:
    return page.locator(f'#conv-list [data-conversation="{conversation}"]')


def titles(page: Page) -> Locator:
    return page.locator("#conv-list .conv-title")


def act(page: Page, conversation: int, action: str) -> None:
    """Open the conversation's ⋯ menu (unless it is open) and pick `action`."""
    entry = item(page, conversation)
    if entry.locator("details.conv-menu[open]").count() == 0:
        entry.locator(".conv-menu summary").click()
    entry.locator(f'[data-conv-action="{action}"]').click()


def search(page: Page, text: str) -> None:
    page.fill("#conv-search", text)


def test_search_rename_pin_archive_and_delete(quick_page: Page) -> None:
    page = quick_page
    browser_dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: browser_dialogs.append(dialog))
    alpha = start_conversation(page, ALPHA)
    beta = start_conversation(page, BETA)
    expect(item(page, beta)).to_have_class(re.compile(r"\bactive\b"))
    expect(item(page, beta).locator(".conv-link")).to_have_attribute("aria-current", "page")
    expect(titles(page).first).to_have_text(BETA)  # newest first

    search(page, "zebra")
    expect(titles(page)).to_have_text([BETA, ALPHA])
    search(page, "alpha picnic")
    expect(titles(page)).to_have_text([ALPHA])
    search(page, "no-such-conversation-qq")
    expect(page.locator("#conv-list .conv-empty")).to_have_text(
        "No conversation matches “no-such-conversation-qq”."
    )
    search(page, "")
    expect(item(page, alpha)).to_be_visible()
    expect(item(page, beta)).to_be_visible()

    # Rename in an in-page dialog; cancelling (or Escape) changes nothing.
    act(page, alpha, "rename")
    dialog = page.get_by_role("dialog", name="Rename conversation")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_be_focused()
    expect(dialog.get_by_label("Title")).to_have_value(ALPHA)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(item(page, alpha).locator(".conv-title")).to_have_text(ALPHA)
    # Focus goes back to the ⋯ button the menu opened from.
    expect(item(page, alpha).locator(".conv-menu summary")).to_be_focused()
    act(page, alpha, "rename")
    dialog.get_by_label("Title").fill(RENAMED)
    dialog.get_by_label("Title").press("Enter")
    expect(dialog).to_be_hidden()
    expect(item(page, alpha).locator(".conv-title")).to_have_text(RENAMED)
    expect(page.locator("#chat-title")).to_have_text(BETA)  # not the one on screen

    # Renaming the conversation on screen renames its heading too.
    act(page, beta, "rename")
    dialog.get_by_label("Title").fill("Zebra beta, renamed here")
    dialog.get_by_role("button", name="Rename").click()
    expect(page.locator("#chat-title")).to_have_text("Zebra beta, renamed here")
    expect(item(page, beta).locator(".conv-title")).to_have_text("Zebra beta, renamed here")

    # Pinned conversations come first, marked with a pin.
    act(page, alpha, "pin")
    expect(titles(page).first).to_have_text(RENAMED)
    expect(item(page, alpha)).to_have_class(re.compile(r"\bpinned\b"))
    expect(item(page, alpha).get_by_label("Pinned")).to_be_visible()
    expect(item(page, alpha).locator('[data-conv-action="unpin"]')).to_have_text("Unpin")
    page.reload()
    expect(titles(page).first).to_have_text(RENAMED)

    # Archived conversations leave the list and show under "Archived".
    act(page, alpha, "archive")
    expect(item(page, alpha)).to_have_count(0)
    page.get_by_label("Archived").check()
    expect(item(page, alpha)).to_be_visible()
    expect(item(page, beta)).to_have_count(0)
    expect(item(page, alpha).locator('[data-conv-action="unarchive"]')).to_have_text("Unarchive")
    page.get_by_label("Archived").uncheck()
    expect(item(page, beta)).to_be_visible()
    expect(item(page, alpha)).to_have_count(0)

    # Delete asks first, in a dialog; Escape keeps the conversation.
    act(page, beta, "delete")
    ask = page.get_by_role("dialog", name="Delete?")
    expect(ask).to_contain_text("Delete “Zebra beta, renamed here”? This cannot be undone.")
    expect(ask.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    page.keyboard.press("Escape")
    expect(ask).to_be_hidden()
    expect(item(page, beta)).to_be_visible()
    act(page, beta, "delete")
    ask.get_by_role("button", name="Delete").click()
    # Deleting the conversation on screen leads to a new chat.
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#empty-state")).to_be_visible()
    expect(item(page, beta)).to_have_count(0)
    response = page.goto(f"/c/{beta}/")
    assert response is not None and response.status == 404

    # The archived one is still there.
    response = page.goto(f"/c/{alpha}/")
    assert response is not None and response.status == 200
    expect(page.locator("#chat-title")).to_have_text(RENAMED)
    assert browser_dialogs == []
