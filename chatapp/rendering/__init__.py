"""Model output → safe HTML for the chat page.

Pure functions: Markdown rendering (markdown-it-py, raw HTML disabled; code blocks are
highlighted by the page), sanitization (nh3, explicit allow-list), citation markers placed at
the UTF-8 byte offsets of ``url_citation`` annotations, and display parts for a turn's ``steps``.

Everything the model, a citation or a tool produced is untrusted. Keys ending in ``_html``
hold sanitized HTML (except ``search_suggestions_html``: Google's raw widget, only for a
sandboxed iframe's ``srcdoc``); every other string in the returned parts is plain text that
the caller must escape (Django templates do; in JS use ``textContent``, never ``innerHTML``).
"""

from ._citations import render_text_with_citations
from ._markdown import LINK_REL, code_block_html, render_markdown, sanitize_html
from ._steps import plain_text, render_steps

__all__ = [
    "LINK_REL",
    "code_block_html",
    "plain_text",
    "render_markdown",
    "render_steps",
    "render_text_with_citations",
    "sanitize_html",
]
