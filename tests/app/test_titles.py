from __future__ import annotations

import pytest

from chatapp.titles import MAX_TITLE, title_from


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("What is 12*7? Use the calculator", "What is 12*7? Use the calculator"),
        ("\n\n# Plan a trip\nwith details", "Plan a trip"),
        ("> quoted `code` here", "quoted code here"),
        ("- a bullet", "a bullet"),
        ("   ", "New chat"),
    ],
)
def test_titles_come_from_the_first_line(message: str, title: str) -> None:
    assert title_from(message) == title


def test_long_titles_are_cut_at_a_word() -> None:
    title = title_from("word " * 40)
    assert len(title) <= MAX_TITLE + 1 and title.endswith("…") and not title.endswith(" …")
