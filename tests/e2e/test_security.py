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
    answer_md = page.locator("#messages .turn .step:not(:has(.thinking)) .markdown")
    expect(answer_md.first).to_contain_text("<script>")
    assert page.locator("#messages img, #messages script, #conv-list img").count() == 0
    expect(page.locator("#chat-title")).to_contain_text("<img src=x")
    expect(page.locator("#conv-list .active .conv-title")).to_contain_text("<img src=x")
    for link in page.locator("#messages .markdown a").all():
        link.click()
    page.wait_for_timeout(300)
    assert xss(page) == 0


HOSTILE = r"""Canaries follow.

<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>

[link](javascript:window.__xss=3) [data](data:text/html,<script>window.__xss=4</script>)
[vb](vbscript:msgbox) <javascript:window.__xss=5>

![remote](https://tracker.invalid/pixel.png)

```mermaid
graph TD
  A["<img src=x onerror=window.__xss=6>"] --> B["<script>window.__xss=7</script>"]
  click A "javascript:window.__xss=8"
  click B call window.__xss=9
```

Maths $\href{javascript:window.__xss=10}{x}$ and $\url{javascript:window.__xss=11}$ and
$\htmlClass{x}{y}$ and $\def\a{\a\a}\a$ and $\includegraphics{https://tracker.invalid/m.png}$.

A few sentences more, so that the answer is still streaming while the test looks at it.
The diagram above is drawn live, as soon as its fence closes, with the same strict settings.

The end."""


def test_hostile_markdown_never_runs_live_or_final(page: Page, context: BrowserContext) -> None:
    """Raw HTML, javascript: links, <img onerror>, a hostile Mermaid label and hostile KaTeX
    macros in streamed text: inert while streaming, when final, and after a reload."""
    context.add_init_script("window.__xss = 0")
    context.on("page", lambda popup: popup.close() if popup != page else None)
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if "tracker.invalid" in r.url else None)
    page.goto("/")
    turn = send_message(page, "[[sim:echo]] [[sim:slow]]\n" + HOSTILE)
    model = turn.locator(".msg-model")

    def inert() -> None:
        assert xss(page) == 0
        assert (
            model.locator("img, script, iframe, object, embed, [onerror], foreignObject").count()
            == 0
        )
        assert (
            page.locator(
                '[href^="javascript:" i], [href^="data:" i], [href^="vbscript:" i]'
            ).count()
            == 0
        )
        for link in model.locator("a[href]").all():
            assert link.get_attribute("rel") == "noopener noreferrer nofollow"
            assert link.get_attribute("href", timeout=1000).startswith("https://")

    page.wait_for_function(
        """() => [...document.querySelectorAll('.live-text')]
                 .some(n => (n.liveSource || '').includes('url{')
                            && n.querySelector('.code-block'))"""
    )
    inert()
    wait_status(turn, "completed")
    steps = answer(turn)
    expect(steps.locator(".code-block[data-diagram]")).not_to_have_attribute(
        "data-diagram", "pending"
    )
    expect(steps).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(steps).to_contain_text("<script>window.__xss=2</script>")
    inert()
    for link in steps.locator("a").all():
        link.click()
    page.wait_for_timeout(300)
    inert()

    page.reload()
    model = page.locator("#messages > .turn").first.locator(".msg-model")
    expect(model.locator(".code-block[data-diagram]")).not_to_have_attribute(
        "data-diagram", "pending"
    )
    page.wait_for_timeout(300)
    inert()
    assert not remote, f"a remote image was fetched: {remote}"
