"""Markers by folder: what a test needs beyond Python (see the markers in pyproject.toml).

`make test-quick` leaves out `browser`, `deploy` and `live` tests. A module or test outside
these folders that needs more marks itself (`pytestmark = pytest.mark.live`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FOLDER_MARKS = {
    "e2e": ("browser", "live"),
    "security/browser": ("browser", "live"),
    "deploy": ("deploy", "live"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent
        if not folder.is_relative_to(TESTS):
            continue
        relative = folder.relative_to(TESTS).as_posix()
        for prefix, marks in FOLDER_MARKS.items():
            if relative == prefix or relative.startswith(prefix + "/"):
                for mark in marks:
                    item.add_marker(mark)
