"""Browser tests: a real Daphne server in a subprocess, driven by Debian's Chromium.

Each server has its own SQLite database under a temporary VAR_DIR and no GEMINI_API_KEY, so
the in-process offline simulator answers, paced by SIMULATOR_TOKENS_PER_SECOND so that a test
can watch an answer stream, reload in the middle of it or stop it. Tests reach the server only
through the browser and HTTP: nothing here uses the pytest-django test database.

The browser is `/usr/bin/chromium` (or `$CHROMIUM`); `scripts/ensure-packages.sh` installs it.
Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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

from tests.live_env import clean_environ, free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKENS_PER_SECOND = 8
TIMEOUT_MS = 15_000
ANSWER_TIMEOUT_MS = 30_000

ADMIN = ("admin", "Correct-Horse-42")
BOB = ("bob", "Battery-Staple-77")
ACTIVE = ("queued", "in_progress")


# --- the server ---


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def manage(self, *args: str) -> str:
        """`python manage.py ...` against this server's database."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 150) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


_running: list[LiveServer] = []


def server_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = clean_environ()
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        VAR_DIR=str(var_dir),
        DEBUG="true",
        SIMULATOR_TOKENS_PER_SECOND=str(TOKENS_PER_SECOND),
        CHAT_RECOVERY_INTERVAL_SECONDS="0",
        # Titles stay the first message (tests find conversations by it) unless a test
        # turns the title model on.
        CHAT_TITLE_MODEL="",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def _wait_until_up(server: LiveServer, timeout: float = 30) -> None:
    assert server.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"daphne exited with code {server.process.returncode}:\n{server.log()}"
            )
        with suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not answer on {server.url} within {timeout}s:\n{server.log()}")


@contextmanager
def run_server(var_dir: Path, **overrides: str) -> Iterator[LiveServer]:
    """Migrate a fresh database in `var_dir`, serve it with Daphne, stop it afterwards."""
    var_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = LiveServer(
        url=f"http://127.0.0.1:{port}",
        env=server_env(var_dir, **overrides),
        log_path=var_dir / "daphne.log",
    )
    server.manage("migrate", "--noinput")
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            [*command, "chatapp.asgi:application"],
            cwd=ROOT,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _running.append(server)
    try:
        _wait_until_up(server)
        yield server
    finally:
        _running.remove(server)
        died = server.process.poll() is not None
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        if died:
            print(f"\n--- daphne on {server.url} died during the tests ---\n{server.log()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing browser test shows the end of each running server's log."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed:
        for server in _running:
            report.sections.append((f"daphne log ({server.url})", server.tail()))


@pytest.fixture(scope="package")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared server, streaming at TOKENS_PER_SECOND: for tests that watch a stream."""
    with run_server(tmp_path_factory.mktemp("chat-server")) as server:
        yield server


@pytest.fixture(scope="package")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second shared server whose simulator answers at once: for tests that only need
    answers to be there (branches, the sidebar, other users), to keep the run short."""
    var_dir = tmp_path_factory.mktemp("quick-server")
    with run_server(var_dir, SIMULATOR_TOKENS_PER_SECOND="0") as server:
        yield server


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own with an empty database: a fresh install."""
    with run_server(tmp_path / "var") as server:
        yield server


# --- the browser ---


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


def _admin_state(browser: Browser, server: LiveServer) -> dict[str, Any]:
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


@pytest.fixture(scope="package")
def admin_state(chat_server: LiveServer, browser: Browser) -> dict[str, Any]:
    return _admin_state(browser, chat_server)


@pytest.fixture(scope="package")
def quick_admin_state(quick_server: LiveServer, browser: Browser) -> dict[str, Any]:
    return _admin_state(browser, quick_server)


@pytest.fixture(scope="package")
def bob_state(quick_server: LiveServer, browser: Browser, quick_admin_state: Any) -> dict[str, Any]:
    """A second user on `quick_server`, added by the admin in the Django admin pages."""
    context = browser.new_context(base_url=quick_server.url, storage_state=quick_admin_state)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/admin/auth/user/add/")
        page.fill("#id_username", BOB[0])
        page.fill("#id_password1", BOB[1])
        page.fill("#id_password2", BOB[1])
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_contain_text(BOB[0])
    finally:
        context.close()
    context = browser.new_context(base_url=quick_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/login/")
        sign_in(page, *BOB)
        expect(page.locator(".sidebar-foot .who")).to_have_text(BOB[0])
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def context(
    new_context: Callable[..., BrowserContext], chat_server: LiveServer, admin_state: Any
) -> BrowserContext:
    """A browser context signed in as the admin on `chat_server`."""
    return new_context(
        chat_server.url, admin_state, permissions=["clipboard-read", "clipboard-write"]
    )


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page of the admin on `chat_server` (answers stream at TOKENS_PER_SECOND)."""
    return context.new_page()


@pytest.fixture
def quick_page(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, quick_admin_state: Any
) -> Page:
    """A page of the admin on `quick_server` (answers come at once)."""
    return new_context(quick_server.url, quick_admin_state).new_page()


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
