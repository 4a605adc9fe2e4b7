"""Answers rendered as they stream: Markdown, maths, diagrams and code, live and final, the
server's HTML replacing the live version without a jump, the browser mirroring the server's
Markdown rules, and untrusted text that never runs, live or final."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import answer, screenshot, send_message, wait_status
from tests.harness.servers import LiveServer

ECHO = "[[sim:echo]] [[sim:slow]]\n"

RICH = r"""## Part 1: a table

| Name | Score |
|:-----|------:|
| Ada | 10 |
| Alan | 9 |

Some **bold** and ~~gone~~ text, money $5 and $10.

- [x] done
- [ ] todo

```python
def f(x):
    return x * 2
```

Maths $x^2$ inline and display:

$$\int_0^1 x^2\,dx = \frac{1}{3}$$

```mermaid
graph TD
  A[Start] --> B[End]
```

The end of the answer."""

# Record the height of the answer around each replacement of a live step by the server's HTML.
SWAP_PROBE = """
window.__swaps = [];
const replaceWith = Element.prototype.replaceWith;
Element.prototype.replaceWith = function (...nodes) {
  const text = this.matches(".step-live:not(.step-thought)");
  const steps = text ? this.closest(".steps") : null;
  const before = steps ? steps.getBoundingClientRect().height : 0;
  replaceWith.apply(this, nodes);
  if (steps) window.__swaps.push([before, steps.getBoundingClientRect().height]);
};
"""


def live_source(page: Page) -> str:
    return str(
        page.evaluate(
            "[...document.querySelectorAll('.live-text')].map(n => n.liveSource || '').join('')"
        )
    )


def wait_live_source(page: Page, text: str) -> None:
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('.live-text')]
                 .some(n => (n.liveSource || '').includes({json.dumps(text)}))""",
        timeout=30_000,
    )


def test_answer_renders_as_it_streams_then_swaps_without_a_jump(
    page: Page, context: BrowserContext
) -> None:
    context.add_init_script(SWAP_PROBE)
    page.goto("/")
    turn = send_message(page, ECHO + RICH)
    wait_live_source(page, "return x * 2\n```")
    live = turn.locator(".live-text")
    assert "The end of the answer." not in live_source(page), "the answer finished too soon"
    expect(live.locator("h2")).to_have_text("Part 1: a table")
    expect(live.locator("table th.align-right")).to_have_text("Score")
    expect(live.locator("td")).to_have_count(4)
    expect(live.locator("s")).to_have_text("gone")
    expect(live.locator("input[type=checkbox][disabled]")).to_have_count(2)
    expect(live.locator(".code-block .code-lang")).to_have_text("python")
    expect(live.locator(".code-block pre")).to_contain_text("return x * 2")
    assert "##" not in live.inner_text() and "|:-" not in live.inner_text()
    screenshot(page, "streaming-rendered")

    wait_status(turn, "completed")
    steps = answer(turn)
    expect(steps.locator(".live-text")).to_have_count(0)
    expect(steps.locator(".markdown h2")).to_have_text("Part 1: a table")
    swaps = page.evaluate("window.__swaps")
    assert swaps, "no live step was replaced by the server's HTML"
    for before, after in swaps:
        assert abs(before - after) <= 2, f"the answer jumped from {before}px to {after}px"

    # Copy gives the Markdown source; the second choice, the text on screen.
    turn.get_by_role("button", name="Copy answer").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "## Part 1: a table" in copied and "|:-----|------:|" in copied
    assert "$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$" in copied
    turn.get_by_role("button", name="Copy text, without Markdown").click()
    expect(turn.get_by_role("button", name="Copy text, without Markdown")).to_have_text("Copied")
    plain = page.evaluate("navigator.clipboard.readText()")
    assert "Part 1: a table" in plain and "##" not in plain and "Copy" not in plain


