"""Headless Chromium for the browser tests, driven by Playwright: the fixtures and hooks
tests/e2e and tests/security/browser import into their conftest, and page helpers.

The browser is `/usr/bin/chromium` (or `$CHROMIUM`); `scripts/ensure-packages.sh` installs it.
Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from .servers import ROOT, LiveServer, running

SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]
TIMEOUT_MS = 15_000
ANSWER_TIMEOUT_MS = 30_000

ADMIN = ("admin", "Correct-Horse-42")
BOB = ("bob", "Battery-Staple-77")
ACTIVE = ("queued", "in_progress")


# --- hooks and fixtures (a conftest imports them) ---


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing browser test shows the end of each running server's log."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed:
        for server in running:
            report.sections.append((f"daphne log ({server.url})", server.tail()))


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # While the sync API is active the thread counts as running an asyncio loop (Django's
    # ORM and asyncio.run refuse to work), hence package scope: it ends with tests/e2e.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/ensure-packages.sh (as root), "
            "or set CHROMIUM to a Chromium binary. Never `playwright install`.",
            pytrace=False,
        )
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


JS_ERRORS = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """An uncaught JavaScript error in any page of the test fails the test itself."""
    result = yield
    errors = item.stash.get(JS_ERRORS, [])
    if errors:
        raise AssertionError("uncaught JavaScript errors in the page:\n" + "\n".join(errors))
    return result


@pytest.fixture
def new_context(
    browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts, closed after the test; their pages' uncaught errors are kept."""
    contexts: list[BrowserContext] = []
    errors = request.node.stash.setdefault(JS_ERRORS, [])

    def on_page(page: Page) -> None:
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

    def make(base_url: str, storage_state: Any = None, **options: Any) -> BrowserContext:
        context = browser.new_context(base_url=base_url, storage_state=storage_state, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", on_page)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def signed_in_state(browser: Browser, server: LiveServer) -> dict[str, Any]:
    """The admin's signed-in cookies; on a fresh server the admin is made on the setup page."""
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/")
        if page.url.endswith("/setup/"):
            create_admin(page, *ADMIN)
        else:
            sign_in(page, *ADMIN)
        return context.storage_state()
    finally:
        context.close()


def signed_in_as(browser: Browser, server: LiveServer, username: str, password: str) -> Any:
    """The cookies of `username` signed in on the sign-in page (the account exists)."""
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/login/")
        sign_in(page, username, password)
        expect(page.locator(".sidebar-foot .who")).to_have_text(username)
        return context.storage_state()
    finally:
        context.close()


# --- helpers ---


def screenshot(page: Page, name: str) -> Path:
    """Save what the page shows to tests/e2e/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def create_admin(page: Page, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.get_by_role("button", name="Create admin account").click()
    expect(page.locator("#prompt")).to_be_visible()


def sign_in(page: Page, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()


def turns(page: Page) -> Locator:
    return page.locator("#messages > .turn")


def turn_by_id(page: Page, turn_id: int | str) -> Locator:
    return page.locator(f"#turn-{turn_id}")


def turn_id(turn: Locator) -> int:
    return int(turn.get_attribute("data-turn") or 0)


def send_message(page: Page, text: str) -> Locator:
    """Type `text` in the composer, press Enter, and return the new turn once it shows."""
    page.wait_for_function("() => document.getElementById('messages')?.dataset.ready")
    before = turns(page).count()
    prompt = page.locator("#prompt")
    prompt.fill(text)
    prompt.press("Enter")
    expect(turns(page)).to_have_count(before + 1)
    return turn_by_id(page, turn_id(turns(page).nth(before)))


def answer(turn: Locator) -> Locator:
    return turn.locator(".msg-model .steps")


def answer_text(turn: Locator) -> str:
    return answer(turn).inner_text()


def state(turn: Locator) -> tuple[str, str, str]:
    """The turn's status, its answer text, and the text of its still-streaming steps."""
    status, text, live = turn.evaluate(
        """el => [el.dataset.status, el.querySelector('.msg-model .steps').innerText,
                  [...el.querySelectorAll('.live-text:not(.thinking .live-text)')]
                    .map((n) => n.liveSource ?? n.textContent).join('')]"""
    )
    return status, text, live


def wait_for_text(turn: Locator, min_chars: int = 1, timeout: float = 10) -> str:
    """Wait until the turn, still running, streamed `min_chars` of live text; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, live = state(turn)
        if status not in ACTIVE:
            raise AssertionError(f"the turn ended ({status}) before it showed {min_chars} chars")
        if len(live) >= min_chars:
            return live
        time.sleep(0.05)
    raise AssertionError(f"no {min_chars} characters of answer within {timeout}s")


def watch(turn: Locator, timeout: float = 30) -> list[tuple[str, str, str]]:
    """Sample `state(turn)` every 50 ms until the turn is no longer running."""
    samples: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sample = state(turn)
        samples.append(sample)
        if sample[0] not in ACTIVE:
            return samples
        time.sleep(0.05)
    raise AssertionError(f"the turn was still running after {timeout}s: {samples[-1]}")


def wait_status(turn: Locator, status: str, timeout: float = ANSWER_TIMEOUT_MS) -> None:
    expect(turn).to_have_attribute("data-status", status, timeout=timeout)


def streamed(samples: list[tuple[str, str, str]]) -> list[str]:
    """The distinct live texts seen while the turn ran, checked to only ever grow."""
    texts: list[str] = []
    for status, _, live in samples:
        if status in ACTIVE and live and (not texts or live != texts[-1]):
            texts.append(live)
    for before, after in zip(texts, texts[1:], strict=False):
        assert after.startswith(before), f"streamed text changed instead of growing: {before!r}"
    return texts


def sentences(text: str) -> list[str]:
    """The answer cut into sentences and lines, blank ones left out."""
    pieces = re.split(r"(?<=[.!?:])\s+|\n+", text)
    return [p.strip() for p in pieces if p.strip()]
