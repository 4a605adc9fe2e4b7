"""Untrusted text in the page: the user's message and the model's answer never run as code."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import answer, send_message, state, wait_for_text, wait_status

PAYLOAD = (
    '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
    "[link](javascript:window.__xss=3)"
)


def xss(page: Page) -> int:
    return int(page.evaluate("window.__xss"))


def test_markup_in_messages_and_answers_stays_text(page: Page, context: BrowserContext) -> None:
    context.add_init_script("window.__xss = 0")
    # Links in answers open new tabs: close them, their page does not matter here.
    context.on("page", lambda popup: popup.close() if popup != page else None)
    page.goto("/")
    assert xss(page) == 0

    turn = send_message(page, PAYLOAD)
    user = turn.locator(".msg-user .user-text")
    expect(user).to_have_text(PAYLOAD)
    assert user.evaluate("el => el.children.length") == 0

    # While it streams, the quoted payload is plain text too.
    live = wait_for_text(turn, 120)
    assert "<img src=x" in live
    assert turn.locator(".msg-model img, .msg-model script").count() == 0
    assert xss(page) == 0

    wait_status(turn, "completed")
    steps = answer(turn)
    expect(steps).to_contain_text("You said:")
    expect(steps).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(steps).to_contain_text("<script>window.__xss=2</script>")
    assert steps.locator("img, script, iframe, [onerror]").count() == 0
    assert page.locator('[href^="javascript:" i]').count() == 0

    links = steps.locator("a")
    for index in range(links.count()):
        links.nth(index).click()
    page.wait_for_timeout(300)
    assert xss(page) == 0

    # The page rendered by the server (answer, title, sidebar) is just as inert.
    page.reload()
    assert xss(page) == 0
    assert state(page.locator("#messages > .turn").first)[0] == "completed"
    expect(page.locator("#messages .user-text")).to_have_text(PAYLOAD)
    expect(page.locator("#messages .turn .markdown").first).to_contain_text("<script>")
    assert page.locator("#messages img, #messages script, #conv-list img").count() == 0
    expect(page.locator("#chat-title")).to_contain_text("<img src=x")
    expect(page.locator("#conv-list .active .conv-title")).to_contain_text("<img src=x")
    for link in page.locator("#messages .markdown a").all():
        link.click()
    page.wait_for_timeout(300)
    assert xss(page) == 0
