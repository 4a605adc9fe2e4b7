"""Accessibility: axe-core (pinned under tests/vendor/, test-only) finds no serious or
critical violation on the chat, sign-in, share and usage pages; the skip link, the single
live region and the edit form's keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import answer, send_message, wait_status
from tests.harness.servers import LiveServer

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
RICH = (
    "[[sim:echo]]\n## Heading\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n"
    "```python\nprint('hi')\n```\n\nMaths $x^2$ and\n\n$$\\frac{1}{2}$$\n\n"
    "```mermaid\ngraph TD\n  A --> B\n```\n\n[a link](https://example.com)"
)


def serious(page: Page) -> list[str]:
    """axe's serious and critical violations on the page as it is now."""
    result = page.evaluate(
        """async () => {
            const found = await axe.run(document, { resultTypes: ["violations"] });
            return found.violations
              .filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => `${v.id} (${v.impact}): ${v.help} — ` + v.nodes.slice(0, 3)
                .map((n) => n.target.join(" ") + " " + n.failureSummary).join(" | "));
        }"""
    )
    return list(result)


def test_no_serious_violations_on_chat_sign_in_share_and_usage_pages(
    context: BrowserContext,
    new_context: Callable[..., BrowserContext],
    chat_server: LiveServer,
) -> None:
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto("/")
    assert serious(page) == [], "empty chat page"
    turn = send_message(page, RICH)
    wait_status(turn, "completed")
    expect(turn.locator(".diagram svg")).to_be_visible()
    expect(turn.locator(".katex").first).to_be_visible()
    assert serious(page) == [], "chat page with an answer: " + "\n".join(serious(page))

    page.click("#settings-btn")
    assert serious(page) == [], "chat page with its settings open"
    page.get_by_role("button", name="Close options").click()
    page.click("#model-btn")
    assert serious(page) == [], "chat page with the model picker open"
    page.keyboard.press("Escape")

    page.click("#share-btn")
    page.click("#share-create")
    share_url = page.locator(".share-url").first.input_value()
    assert serious(page) == [], "chat page with the share dialog"

    stranger = new_context(chat_server.url)
    stranger.add_init_script(path=str(AXE))
    shared = stranger.new_page()
    shared.goto(share_url)
    expect(shared.locator(".katex").first).to_be_visible()
    assert serious(shared) == [], "share page"
    shared.goto("/login/")
    assert serious(shared) == [], "sign-in page"

    page.goto("/admin/usage/")
    assert serious(page) == [], "usage page"


def test_skip_link_single_live_region_and_edit_keys(page: Page) -> None:
    page.goto("/")
    turn = send_message(page, "[[sim:slow]] first message")
    wait_status(turn, "completed")
    # Only the answer being written is announced: no finished answer is a live region.
    expect(page.locator("#messages [aria-live]")).to_have_count(0)

    # The skip link is the first thing to focus, and takes the keyboard to the messages.
    first = page.evaluate(
        "document.querySelector('a[href], button, input, select, textarea').textContent"
    )
    assert first == "Skip to messages"
    skip = page.get_by_role("link", name="Skip to messages")
    skip.focus()
    expect(skip).to_be_visible()
    skip.press("Enter")
    expect(page.locator("#messages")).to_be_focused()

    # The edit form: Escape cancels, Shift+Enter adds a line, Enter sends.
    turn.get_by_role("button", name="Edit message").click()
    area = turn.locator(".edit-form textarea")
    expect(area).to_be_focused()
    area.press("Escape")
    expect(turn.locator(".edit-form")).to_have_count(0)
    turn.get_by_role("button", name="Edit message").click()
    area = turn.locator(".edit-form textarea")
    area.fill("edited")
    area.press("Shift+Enter")
    area.type("second line")
    expect(area).to_have_value("edited\nsecond line")
    area.press("Enter")
    edited = page.locator("#messages > .turn").first
    expect(edited.locator(".user-text")).to_have_text("edited\nsecond line")


def test_the_answer_being_written_is_announced_in_sentences(page: Page) -> None:
    page.goto("/")
    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    page.evaluate(
        """() => {
            window.__spoken = [];
            const el = document.getElementById("announcer");
            new MutationObserver(() => window.__spoken.push(el.textContent))
              .observe(el, { childList: true, characterData: true, subtree: true });
        }"""
    )
    turn = send_message(page, "[[sim:slow]] announce this")
    wait_status(turn, "completed")
    spoken = set(page.evaluate("window.__spoken")) - {""}
    # Sentence-sized pieces, as words: no Markdown syntax, never a word cut in two.
    assert any("Offline simulator — not a real Gemini answer." in p for p in spoken), spoken
    assert any("You said: “announce this”" in p for p in spoken), spoken
    final = " ".join(answer(turn).inner_text().split())
    for piece in spoken:
        assert len(piece) <= 400 and "**" not in piece and "`" not in piece, piece
        assert piece.split()[-1] in final.split(), piece
