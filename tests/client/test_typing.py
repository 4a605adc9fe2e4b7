"""The overloads of `create`/`get` give each call the type it returns, checked by mypy."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")


def test_create_and_get_are_typed_by_their_stream_argument() -> None:
    cases = Path(__file__).with_name("typing_cases.py")
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", str(cases)])
    assert (stdout, stderr, status) == ("", "", 0)
