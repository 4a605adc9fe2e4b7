"""Markdown → sanitized HTML: markdown-it-py (raw HTML off), nh3.

Code blocks are escaped text: the page highlights them (highlight.js, static/js/markdown/typeset.js)
as it does the live answer, so the final HTML looks exactly like what streamed.

Citation markers travel through the parser as private-use placeholders (``PH_OPEN n PH_CLOSE``)
that a core rule turns into ``cite`` tokens, moving them out of code and link text so the
marker never lands inside an attribute, a code span or another link.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.tasklists import tasklists_plugin

from ._math import math_plugin

LINK_REL = "noopener noreferrer nofollow"

# Citation placeholders: private-use chars, stripped from all input so only we can write them.
PH_OPEN, PH_CLOSE = "\ue000", "\ue001"
PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
PUA = re.compile("[\ue000\ue001]")

_ALIGN_STYLE = re.compile(r"^text-align:(left|center|right)$")

_ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "em", "strong", "del", "s",
    "a", "span", "div", "button", "sup", "input",
}  # fmt: skip
_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
# Labels the HTML carries, written in the reader's language: a task list's checkboxes need a
# name (accessibility), and a code block has a copy button.
# static/js/markdown/render.js writes the same, from the same messages.


def _task_label(checked: bool) -> str:
    label: str = pgettext("task list", "Done") if checked else pgettext("task list", "Not done")
    return label


def _copy_code_label() -> str:
    label: str = gettext("Copy code")
    return label


def _in_every_language(*labels: Callable[[], str]) -> set[str]:
    """`labels` as each of the site's languages writes them (the allow-list keeps any)."""
    found = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            found |= {label() for label in labels}
    return found


