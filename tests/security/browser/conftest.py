"""Browser tests of hostile input: tests/e2e's live Daphne server and headless Chromium.

The Playwright fixtures are package-scoped, as in tests/e2e: while the sync API runs, Django's
ORM refuses to work in this thread, so these tests live in a package of their own, which the
in-process security tests never share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.harness.browser import (
    browser,
    new_context,
    playwright,
    pytest_runtest_call,
    pytest_runtest_makereport,
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


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this package whose simulator answers at once."""
    with run_server(tmp_path_factory.mktemp("hostile"), SIMULATOR_TOKENS_PER_SECOND="0") as live:
        yield live


@pytest.fixture(scope="package")
def admin_state(server: LiveServer, browser: Browser) -> dict[str, Any]:
    return signed_in_state(browser, server)
