"""Maths and task lists in server-rendered Markdown (chatapp/rendering/_math.py)."""

from __future__ import annotations

import pytest

from chatapp.rendering import render_markdown


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("$$\\int_0^1 x^2\\,dx$$", '<div class="math-display">\\int_0^1 x^2\\,dx</div>'),
        ("a $x^2$ b", '<p>a <span class="math-inline">x^2</span> b</p>'),
        ("a \\(b\\,c\\) d", '<p>a <span class="math-inline">b\\,c</span> d</p>'),
        ("a $$y$$ b", '<p>a <span class="math-display">y</span> b</p>'),
        ("\\[ y \\]", '<div class="math-display">y</div>'),
        ("$$\n\\frac{1}{2}\n$$", '<div class="math-display">\\frac{1}{2}</div>'),
        ("$$\na<b>\n$$", '<div class="math-display">a&lt;b&gt;</div>'),
    ],
)
def test_maths_keeps_its_tex_source(text: str, html: str) -> None:
    assert render_markdown(text).strip() == html


@pytest.mark.parametrize(
    "text",
    [
        "Costs $5 and $10.",
        "Between 5$ and 10$.",
        "A lone $ sign",
        "$ spaced $",
        "Escaped \\$x$ dollar",
        "`$x$` in code",
        "$$\nnever closed",
        "$$\na\n\nb\n$$",
    ],
)
def test_text_that_is_not_maths_stays_text(text: str) -> None:
    assert "math-" not in render_markdown(text)


def test_task_lists_are_disabled_checkboxes() -> None:
    html = render_markdown("- [ ] open\n- [x] done")
    assert '<ul class="contains-task-list">' in html
    assert html.count('disabled="disabled" type="checkbox"') == 2
    assert html.count('checked="checked"') == 1


def test_checkboxes_other_than_task_lists_are_text() -> None:
    assert "<input" not in render_markdown('<input type="text" onfocus="x()">')
