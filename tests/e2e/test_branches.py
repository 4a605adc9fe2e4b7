"""Regenerate and edit make sibling versions of a message; the page shows one branch.

Regenerations are counted under the answer (‹ 2/3 ›), edits under the question, and
switching versions swaps the branch in place: no navigation, and the server remembers it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.harness.browser import (
    answer_text,
    screenshot,
    send_message,
    turn_by_id,
    turn_id,
    turns,
    wait_status,
)
from tests.harness.servers import LiveServer

FIRST = "Tell me about branches of a tree"
EDITED = "Tell me about roots instead"
FOLLOW_UP = "And what about the leaves?"
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES))
def sized_page(
    request: pytest.FixtureRequest,
    new_context: Callable[..., BrowserContext],
    quick_server: LiveServer,
    quick_admin_state: object,
) -> Page:
    """A page of the admin on `quick_server`, at a desktop's and at a phone's size."""
    width, height = SIZES[request.param]
    context = new_context(
        quick_server.url, quick_admin_state, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.size_name = request.param  # type: ignore[attr-defined]
    return page


def question_nav(turn: Locator) -> Locator:
    return turn.get_by_role("navigation", name="Versions of this message")


def answer_nav(turn: Locator) -> Locator:
    return turn.get_by_role("navigation", name="Versions of this answer")


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


def mark_document(page: Page) -> None:
    """A flag on the window: still there later means the page was never reloaded."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Page) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def first_and_regenerated(page: Page) -> tuple[int, str, Locator]:
    """An answer and its regeneration (answer 2/2, on screen): the first's id and text."""
    page.goto("/")
    first = send_message(page, FIRST)
    wait_status(first, "completed")
    first_id = turn_id(first)
    first_answer = answer_text(first)
    expect(first.locator(".branch-nav")).to_have_count(0)

    first.get_by_role("button", name="Regenerate answer").click()
    second = new_version(page, first_id)
    wait_status(second, "completed")
    # Counted under the answer; the question has one version only.
    expect(answer_nav(second).locator(".branch-pos")).to_have_text("2/2")
    expect(question_nav(second)).to_have_count(0)
    expect(second.locator(".user-text")).to_have_text(FIRST)
    expect(second.get_by_role("button", name="Next answer")).to_be_disabled()
    expect(second.get_by_role("button", name="Previous answer")).to_be_enabled()
    return first_id, first_answer, second


def test_regenerate_edit_and_a_follow_up_continue_the_branch(sized_page: Page) -> None:
    page = sized_page
    first_id, _, second = first_and_regenerated(page)
    second_id = turn_id(second)
    screenshot(page, f"branches-{page.size_name}")  # type: ignore[attr-defined]

    edit(second, FIRST, EDITED)
    third = new_version(page, second_id)
    third_id = turn_id(third)
    # An edit is a new version of the question, with an answer of its own.
    expect(question_nav(third).locator(".branch-pos")).to_have_text("2/2")
    expect(answer_nav(third)).to_have_count(0)
    expect(third.locator(".user-text")).to_have_text(EDITED)
    # The first message was edited: the title follows it (nobody renamed it by hand).
    expect(page.locator("#chat-title")).to_have_text(EDITED)
    wait_status(third, "completed")
    expect(third.locator(".steps")).to_contain_text(f"You said: “{EDITED}”")
    assert len({first_id, second_id, third_id}) == 3

    follow = send_message(page, FOLLOW_UP)
    expect(follow).to_have_attribute("data-parent", str(third_id))
    wait_status(follow, "completed")
    expect(turns(page)).to_have_count(2)
    steps = follow.locator(".steps")
    expect(steps).to_contain_text("Earlier in this conversation you said")
    expect(steps).to_contain_text(EDITED)
    expect(steps).not_to_contain_text(FIRST)

    # Opening the conversation again shows the same branch.
    page.reload()
    expect(turns(page)).to_have_count(2)
    expect(turns(page).nth(0)).to_have_attribute("data-turn", str(third_id))
    expect(question_nav(turns(page).nth(0)).locator(".branch-pos")).to_have_text("2/2")
    expect(turns(page).nth(1)).to_have_attribute("data-turn", str(turn_id(follow)))


def test_switching_answers_swaps_in_place(sized_page: Page) -> None:
    page = sized_page
    first_id, first_answer, second = first_and_regenerated(page)
    second_id = turn_id(second)
    url = page.url
    mark_document(page)
    second.get_by_role("button", name="Previous answer").click()
    back = turn_by_id(page, first_id)
    expect(answer_nav(back).locator(".branch-pos")).to_have_text("1/2")
    expect(turns(page)).to_have_count(1)
    assert answer_text(back) == first_answer
    # No navigation happened, the address is the conversation's, the focus stayed on the nav.
    assert same_document(page) and page.url == url
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    expect(back.get_by_role("button", name="Next answer")).to_be_focused()
    # Keyboard: Enter on the focused control goes forward again.
    page.keyboard.press("Enter")
    expect(turn_by_id(page, second_id)).to_be_visible()
    expect(turn_by_id(page, first_id)).to_have_count(0)
    assert same_document(page)


def test_switching_questions_swaps_the_branch_below_too(sized_page: Page) -> None:
    page = sized_page
    _, _, second = first_and_regenerated(page)
    second_id = turn_id(second)
    edit(second, FIRST, EDITED)
    third = new_version(page, second_id)
    wait_status(third, "completed")
    follow = send_message(page, FOLLOW_UP)
    wait_status(follow, "completed")
    follow_id = turn_id(follow)

    mark_document(page)
    third.get_by_role("button", name="Previous version").click()
    # The first question's newest answer, and nothing of the edited branch.
    shown = turn_by_id(page, second_id)
    expect(shown.locator(".user-text")).to_have_text(FIRST)
    expect(question_nav(shown).locator(".branch-pos")).to_have_text("1/2")
    expect(answer_nav(shown).locator(".branch-pos")).to_have_text("2/2")
    expect(turns(page)).to_have_count(1)
    assert same_document(page)
    screenshot(page, f"branches-switched-{page.size_name}")  # type: ignore[attr-defined]

    # The server remembered the branch: a reload shows it; forward again brings the follow-up.
    page.reload()
    expect(turns(page)).to_have_count(1)
    expect(turns(page).first).to_have_attribute("data-turn", str(second_id))
    mark_document(page)
    turns(page).first.get_by_role("button", name="Next version").click()
    expect(turns(page)).to_have_count(2)
    expect(turns(page).nth(1)).to_have_attribute("data-turn", str(follow_id))
    assert same_document(page)


def test_a_follow_up_after_switching_continues_that_branch(sized_page: Page) -> None:
    page = sized_page
    first_id, _, second = first_and_regenerated(page)
    second.get_by_role("button", name="Previous answer").click()
    expect(turn_by_id(page, first_id)).to_be_visible()
    follow = send_message(page, FOLLOW_UP)
    expect(follow).to_have_attribute("data-parent", str(first_id))
    wait_status(follow, "completed")
    # What a reload of the address bar renders (before any websocket frame).
    html = page.request.get(page.url).text()
    assert f'id="turn-{turn_id(follow)}"' in html
