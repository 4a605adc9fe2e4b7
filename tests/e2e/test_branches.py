"""Regenerate and edit make sibling versions of a message; the page shows one branch."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.harness.browser import (
    answer_text,
    screenshot,
    send_message,
    turn_by_id,
    turn_id,
    turns,
    wait_status,
)

FIRST = "Tell me about branches of a tree"
EDITED = "Tell me about roots instead"
FOLLOW_UP = "And what about the leaves?"


def new_version(page: Page, old: int) -> Locator:
    """The single turn on screen once it is no longer `old`."""
    expect(turn_by_id(page, old)).to_have_count(0)
    expect(turns(page)).to_have_count(1)
    return turn_by_id(page, turn_id(turns(page).first))


def edit(turn: Locator, old: str, text: str) -> None:
    turn.get_by_role("button", name="Edit message").click()
    area = turn.get_by_role("textbox", name="Edit message")
    expect(area).to_be_focused()
    expect(area).to_have_value(old)
    area.fill(text)
    turn.locator(".edit-form").get_by_role("button", name="Send").click()


def first_and_regenerated(page: Page) -> tuple[int, str, Locator]:
    """An answer and its regeneration (2/2, on screen): the first's id and text, the second."""
    page.goto("/")
    first = send_message(page, FIRST)
    wait_status(first, "completed")
    first_id = turn_id(first)
    first_answer = answer_text(first)
    expect(first.locator(".branch-nav")).to_have_count(0)

    first.get_by_role("button", name="Regenerate answer").click()
    second = new_version(page, first_id)
    expect(second.locator(".branch-pos")).to_have_text("2/2")
    expect(second.locator(".user-text")).to_have_text(FIRST)
    wait_status(second, "completed")
    expect(second.get_by_role("button", name="Next version")).to_be_disabled()
    expect(second.get_by_role("button", name="Previous version")).to_be_enabled()
    return first_id, first_answer, second


def test_regenerate_edit_and_a_follow_up_continue_the_branch(quick_page: Page) -> None:
    page = quick_page
    first_id, _, second = first_and_regenerated(page)
    second_id = turn_id(second)
    screenshot(page, "branches")

    edit(second, FIRST, EDITED)
    third = new_version(page, second_id)
    third_id = turn_id(third)
    expect(third.locator(".branch-pos")).to_have_text("3/3")
    expect(third.locator(".user-text")).to_have_text(EDITED)
    wait_status(third, "completed")
    expect(third.locator(".steps")).to_contain_text(f"You said: “{EDITED}”")
    assert len({first_id, second_id, third_id}) == 3

    follow = send_message(page, FOLLOW_UP)
    expect(follow).to_have_attribute("data-parent", str(third_id))
    wait_status(follow, "completed")
    expect(turns(page)).to_have_count(2)
    # The answer was generated on the edited branch: its history is the edited message.
    steps = follow.locator(".steps")
    expect(steps).to_contain_text(f"You said: “{FOLLOW_UP}”")
    expect(steps).to_contain_text("Earlier in this conversation you said")
    expect(steps).to_contain_text(EDITED)
    expect(steps).not_to_contain_text(FIRST)
    screenshot(page, "branches-follow-up")

    # Opening the conversation again shows the same branch.
    page.reload()
    expect(turns(page)).to_have_count(2)
    expect(turns(page).nth(0)).to_have_attribute("data-turn", str(third_id))
    expect(turns(page).nth(0).locator(".branch-pos")).to_have_text("3/3")
    expect(turns(page).nth(1)).to_have_attribute("data-turn", str(turn_id(follow)))
    expect(turns(page).nth(1).locator(".steps")).to_contain_text(EDITED)


def test_previous_version_shows_the_first_answer(quick_page: Page) -> None:
    page = quick_page
    first_id, first_answer, second = first_and_regenerated(page)
    second.get_by_role("button", name="Previous version").click()
    # The server remembers the branch, so the address loses its ?turn= again.
    expect(turn_by_id(page, first_id)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    page.wait_for_timeout(1000)  # the websocket subscription's snapshot frames
    back = turn_by_id(page, first_id)
    expect(back.locator(".branch-pos")).to_have_text("1/2", timeout=1000)
    expect(turns(page)).to_have_count(1)
    assert answer_text(back) == first_answer


def test_reload_after_switching_versions_keeps_the_branch(quick_page: Page) -> None:
    page = quick_page
    first_id, _, second = first_and_regenerated(page)
    second.get_by_role("button", name="Previous version").click()
    expect(turn_by_id(page, first_id)).to_be_visible()
    # The reloaded page's script has run (it drops ?turn=): Enter now sends, not a newline.
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    expect(turns(page)).to_have_count(1)
    follow = send_message(page, FOLLOW_UP)
    wait_status(follow, "completed")

    # What a reload of the address bar renders (before any websocket frame).
    html = page.request.get(page.url).text()
    assert f'id="turn-{turn_id(follow)}"' in html
