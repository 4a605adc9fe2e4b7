"""Live Markdown rendering in Chromium: a long answer streamed into the chat page, rendered
as it arrives (static/js/markdown/live.js), against the plain-text path it replaced (each
delta appended as a text node), measured in the same page of the same run.

For each path, from a Chromium performance trace of the stream: the renderer main thread's
busy time per second (its top-level `RunTask` CPU tasks), the tasks over 50 ms ("long tasks")
and the longest one. The stream runs in the page (a timer at `--rate` deltas/s) so the
server, the network and the simulator stay out of the figures; both paths keep the end of the
answer in view, as the page does.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from _common import USER, ratio, run_daphne, save, table, workdir

from tests.harness.accounts import create_user, http_sign_in
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS

CHARS_PER_TOKEN = 4  # the usual estimate for English text


def answer(tokens: int) -> str:
    """About `tokens` tokens of the Markdown a long answer has: headings, paragraphs, lists,
    a table, code and maths in every section."""
    sections = []
    n = 0
    while sum(map(len, sections)) < tokens * CHARS_PER_TOKEN:
        n += 1
        rows = "\n".join(f"| {i} | item {i} of section {n} | {i * n} |" for i in range(1, 7))
        sections.append(
            f"## Section {n}\n\n"
            f"This section explains part {n} of the answer with **bold** words, `inline code` "
            "and a [link](https://example.com/docs) so that the inline rules have work to do. "
            "A second sentence makes the paragraph as long as the ones models write.\n\n"
            "- a first point, with *emphasis*\n- a second point, longer than the first one\n"
            "- a third point closing the list\n\n"
            f"| n | name | value |\n|:--|:-----|----:|\n{rows}\n\n"
            f"```python\ndef section_{n}(x: int) -> int:\n    return x * {n}\n```\n\n"
            f"The cost grows as $O(n^{n % 5 + 1})$ and the sum is\n\n"
            f"$$\\sum_{{i=1}}^{{{n}}} i = \\frac{{{n}({n}+1)}}{{2}}$$\n\n"
        )
    return "".join(sections)


STREAM = """async ([text, rate, perDelta, path]) => {
  const { LiveMarkdown } = await import("/static/js/markdown/live.js");
  const messages = document.getElementById("messages");
  messages.replaceChildren();
  const step = document.createElement("div");
  step.className = "step step-live";
  const el = document.createElement("div");
  el.className = path === "markdown" ? "live-text markdown" : "live-text";
  step.append(el);
  messages.append(step);
  const live = path === "markdown" ? new LiveMarkdown(el) : null;
  let scrollQueued = false;
  const follow = () => {
    if (scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      messages.scrollTop = messages.scrollHeight;
    });
  };
  await new Promise((resolve) => {
    let at = 0;
    const timer = setInterval(() => {
      const piece = text.slice(at, at + perDelta);
      at += perDelta;
      if (path === "markdown") live.append(piece);
      else el.append(document.createTextNode(piece));
      follow();
      if (at >= text.length) {
        clearInterval(timer);
        requestAnimationFrame(() => setTimeout(resolve, 100));
      }
    }, 1000 / rate);
  });
  const chars = (live ? live.source : el.textContent).length;
  return { chars, nodes: el.querySelectorAll("*").length };
}"""


# Tasks of the renderer's main thread, as Chromium's own tools count them.
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline"]
LONG_TASK_MS = 50


def main_thread_tasks(trace: bytes) -> list[float]:
    """The CPU time (ms) of each top-level task of the page's renderer main thread: its
    thread time (`tdur`) where the trace has it, so that a task the OS paused (a busy
    machine) does not count the pause; else its wall time."""
    return [cpu_ms(e) for e in main_thread_events(trace) if e.get("name") == "RunTask"]


def main_thread_events(trace: bytes) -> list[dict[str, Any]]:
    """The complete ("X") events of the page's renderer main thread, in time order."""
    events = json.loads(trace)
    events = events["traceEvents"] if isinstance(events, dict) else events
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    threads: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if e.get("ph") == "X" and key in mains and "dur" in e:
            threads.setdefault(key, []).append(e)
    # The page's renderer is the busy one (others, if any, idle through the stream).
    busiest = max(
        threads.values(),
        key=lambda es: sum(e["dur"] for e in es if e.get("name") == "RunTask"),
        default=[],
    )
    return sorted(busiest, key=lambda e: e["ts"])


def cpu_ms(event: dict[str, Any]) -> float:
    return float(event.get("tdur", event["dur"])) / 1000