def test_maths_and_diagrams_render_live_final_after_reload_and_shared(
    page: Page, new_context: Callable[..., BrowserContext], chat_server: LiveServer
) -> None:
    page.goto("/")
    turn = send_message(page, ECHO + RICH)
    wait_live_source(page, "= \\frac{1}{3}$$\n\n")
    live = turn.locator(".live-text")
    expect(live.locator(".math-display .katex-display")).to_have_count(1)
    expect(live.locator(".math-inline .katex")).to_have_count(1)
    wait_status(turn, "completed")

    for _ in range(2):  # the live page, then the page the server renders
        steps = answer(turn)
        display = steps.locator(".math-display")
        expect(display.locator(".katex-display")).to_have_count(1)
        # `\,` reached KaTeX (the TeX source is kept for copying), not eaten as an escape.
        assert display.get_attribute("data-tex") == r"\int_0^1 x^2\,dx = \frac{1}{3}"
        expect(steps.locator(".math-inline .katex")).to_have_count(1)
        money = steps.locator("p", has_text="money")
        expect(money).to_have_text("Some bold and gone text, money $5 and $10.")
        assert money.locator(".katex").count() == 0
        block = steps.locator(".code-block.has-diagram")
        expect(block.locator(".diagram svg")).to_be_visible()
        expect(block.locator(".diagram")).to_contain_text("Start")
        expect(block.locator("pre")).to_be_hidden()
        block.get_by_role("button", name="Source").click()
        expect(block.locator("pre")).to_be_visible()
        expect(block.locator(".diagram")).to_be_hidden()
        code = steps.locator(".code-block", has_text="return x * 2")
        code.get_by_role("button", name="Wrap").click()
        expect(code).to_have_class("code-block wrapped")
        page.reload()
        turn = page.locator("#messages > .turn").first

    # The public page of a share link typesets the same maths and diagram.
    page.click("#share-btn")
    page.click("#share-create")
    share_url = page.locator(".share-url").first.input_value()
    stranger = new_context(chat_server.url).new_page()
    stranger.goto(share_url)
    shared = stranger.locator("#messages")
    expect(shared.locator(".math-display .katex-display")).to_have_count(1)
    expect(shared.locator(".math-inline .katex")).to_have_count(1)
    expect(shared.locator(".code-block.has-diagram .diagram svg")).to_be_visible()


def test_bad_maths_and_bad_diagrams_show_their_source(page: Page) -> None:
    page.goto("/")
    text = "Bad $\\frac{1}{$ maths.\n\n```mermaid\nthis is not a diagram\n```\n\nEnd."
    turn = send_message(page, ECHO + text)
    wait_status(turn, "completed")
    steps = answer(turn)
    expect(steps.locator(".math-error")).to_have_text("\\frac{1}{")
    block = steps.locator(".code-block", has_text="this is not a diagram")
    expect(block).to_have_attribute("data-diagram", "invalid")
    expect(block.locator("pre")).to_be_visible()
    expect(block.locator(".diagram")).to_have_count(0)


MIRRORED = [
    '# H1\n\n## H2 *em* **strong** `code`\n\npara [link](https://e.com "t") and <b>raw</b>',
    "| a | b | c |\n|:-|:-:|-:|\n| 1 | 2 | 3 |\n| x |",
    "- [ ] open\n- [x] done\n\n1. one\n2. two\n\n3) three",
    "> quote\n> more\n\n---\n\n~~struck~~ and ~single~",
    "```js\nlet a = 1 < 2;\n```\n\n    indented code\n\n~~~\nopen fence",
    "$a$ $5 and $10, \\(b\\,c\\) $$d$$ \\$e$\n\n$$\nf\n$$\n\n\\[g\\]\n\n`$h$`",
    "![alt](https://example.com/i.png) ![local](/x.png) [![in](https://e.com/i.png)](https://e.com)",
    "[js](javascript:alert(1)) [mail](mailto:a@b.c) [rel](/path) <https://auto.link>",
    "Line  \nbreak\\\nand &amp; &copy; entities",
]


def test_browser_renders_markdown_as_the_server_does(quick_page: Page) -> None:
    """markdown/render.js mirrors chatapp/rendering: same DOM (code highlighting aside)."""
    from chatapp.rendering import render_markdown

    page = quick_page
    page.goto("/")
    page.wait_for_function("document.getElementById('messages').dataset.ready")
    for text in MIRRORED:
        same = page.evaluate(
            """async ([text, server]) => {
                const { renderMarkdown } = await import("/static/js/markdown/render.js");
                const normal = (root) => {
                  for (const code of root.querySelectorAll("pre code")) {
                    code.textContent = code.textContent; // no highlighting spans
                  }
                  const box = document.createElement("div");
                  box.append(root);
                  return box;
                };
                const t = document.createElement("template");
                t.innerHTML = server;
                const a = normal(renderMarkdown(text)), b = normal(t.content);
                return a.isEqualNode(b) ? "" : a.innerHTML + "\\n---\\n" + b.innerHTML;
            }""",
            [text, render_markdown(text)],
        )
        assert not same, f"{text!r} renders differently:\n{same}"


