"""What the live answer shows before its step ends, and what survives the final HTML and a
reload: code highlighted and diagrams drawn as soon as their fence closes, thought summaries
arriving in pieces, one Thinking block and one flow of text over a tool round, and the
thinking time kept on the turn."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.test_rendering import ECHO, live_source, wait_live_source
from tests.harness.browser import answer, screenshot, send_message, wait_status
from tests.harness.servers import LiveServer

# Long enough after the fences that the step is still streaming when they have closed.
TAIL = "\n\n" + "\n\n".join(f"Paragraph {n} after the fences, still streaming." for n in range(12))

CODE = "```python\ndef double(x):\n    return x * 2  # twice\n```\n"
DIAGRAM = "```mermaid\ngraph TD\n  A[Start] --> B[End]\n```\n"


def test_code_is_highlighted_once_its_fence_closes_and_the_final_html_matches(
    page: Page, new_context: Callable[..., BrowserContext], chat_server: LiveServer
) -> None:
    page.goto("/")
    turn = send_message(page, ECHO + "Intro.\n\n" + CODE + TAIL)
    wait_live_source(page, "# twice\n```\n")
    live = turn.locator(".step-live .live-text .code-block")
    expect(live.locator("span.hljs-keyword").first).to_have_text("def")
    expect(live.locator("span.hljs-comment")).to_have_text("# twice")
    assert "Paragraph 11" not in live_source(page), "the answer finished too soon"
    live_html = live.locator("pre").inner_html()

    wait_status(turn, "completed")
    final = answer(turn).locator(".markdown .code-block")
    expect(final.locator("span.hljs-keyword").first).to_have_text("def")
    assert final.locator("pre").inner_html() == live_html  # no change when the final arrives
    expect(final.locator(".code-lang")).to_have_text("python")
    final.get_by_role("button", name="Wrap").click()
    expect(final).to_have_class(re.compile(r"\bwrapped\b"))
    page.reload()
    reloaded = answer(page.locator("#messages > .turn").first).locator(".code-block")
    assert reloaded.locator("pre").inner_html() == live_html

    # A share page loads the same highlighter (a static script, allowed by its CSP).
    page.click("#share-btn")
    page.click("#share-create")
    stranger = new_context(chat_server.url).new_page()
    stranger.goto(page.locator(".share-url").first.input_value())
    shared = stranger.locator("#messages .code-block")
    expect(shared.locator("span.hljs-keyword").first).to_have_text("def")
    assert shared.locator("pre").inner_html() == live_html


def test_an_open_fence_waits_for_its_closing_fence(quick_page: Page) -> None:
    page = quick_page
    page.goto("/")
    page.wait_for_function("document.getElementById('messages').dataset.ready")
    states = page.evaluate(
        """async ([code, diagram]) => {
            const { LiveMarkdown } = await import("/static/js/markdown/live.js");
            const el = document.createElement("div");
            document.getElementById("messages").append(el);
            const live = new LiveMarkdown(el);
            const states = [];
            for (const piece of [code.slice(0, 30), code.slice(30), diagram]) {
              live.append(piece);
              live.render();
              const block = el.querySelector(".code-block");
              const spans = block.querySelectorAll("pre span").length;
              states.push([block.hasAttribute("data-open"), spans > 0]);
            }
            el.remove();
            return states;
        }""",
        [CODE, "Then.\n"],
    )
    assert states == [[True, False], [False, True], [False, True]]


def test_a_diagram_is_drawn_live_before_the_step_ends(page: Page) -> None:
    page.goto("/")
    turn = send_message(page, ECHO + "Intro.\n\n" + DIAGRAM + TAIL)
    wait_live_source(page, "B[End]\n```\n")
    live = turn.locator(".step-live .live-text .code-block.has-diagram")
    expect(live.locator(".diagram svg")).to_be_visible()
    expect(live.locator(".diagram")).to_contain_text("Start")
    assert "Paragraph 11" not in live_source(page), "the answer finished too soon"
    live.get_by_role("button", name="Source").click()
    wait_status(turn, "completed")
    final = answer(turn).locator(".code-block.has-diagram")
    expect(final.locator(".diagram svg")).to_be_visible()
    expect(final.locator("pre")).to_be_hidden()


def test_thought_summaries_arrive_in_pieces_and_the_time_survives_a_reload(
    page: Page,
    context: BrowserContext,
    new_context: Callable[..., BrowserContext],
    chat_server: LiveServer,
) -> None:
    context.add_init_script(
        """window.__summaries = new Set();
        new MutationObserver(() => {
          const text = document.querySelector(".step-live details.thinking .live-text");
          if (text && text.liveSource) window.__summaries.add(text.liveSource);
        }).observe(document, { subtree: true, childList: true, characterData: true });"""
    )
    page.goto("/")
    turn = send_message(page, "[[sim:slow]] think it over")
    wait_status(turn, "completed")
    pieces = sorted(page.evaluate("[...window.__summaries]"), key=len)
    assert len(pieces) >= 3, pieces  # the summary grew piece by piece
    assert all(b.startswith(a) for a, b in zip(pieces, pieces[1:], strict=False))
    label = answer(turn).locator("details.thinking > summary")
    expect(label).to_have_text(re.compile(r"^Thought for \d+ s$"))
    shown = label.inner_text()

    page.reload()
    label = answer(page.locator("#messages > .turn").first).locator("details.thinking > summary")
    expect(label).to_have_text(shown)  # the server's figure, kept on the turn

    page.click("#share-btn")
    page.click("#share-create")
    share_url = page.locator(".share-url").first.input_value()
    stranger = new_context(chat_server.url).new_page()
    stranger.goto(share_url)
    expect(stranger.locator("#messages details.thinking > summary")).to_have_text(shown)


def test_one_thinking_block_and_one_text_over_a_tool_round(
    page: Page, context: BrowserContext
) -> None:
    context.add_init_script(
        """window.__most = 0;
        new MutationObserver(() => {
          const n = document.querySelectorAll("#messages .turn details.thinking").length;
          window.__most = Math.max(window.__most, n);
        }).observe(document, { subtree: true, childList: true });"""
    )
    page.goto("/")
    page.click("#settings-btn")
    page.locator("#settings input[name=tools][value=calculator]").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Saved.")
    turn = send_message(page, "[[sim:slow]] Work out Twelve")
    wait_status(turn, "completed")

    for _ in range(2):  # the live page, then the page the server renders
        steps = answer(turn)
        expect(steps.locator(".tool-card")).to_have_count(2)  # the call and its result
        thinking = steps.locator("details.thinking")
        expect(thinking).to_have_count(1)
        thinking.locator("summary").click()
        expect(thinking.locator(".markdown strong")).to_have_count(2)  # both rounds' plans
        expect(steps.locator(":scope > .step > .markdown")).to_have_count(1)
        page.reload()
        turn = page.locator("#messages > .turn").first
    assert page.evaluate("window.__most") == 1, "a second Thinking block showed"


def test_screenshots_of_a_streaming_answer(page: Page) -> None:
    rich = (
        "## Results by team\n\n| Team | Score | Trend |\n|:-----|------:|:-----:|\n"
        "| Ada | 10 | up |\n| Alan | 9 | flat |\n| Grace | 12 | up |\n\n" + CODE + TAIL
    )
    for name, size in (("desktop", (1440, 900)), ("phone", (390, 844))):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto("/")
        turn = send_message(page, ECHO + rich)
        wait_live_source(page, "Paragraph 2 ")
        live = turn.locator(".step-live .live-text")
        expect(live.locator("h2")).to_have_text("Results by team")
        expect(live.locator("table td")).to_have_count(9)
        expect(live.locator(".code-block span.hljs-keyword").first).to_be_visible()
        live.locator("h2").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('.step-live h2').scrollIntoView()")
        screenshot(page, f"streaming-{name}")
        wait_status(turn, "completed")
