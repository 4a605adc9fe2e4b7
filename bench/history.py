"""Long histories: rendering conversations of 10, 100 and 1,000 turns, and a long sidebar.

Part 1, in-process (Django's test settings, a temporary SQLite database): time and SQL
queries of GET /c/<id>/ for conversations of 10, 100 and 1,000 turns, and of GET /sidebar/
for 10 and 1,000 conversations, with Django's test Client. Ratios are against the 10-turn
page (and the 10-conversation sidebar).

Part 2, in headless Chromium against a live Daphne: how long until a conversation page is
usable (the `load` event, then the composer accepts typing) and the page's JS heap and DOM
size, with the 10-turn page as baseline.

Figures are printed and saved to bench/results/history.json; nothing passes or fails on time.

    .venv/bin/python bench/history.py [--repeat 3] [--quick] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    USER,
    django_shell,
    fmt_ratio,
    ratio,
    run_daphne,
    save,
    seed_conversations,
    table,
    workdir,
)

from tests.harness.accounts import create_user, http_sign_in
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS

SIDEBAR_FEW = 10
SIDEBAR_PAGE = 50  # chatapp.views.SIDEBAR_PAGE


def median_time(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --- part 1: server-side rendering and queries, in-process ---


def setup_django(var_dir: Path) -> None:
    for key in ("DATABASE_URL", "REDIS_URL", "GEMINI_API_KEY", "DEBUG", "SECRET_KEY"):
        os.environ.pop(key, None)
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)


def print_profile(fn: Any, label: str, top: int = 25) -> None:
    """cProfile one call; the functions with the most cumulative time, grouped by module."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fn)
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\ncProfile of {label}: {total * 1000:,.0f} ms in total; cumulative share:")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][3])  # type: ignore[attr-defined]
    shown = 0
    for (path, line, name), (_, _, _, cumulative, _) in rows:
        if not any(p in path for p in ("chatapp", "markdown_it", "nh3", "pygments", "django")):
            continue
        if cumulative > 0.98 * total:  # the request machinery around the view
            continue
        where = "/".join(Path(path).parts[-2:])
        print(f"  {100 * cumulative / total:5.1f}%  {name} ({where}:{line})")
        shown += 1
        if shown == top:
            break