def long_task_causes(events: list[dict[str, Any]], limit: int = 5) -> list[str]:
    """What the longest tasks spent their CPU time on: their biggest nested events."""
    tasks = [e for e in events if e.get("name") == "RunTask" and cpu_ms(e) > LONG_TASK_MS]
    lines = []
    for task in sorted(tasks, key=lambda e: -cpu_ms(e))[:limit]:
        end = task["ts"] + task["dur"]
        inner: dict[str, float] = {}
        for e in events:
            if e is not task and task["ts"] <= e["ts"] and e["ts"] + e["dur"] <= end:
                inner[e["name"]] = inner.get(e["name"], 0) + cpu_ms(e)
        top = sorted(inner.items(), key=lambda kv: -kv[1])[:4]
        lines.append(f"{cpu_ms(task):.0f} ms: " + ", ".join(f"{n} {ms:.0f} ms" for n, ms in top))
    return lines


def where_time_goes(events: list[dict[str, Any]]) -> str:
    """The main thread's CPU time by the kind of work Chromium's tools name (ms in total)."""
    kinds = ("FunctionCall", "UpdateLayoutTree", "Layout", "PrePaint", "Paint", "Commit")
    totals = {k: sum(cpu_ms(e) for e in events if e.get("name") == k) for k in kinds}
    return ", ".join(f"{k} {ms:,.0f}" for k, ms in totals.items())


def measure(
    page: Any, browser: Any, text: str, rate: int, per_delta: int, path: str
) -> dict[str, Any]:
    page.reload(wait_until="load")
    page.wait_for_function("() => document.getElementById('messages').dataset.ready")
    page.wait_for_timeout(500)
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    started = page.evaluate("performance.now()")
    result = page.evaluate(STREAM, [text, rate, per_delta, path])
    seconds = (page.evaluate("performance.now()") - started) / 1000
    trace = browser.stop_tracing()
    tasks = main_thread_tasks(trace)
    long_tasks = [t for t in tasks if t > LONG_TASK_MS]
    events = main_thread_events(trace)
    for line in long_task_causes(events):
        print(f"  {path} long task {line}")
    print(f"  {path} main thread CPU by kind: {where_time_goes(events)}")
    return {
        "path": path,
        "seconds": seconds,
        "busy_ms_per_s": sum(tasks) / seconds,
        "long_tasks": len(long_tasks),
        "longest_ms": max(tasks, default=0.0),
        "chars": result["chars"],
        "elements": result["nodes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=20_000, help="answer length in tokens")
    parser.add_argument("--rate", type=int, default=50, help="deltas per second")
    parser.add_argument("--quick", action="store_true", help="2,000 tokens: a smoke run")
    args = parser.parse_args()
    tokens = 2_000 if args.quick else args.tokens
    text = answer(tokens)
    # The stream lasts as long as the answer takes at `rate` deltas of a few tokens each.
    per_delta = 3 * CHARS_PER_TOKEN
    print(
        f"{len(text):,} characters (~{len(text) // CHARS_PER_TOKEN:,} tokens), "
        f"{args.rate} deltas/s of {per_delta} characters: "
        f"{len(text) / per_delta / args.rate:.0f} s per path"
    )

    from playwright.sync_api import sync_playwright

    rows = []
    with workdir("bench-render-") as tmp, run_daphne(tmp) as server:
        create_user(server, *USER)
        cookies = http_sign_in(server.url, *USER)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(
                base_url=server.url, viewport={"width": 1440, "height": 900}
            )
            context.add_cookies(
                [{"name": k, "value": v, "url": server.url} for k, v in cookies.items()]
            )
            context.set_default_timeout(600_000)
            page = context.new_page()
            page.goto("/", wait_until="load")
            for path in ("plain", "markdown"):
                rows.append(measure(page, browser, text, args.rate, per_delta, path))
            browser.close()
    base = rows[0]
    for row in rows:
        row["busy_x"] = ratio(row["busy_ms_per_s"], base["busy_ms_per_s"])
    print(
        table(
            rows,
            [
                ("path", "path", "s"),
                ("busy_ms_per_s", "busy ms/s", ",.1f"),
                ("busy_x", "× plain", "x"),
                ("long_tasks", "long tasks >50 ms", ",d"),
                ("longest_ms", "longest ms", ",.0f"),
                ("seconds", "seconds", ",.1f"),
                ("elements", "elements", ",d"),
            ],
        )
    )
    saved = save("render", {"tokens": tokens, "rate": args.rate, "rows": rows})
    print(f"saved {saved}")


if __name__ == "__main__":
    main()
