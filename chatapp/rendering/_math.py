"""Maths in Markdown: ``$…$``, ``$$…$$``, ``\\(…\\)`` and ``\\[…\\]`` kept away from the Markdown
rules (so ``\\,`` is not an escape) and emitted as their TeX source in an element the page
typesets with KaTeX: ``<span class="math-inline">``, ``<span class="math-display">`` inside a
paragraph, ``<div class="math-display">`` on lines of its own. Without JavaScript the source
shows. ``static/js/markdown/math.js`` mirrors these rules for the live answer: change both.

A single ``$`` opens maths only before a non-space and closes only after a non-space not
followed by a digit, and not after a digit: "$5 and $10" is money, not maths.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_CLOSERS = {"$$": "$$", "\\[": "\\]", "\\(": "\\)"}


def math_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("escape", "math_inline", _inline)
    md.block.ruler.before(
        "fence", "math_block", _block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
    )
    md.add_render_rule("math_inline", _render_inline)
    md.add_render_rule("math_block", _render_block)


def _unescaped(src: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and src[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 0


def _find(src: str, closer: str, start: int) -> int:
    at = src.find(closer, start)
    while at >= 0 and closer[0] == "$" and not _unescaped(src, at):
        at = src.find(closer, at + 1)
    return at


def _inline(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    opener = src[pos : pos + 2]
    if opener in _CLOSERS:
        closer = _CLOSERS[opener]
        end = _find(src, closer, pos + 2)
        content = src[pos + 2 : end] if end >= 0 else ""
        display = opener != "\\("
        after = end + 2
    elif src[pos] == "$":
        nxt = src[pos + 1 : pos + 2]
        if not nxt or nxt.isspace() or (pos > 0 and src[pos - 1].isdigit()):
            return False
        end = _find(src, "$", pos + 1)
        if end < 0 or src[end - 1].isspace() or src[end + 1 : end + 2].isdigit():
            return False
        content, display, after = src[pos + 1 : end], False, end + 1
    else:
        return False
    if not content.strip():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = content.strip()
        token.meta = {"display": display}
    state.pos = after
    return True


def _block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin : state.eMarks[start_line]].rstrip()
    opener = first[:2]
    if opener not in ("$$", "\\["):
        return False
    closer = _CLOSERS[opener]
    rest = first[2:]
    lines = [rest]
    line = start_line
    if rest.endswith(closer) and rest[: -len(closer)].strip():
        lines[0] = rest[: -len(closer)]
    elif closer in rest:
        return False  # `$$a$$ and more`: inline maths in a paragraph
    else:
        while True:
            line += 1
            if line >= end_line:
                return False
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]
            text = text.rstrip()
            if not text:
                return False  # no blank line inside maths (an open block stays text)
            if text.endswith(closer):
                lines.append(text[: -len(closer)])
                break
            if closer in text:
                return False
            lines.append(text)
    content = "\n".join(lines).strip()
    if not content:
        return False
    if not silent:
        token = state.push("math_block", "math", 0)
        token.content = content
        token.map = [start_line, line + 1]
    state.line = line + 1
    return True


def _render_inline(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tok = tokens[idx]
    kind = "math-display" if tok.meta.get("display") else "math-inline"
    return f'<span class="{kind}">{html.escape(tok.content, quote=False)}</span>'


def _render_block(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return f'<div class="math-display">{html.escape(tokens[idx].content, quote=False)}</div>\n'
