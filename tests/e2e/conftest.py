"""Browser tests: a real Daphne server in a subprocess, driven by Debian's Chromium.

Each server has its own SQLite database under a temporary VAR_DIR and no GEMINI_API_KEY, so
the in-process offline simulator answers, paced by SIMULATOR_TOKENS_PER_SECOND so that a test
can watch an answer stream, reload in the middle of it or stop it. Tests reach the server only
through the browser and HTTP: nothing here uses the pytest-django test database. The servers,
the browser and the page helpers are in tests/harness; this file holds the fixtures.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.harness.browser import (
    BOB,
    TIMEOUT_MS,
    browser,
    new_context,
    playwright,
    pytest_runtest_call,
    pytest_runtest_makereport,
    signed_in_as,
    signed_in_state,
)
from tests.harness.servers import LiveServer, run_server

__all__ = [
    "browser",
    "new_context",
    "playwright",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
]


# The databases of the shared servers started so far (see `new_chats_start_plain`).
SHARED_DATABASES: list[Path] = []


@pytest.fixture(scope="package")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared server, streaming at TOKENS_PER_SECOND: for tests that watch a stream."""
    var_dir = tmp_path_factory.mktemp("chat-server")
    with run_server(var_dir) as server:
        SHARED_DATABASES.append(var_dir / "db.sqlite3")
        yield server


@pytest.fixture(scope="package")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second shared server whose simulator answers at once: for tests that only need
    answers to be there (branches, the sidebar, other users), to keep the run short."""
    var_dir = tmp_path_factory.mktemp("quick-server")
    with run_server(var_dir, SIMULATOR_TOKENS_PER_SECOND="0") as server:
        SHARED_DATABASES.append(var_dir / "db.sqlite3")
        yield server


@pytest.fixture(autouse=True)
def new_chats_start_plain() -> Iterator[None]:
    """The model and chips a person saves become their new chats' default (chatapp.composer):
    on the shared servers, one test's choice (Deep Research, a team tool) must not become the
    next test's starting point. Each test starts from the deployment's defaults."""
    yield
    for database in SHARED_DATABASES:
        with sqlite3.connect(database, timeout=30) as db:
            db.execute("UPDATE chatapp_preferences SET model = '', defaults = '{}'")


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own with an empty database: a fresh install."""
    with run_server(tmp_path / "var") as server:
        yield server


@pytest.fixture(scope="package")
def admin_state(chat_server: LiveServer, browser: Browser) -> dict[str, Any]:
    return signed_in_state(browser, chat_server)


@pytest.fixture(scope="package")
def quick_admin_state(quick_server: LiveServer, browser: Browser) -> dict[str, Any]:
    return signed_in_state(browser, quick_server)


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
    return signed_in_as(browser, quick_server, *BOB)


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