SEALING = [
    RICH,
    "1. a\n\n2. b\n\nPara\n\n- c\n\n  continued\n\nEnd",
    "```\ncode\n\nmore code\n```\n\nafter\n\n````\n```\n\nstill code\n````\n\nout",
    "> quote\n\n> another\n\n    indented\n\n    more\n\ntext\n===\n\n| a |\n|---|\n| 1 |\n\nz",
    "$$\nx\n$$\n\n* star\n\n+ plus\n\n10) ten\n\nfin",
]


def test_sealed_blocks_render_as_the_whole_text(quick_page: Page) -> None:
    """Cut at every character: sealed part + open tail == rendering everything at once."""
    page = quick_page
    page.goto("/")
    page.wait_for_function("document.getElementById('messages').dataset.ready")
    failures = page.evaluate(
        """async (docs) => {
            const { LiveMarkdown } = await import("/static/js/markdown/live.js");
            const failures = [];
            for (const doc of docs) {
              const whole = document.createElement("div");
              new LiveMarkdown(whole, doc);  // everything at once
              const live = document.createElement("div");
              const renderer = new LiveMarkdown(live);
              for (let i = 0; i < doc.length; i += 7) {
                renderer.append(doc.slice(i, i + 7));
                renderer.render();
              }
              if (live.innerHTML !== whole.innerHTML) {
                failures.push([doc, live.innerHTML, whole.innerHTML]);
              }
            }
            return failures;
        }""",
        SEALING,
    )
    assert not failures, failures[0]


def test_thinking_streams_into_a_block_that_collapses_when_done(
    page: Page, context: BrowserContext
) -> None:
    context.add_init_script(
        """window.__thinking = [];
        new MutationObserver(() => {
          for (const d of document.querySelectorAll(".step-live details.thinking[open]")) {
            window.__thinking.push([d.querySelector("summary").textContent,
                                    d.querySelector(".live-text").textContent]);
          }
        }).observe(document, { subtree: true, childList: true });"""
    )
    page.goto("/")
    turn = send_message(page, "[[sim:slow]] think about it")
    wait_status(turn, "completed")
    seen = page.evaluate("window.__thinking")
    assert any(label == "Thinking…" and "Planning" in text for label, text in seen), seen
    thought = answer(turn).locator("details.thinking")
    expect(thought).to_have_count(1)
    expect(thought).not_to_have_attribute("open", "")
    expect(thought.locator("summary")).to_have_text(re.compile(r"^Thought for \d+ s$"))
    thought.locator("summary").click()
    expect(thought.locator(".markdown strong")).to_have_text("Planning a simulated reply")
    # Copy gives the answer, not the thinking.
    turn.get_by_role("button", name="Copy answer").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Planning a simulated reply" not in copied and "think about it" in copied


def test_an_answer_over_several_hops_reads_as_one_flow(page: Page, context: BrowserContext) -> None:
    """A table longer than one hop (1500 characters in the simulator) is never split in two,
    neither while it streams nor once it is final."""
    context.add_init_script(
        """window.__most = 0;
        window.__split = "";
        new MutationObserver(() => {
          const tables = document.querySelectorAll("#messages .steps table").length;
          window.__most = Math.max(window.__most, tables);
          // A table split at a hop shows its later rows as a paragraph of pipes.
          for (const p of document.querySelectorAll("#messages .steps p")) {
            if (p.textContent.includes("row number")) window.__split = p.textContent;
          }
        }).observe(document, { subtree: true, childList: true });"""
    )
    page.goto("/")
    rows = "\n".join(f"| {n} | row number {n} of the long table, padded out |" for n in range(32))
    turn = send_message(page, "[[sim:echo]]\n| n | text |\n|---|---|\n" + rows + "\n\nAfter.")
    wait_status(turn, "completed")
    table = answer(turn).locator("table")
    expect(table).to_have_count(1)
    expect(table.locator("tbody tr")).to_have_count(32)
    most = page.evaluate("window.__most")
    assert most == 1, f"the table showed as {most} tables at some point"
    split = page.evaluate("window.__split")
    assert not split, f"rows after a hop showed outside the table: {split!r}"