@cache
def _cleaner() -> nh3.Cleaner:
    """Built on first use: the translations are not loaded when this module is imported."""
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "svg", "math", "template", "noscript"},
        attributes={"a": {"href", "title", "data-cite"}, "ol": {"start"}, "input": {"checked"}},
        tag_attribute_values={
            "button": {"type": {"button"}, "aria-label": _in_every_language(_copy_code_label)},
            "input": {
                "type": {"checkbox"},
                "disabled": {"disabled"},
                "aria-label": _in_every_language(
                    lambda: _task_label(True), lambda: _task_label(False)
                ),
            },
        },
        set_tag_attribute_values={"a": {"target": "_blank"}},
        allowed_classes={
            "span": {"code-lang", "math-inline", "math-display"},
            "div": {"code-block", "code-head", "math-display"},
            "ul": {"contains-task-list"},
            "ol": {"contains-task-list"},
            "li": {"task-list-item"},
            "input": {"task-list-item-checkbox"},
            "pre": {"highlight"},
            "button": {"copy-code"},
            "sup": {"cite"},
            "th": _ALIGN_CLASSES,
            "td": _ALIGN_CLASSES,
        },
        url_schemes={"http", "https", "mailto"},
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Markdown → sanitized HTML (raw HTML in ``text`` is shown as text)."""
    return render_source(PUA.sub("", clean_text(text)), {})


def sanitize_html(fragment: str) -> str:
    """``fragment`` reduced to the allow-list this module renders (idempotent on its output)."""
    return _cleaner().clean(fragment)


def render_source(source: str, cites: dict[int, tuple[str, str]]) -> str:
    if not source.strip():
        return ""
    rendered = _md.render(source, {"cites": cites})
    # Placeholders are turned into tokens before rendering; drop any the parser hid elsewhere.
    return _cleaner().clean(PUA.sub("", PLACEHOLDER.sub("", rendered)))


def _normalize_link(url: str) -> str:
    # Keep placeholders out of percent-encoding so the core rule can move them after the link.
    marks = "".join(m.group(0) for m in PLACEHOLDER.finditer(url))
    return _base_normalize_link(PLACEHOLDER.sub("", url)) + marks


def _take_marks(text: str) -> tuple[str, list[int]]:
    return PLACEHOLDER.sub("", text), [int(n) for n in PLACEHOLDER.findall(text)]


def _cite_tokens(numbers: Iterable[int]) -> list[Token]:
    return [Token("cite", "", 0, meta={"n": n}) for n in numbers]


def _core_rule(state: StateCore) -> None:
    """Move citation placeholders out of code and links; table alignment → classes."""
    for tok in state.tokens:
        if tok.type in ("fence", "code_block"):
            tok.content, in_code = _take_marks(tok.content)
            tok.info, in_info = _take_marks(tok.info)
            tok.meta["cites"] = in_info + in_code
        elif tok.type in ("th_open", "td_open"):
            match = _ALIGN_STYLE.match(str(tok.attrs.pop("style", "")))
            if match:
                tok.attrSet("class", f"align-{match.group(1)}")
        elif tok.type == "inline" and tok.children:
            tok.children = _inline_children(tok.children)
            for child in tok.children:
                if child.type == "html_inline" and "task-list-item-checkbox" in child.content:
                    child.content = _named_checkbox(child.content)


def _named_checkbox(tag: str) -> str:
    label = html.escape(_task_label("checked" in tag))
    return tag.replace("<input ", f'<input aria-label="{label}" ')


def _inline_children(children: list[Token]) -> list[Token]:
    out: list[Token] = []
    held: list[list[int]] = []  # markers held back until the enclosing link closes
    for child in children:
        marks: list[int] = []
        for name, value in list(child.attrs.items()):
            child.attrs[name], found = _take_marks(str(value))
            marks += found
        if child.type == "link_open":
            held.append(marks)
            out.append(child)
            continue
        if child.type == "link_close":
            out.append(child)
            # An autolink's URL is also its text: one marker each, in number order.
            out += _cite_tokens(sorted(set(held.pop())) if held else [])
            continue
        if child.type == "image":
            alt, found = _take_marks("".join(c.content for c in child.children or []))
            marks += found
            src = str(child.attrs.get("src", ""))
            if held or not is_http_url(src):
                out.append(_text_token(alt))
            else:
                link = Token("link_open", "a", 1, attrs={"href": src})
                out += [link, _text_token(alt or src), Token("link_close", "a", -1)]
        elif child.type in ("text", "code_inline"):
            if child.type == "text" and not held:
                out += _split_text(child)
                continue
            child.content, found = _take_marks(child.content)
            marks += found
            out.append(child)
        else:
            out.append(child)
        if held:
            held[-1] += marks
        else:
            out += _cite_tokens(marks)
    for marks in held:
        out += _cite_tokens(sorted(set(marks)))
    return out


def _split_text(tok: Token) -> list[Token]:
    parts = PLACEHOLDER.split(tok.content)
    out: list[Token] = []
    for i, part in enumerate(parts):
        if i % 2:
            out += _cite_tokens([int(part)])
        elif part:
            out.append(_text_token(part))
    return out


def _text_token(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _render_cite(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    n = int(tokens[idx].meta["n"])
    source = env.get("cites", {}).get(n)
    if source is None:
        return ""
    url, title = source
    return (
        f'<sup class="cite"><a href="{html.escape(url)}" target="_blank" rel="{LINK_REL}"'
        f' data-cite="{n}" title="{html.escape(title)}">[{n}]</a></sup>'
    )


def _render_code(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tok = tokens[idx]
    lang = tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""
    markers = "".join(
        _render_cite(self, _cite_tokens([n]), 0, options, env) for n in tok.meta.get("cites", [])
    )
    block = _code_block(tok.content, lang)
    return block + (f"<p>{markers}</p>\n" if markers else "")


def code_block_html(code: str, language: str = "") -> str:
    """A code block with its header and (inert) copy button, sanitized (the page highlights it)."""
    return _cleaner().clean(_code_block(code, language))


def _code_block(code: str, language: str) -> str:
    body = html.escape(code)
    label = html.escape(language[:40] or "text")
    return (
        '<div class="code-block"><div class="code-head">'
        f'<span class="code-lang">{label}</span>'
        f'<button type="button" class="copy-code" aria-label="{html.escape(_copy_code_label())}">'
        f"{html.escape(gettext('Copy'))}</button></div>"
        f'<pre class="highlight"><code>{body}</code></pre></div>\n'
    )


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])
_md.use(tasklists_plugin).use(math_plugin)
_base_normalize_link = _md.normalizeLink
_md.normalizeLink = _normalize_link  # type: ignore[method-assign]
_md.core.ruler.push("chat_citations", _core_rule)
_md.add_render_rule("cite", _render_cite)
_md.add_render_rule("fence", _render_code)
_md.add_render_rule("code_block", _render_code)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_http_url(url: str) -> bool:
    if not url or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def clean_text(text: object) -> str:
    """Text that encodes as UTF-8: lone surrogates (possible via JSON) become U+FFFD."""
    if not isinstance(text, str):
        return ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