def measure_requests(
    sizes: list[int], filler: int, repeat: int, profile: bool = False
) -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    seeded = seed_conversations("reader", sizes, filler=filler - len(sizes))
    seed_conversations("few", [], filler=SIDEBAR_FEW)
    users = {u.username: u for u in get_user_model().objects.all()}
    rows = []

    def measure(label: str, count: int, username: str, url: str) -> dict[str, Any]:
        client = Client()
        client.force_login(users[username])
        response = client.get(url)  # warm-up: templates, sessions, caches
        assert response.status_code == 200, (url, response.status_code)
        reset_queries()  # the log is a bounded deque: a full one would capture nothing
        sql_seconds: list[float] = []

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                sql_seconds.append(time.perf_counter() - started)

        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timed):
            response = client.get(url)
        sql_ms = sum(sql_seconds) * 1000
        seconds = median_time(lambda: client.get(url), repeat)
        return {
            "page": label,
            "size": count,
            "ms": seconds * 1000,
            "queries": len(queries),
            "sql_ms": sql_ms,
            "kib": len(response.content) / 1024,
        }

    for size in sizes:
        url = f"/c/{seeded['conversations'][str(size)]}/"
        rows.append(measure("conversation", size, "reader", url))
    if profile:
        client = Client()
        client.force_login(users["reader"])
        url = f"/c/{seeded['conversations'][str(sizes[-1])]}/"
        print_profile(lambda: client.get(url), f"GET {url} ({sizes[-1]:,} turns)")
    rows.append(measure("sidebar", SIDEBAR_FEW, "few", "/sidebar/"))
    rows.append(measure("sidebar", filler, "reader", "/sidebar/"))
    last_page = -(-filler // SIDEBAR_PAGE)
    rows.append(measure("sidebar, last page", filler, "reader", f"/sidebar/?page={last_page}"))
    # A word in every turn: the search scans all turns of the owner's conversations.
    rows.append(measure("sidebar, search", filler, "reader", "/sidebar/?q=relay"))
    base_page = rows[0]
    base_sidebar = next(r for r in rows if r["page"] == "sidebar")
    for row in rows:
        base = base_page if row["page"] == "conversation" else base_sidebar
        for key in ("ms", "queries", "kib"):
            row[f"{key}_x"] = ratio(row[key], base[key])
    return rows


# --- part 2: in Chromium against a live Daphne ---


def measure_browser(tmp: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    rows = []
    with run_daphne(tmp, SIMULATOR_TOKENS_PER_SECOND="0") as server:
        create_user(server, *USER)
        code = (
            "import json, _common\n"
            f"print(json.dumps(_common.seed_conversations({USER[0]!r}, {sizes!r})))"
        )
        seeded = django_shell(server.env, code)
        cookies = http_sign_in(server.url, *USER)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(base_url=server.url)
            context.add_cookies(
                [
                    {"name": name, "value": value, "url": server.url}
                    for name, value in cookies.items()
                ]
            )
            context.set_default_timeout(120_000)
            for size in sizes:
                url = f"/c/{seeded['conversations'][str(size)]}/"
                samples = [open_page(context, url) for _ in range(repeat + 1)][1:]
                row: dict[str, Any] = {"turns": size}
                for key in samples[0]:
                    row[key] = statistics.median(s[key] for s in samples)
                rows.append(row)
            context.close()
            browser.close()
    base = rows[0]
    for row in rows:
        for key in ("usable_ms", "load_ms", "heap_mib", "nodes"):
            row[f"{key}_x"] = ratio(row[key], base[key])
    return rows


def open_page(context: Any, url: str) -> dict[str, float]:
    """Open `url` in a fresh page; time until usable, then the heap and DOM size."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="load")
        load = time.perf_counter() - started
        prompt = page.locator("#prompt")
        prompt.fill("Is this page usable yet?")  # waits until visible, enabled and editable
        if prompt.input_value() != "Is this page usable yet?":
            raise RuntimeError("the composer did not take the text")
        usable = time.perf_counter() - started
        nav = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd,"
            " load: n.loadEventEnd, bytes: n.transferSize}; }"
        )
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return {
            "usable_ms": usable * 1000,
            "load_ms": load * 1000,
            "ttfb_ms": nav["ttfb"],
            "dcl_ms": nav["dcl"],
            "html_kib": nav["bytes"] / 1024,
            "heap_mib": metrics["JSHeapUsedSize"] / 2**20,
            "nodes": metrics["Nodes"],
            "layout_ms": metrics["LayoutDuration"] * 1000,
            "style_ms": metrics["RecalcStyleDuration"] * 1000,
            "script_ms": metrics["ScriptDuration"] * 1000,
        }
    finally:
        cdp.detach()
        page.close()


SERVER_COLUMNS = [
    ("page", "page", ""),
    ("size", "turns/convs", ",d"),
    ("ms", "ms", ",.1f"),
    ("ms_x", "time", "x"),
    ("queries", "queries", "d"),
    ("queries_x", "queries", "x"),
    ("sql_ms", "sql ms", ",.1f"),
    ("kib", "KiB", ",.0f"),
    ("kib_x", "size", "x"),
]
BROWSER_COLUMNS = [
    ("turns", "turns", ",d"),
    ("ttfb_ms", "ttfb ms", ",.0f"),
    ("load_ms", "load ms", ",.0f"),
    ("usable_ms", "usable ms", ",.0f"),
    ("usable_ms_x", "usable", "x"),
    ("html_kib", "HTML KiB", ",.0f"),
    ("heap_mib", "JS heap MiB", ",.1f"),
    ("heap_mib_x", "heap", "x"),
    ("nodes", "DOM nodes", ",.0f"),
    ("nodes_x", "nodes", "x"),
    ("style_ms", "style ms", ",.0f"),
    ("layout_ms", "layout ms", ",.0f"),
    ("script_ms", "script ms", ",.0f"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sidebar", type=int, default=1000, help="conversations to list")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    parser.add_argument("--profile", action="store_true", help="cProfile the longest page")
    args = parser.parse_args()
    sizes = [10, 100, 1000]
    if args.quick:
        sizes, args.repeat, args.sidebar = [10, 100], 1, 100
    results: dict[str, Any] = {"repeat": args.repeat}

    with tempfile.TemporaryDirectory(prefix="bench-history-") as var_dir:
        setup_django(Path(var_dir))
        rows = measure_requests(sizes, args.sidebar, args.repeat, args.profile)
    results["server"] = rows
    print(f"server side (Django test Client, test settings, median of {args.repeat}):")
    print(table(rows, SERVER_COLUMNS))

    if not args.no_browser:
        if not Path(CHROMIUM).exists():
            print(f"\n{CHROMIUM} is missing: browser part skipped (scripts/ensure-packages.sh)")
        else:
            browser_sizes = [10, 1000] if not args.quick else [10, 100]
            browser_sizes = sorted(set(browser_sizes) | ({100} if not args.quick else set()))
            with workdir("bench-history-live-") as tmp:
                brows = measure_browser(tmp, browser_sizes, args.repeat)
            results["browser"] = brows
            print()
            print(f"headless Chromium against Daphne (median of {args.repeat} page loads):")
            print(table(brows, BROWSER_COLUMNS))
            last = brows[-1]
            print(
                f"{last['turns']:,} turns vs 10: usable {fmt_ratio(last['usable_ms_x'])}, "
                f"JS heap {fmt_ratio(last['heap_mib_x'])}, DOM nodes {fmt_ratio(last['nodes_x'])}"
            )
    out = save("history", results)
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
