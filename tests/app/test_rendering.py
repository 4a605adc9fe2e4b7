"""chatapp.rendering: Markdown, sanitization, citations at byte offsets, step parts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatapp.rendering import (
    code_block_html,
    plain_text,
    render_markdown,
    render_steps,
    render_text_with_citations,
    sanitize_html,
)

REL = "noopener noreferrer nofollow"


# --- a tiny DOM, so assertions are about markup, not substrings ----------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self) -> list[Node]:
        out = [self]
        for c in self.children:
            if isinstance(c, Node):
                out += c.iter()
        return out

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [
            n
            for n in self.iter()
            if n.tag == tag and (cls is None or cls in n.attrs.get("class", "").split())
        ]

    def find(self, tag: str, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag} class={cls}> in {self}"
        return found[0]


class _Builder(HTMLParser):
    VOID = {"br", "hr", "img", "input", "meta", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"mismatched </{tag}> in {self.stack[-1].tag}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed tags"
    return builder.root


ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "em", "strong", "del", "s",
    "a", "span", "div", "button", "sup",
}  # fmt: skip


def assert_safe(html: str) -> Node:
    """Only allow-listed tags; no handlers, styles or ids; links only to http(s)/mailto."""
    root = parse(html)
    for node in root.iter()[1:]:
        assert node.tag in ALLOWED_TAGS, node.tag
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            assert name not in ("style", "id", "src", "srcdoc", "formaction"), (node.tag, name)
            if name == "href":
                assert value.startswith(("http://", "https://", "mailto:")), value
        if node.tag == "a":
            assert node.attrs.get("target") == "_blank"
            assert node.attrs.get("rel") == REL
    return root


# --- Markdown --------------------------------------------------------------------------------


def test_common_markdown_blocks() -> None:
    root = assert_safe(
        render_markdown(
            "# Title\n\n## Sub\n\nSome *em*, **strong**, ~~gone~~ and `code`.\n\n"
            "- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n---\n\nline  \nbreak"
        )
    )
    assert root.find("h1").text == "Title"
    assert root.find("h2").text == "Sub"
    assert root.find("em").text == "em"
    assert root.find("strong").text == "strong"
    assert root.find("s").text == "gone"
    assert root.find("code").text == "code"
    assert [li.text for li in root.find("ul").find_all("li")] == ["one", "two"]
    assert root.find("ol").attrs["start"] == "3"
    assert root.find("blockquote").text.strip() == "quoted"
    assert root.find_all("hr") and root.find_all("br")


def test_table_alignment_becomes_classes() -> None:
    root = assert_safe(render_markdown("| a | b | c |\n|:-|:-:|-:|\n| 1 | 2 | 3 |\n"))
    assert [th.attrs.get("class") for th in root.find_all("th")] == [
        "align-left",
        "align-center",
        "align-right",
    ]
    assert [td.text for td in root.find_all("td")] == ["1", "2", "3"]


def test_links_open_in_a_new_tab_without_referrer() -> None:
    root = assert_safe(
        render_markdown("[Docs](https://example.com/a?b=1&c=2) <https://x.org> [m](mailto:a@b.c)")
    )
    links = root.find_all("a")
    assert [a.attrs["href"] for a in links] == [
        "https://example.com/a?b=1&c=2",
        "https://x.org",
        "mailto:a@b.c",
    ]
    assert all(a.attrs["target"] == "_blank" and a.attrs["rel"] == REL for a in links)


def test_bare_urls_are_not_linkified() -> None:
    root = assert_safe(render_markdown("see https://example.com today"))
    assert not root.find_all("a")
    assert "https://example.com" in root.text


def test_fenced_code_is_escaped_with_a_copy_button() -> None:
    # The page highlights it (highlight.js), as it does the live answer: no spans here.
    code = 'def f(x):\n    return "<b>" + x  # done\n'
    root = assert_safe(render_markdown(f"```python\n{code}```\n"))
    block = root.find("div", "code-block")
    head = block.find("div", "code-head")
    assert head.find("span", "code-lang").text == "python"
    button = head.find("button", "copy-code")
    assert button.attrs == {"type": "button", "class": "copy-code", "aria-label": "Copy code"}
    assert button.text == "Copy"
    pre = block.find("pre", "highlight")
    assert pre.text == code  # exactly the code, unescaped once parsed
    assert not pre.find_all(["span", "b"])


def test_unknown_or_missing_language_is_plain_escaped_code() -> None:
    for fence, label in (("```klingon\n", "klingon"), ("```\n", "text")):
        root = assert_safe(render_markdown(f"{fence}<script>alert(1)</script>\n```"))
        assert root.find("span", "code-lang").text == label
        pre = root.find("pre", "highlight")
        assert pre.text == "<script>alert(1)</script>\n"
        assert not pre.find_all("span")


def test_indented_code_gets_the_same_block() -> None:
    root = assert_safe(render_markdown("para\n\n    x = 1\n"))
    assert root.find("pre", "highlight").text == "x = 1\n"
    assert root.find("span", "code-lang").text == "text"


def test_language_label_is_escaped() -> None:
    root = assert_safe(render_markdown('```"><img/src=x/onerror=alert(1)>\nhi\n```'))
    assert root.find("span", "code-lang").text.startswith('">')


def test_code_block_html_for_callers() -> None:
    root = assert_safe(code_block_html("print('hi')\n", "python"))
    assert root.find("span", "code-lang").text == "python"
    assert root.find("pre").text == "print('hi')\n"


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src='https://evil.example'></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)><circle/></svg>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "<form action='https://evil.example'><button formaction=x>go</button></form>",
    "<div style='position:fixed' id=x onclick=alert(1)>d</div>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1) )",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](/relative) [y](#frag) [z](//evil.example/x)",
    "![x](javascript:alert(1)) ![y](data:image/png;base64,AAAA)",
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)\n\n[x]",
    '[x](https://ok.example "title\\" onmouseover=\\"alert(1)")',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!-- comment --><style>body{}</style>",
]


@pytest.mark.parametrize("payload", XSS)
def test_raw_html_and_dangerous_links_never_become_markup(payload: str) -> None:
    for text in (payload, f"# {payload}", f"- {payload}", f"| {payload} |\n|-|\n| a |"):
        root = assert_safe(render_markdown(text))
        assert not {"script", "iframe", "svg", "math", "img", "form", "style"} & {
            n.tag for n in root.iter()
        }


def test_raw_html_is_shown_as_text() -> None:
    root = assert_safe(render_markdown("Use <b>bold</b> and <script>x()</script>"))
    assert root.text.strip() == "Use <b>bold</b> and <script>x()</script>"
    assert not root.find_all("b")


def test_markdown_images_become_plain_links() -> None:
    root = assert_safe(render_markdown("![a cat](https://img.example/cat.png)"))
    link = root.find("a")
    assert link.attrs["href"] == "https://img.example/cat.png"
    assert link.text == "a cat"


def test_linked_image_keeps_one_link() -> None:
    root = assert_safe(
        render_markdown("[![logo](https://img.example/l.png)](https://site.example)")
    )
    (link,) = root.find_all("a")
    assert link.attrs["href"] == "https://site.example"
    assert link.text == "logo"


def test_empty_and_non_string_input() -> None:
    assert render_markdown("") == ""
    assert render_markdown("   \n") == ""
    assert render_markdown(None) == ""  # type: ignore[arg-type]


def test_lone_surrogates_do_not_crash() -> None:
    assert "\ufffd" in parse(render_markdown("bad \ud83d text")).text


def test_model_cannot_forge_citation_markers() -> None:
    root = assert_safe(render_markdown("Trust me\ue0001\ue001 and \ue000"))
    assert not root.find_all("sup")
    assert "\ue000" not in root.text and "\ue001" not in root.text


def test_sanitize_html_is_idempotent_on_rendered_output() -> None:
    text = "# T\n\nSpain won.\n\n```python\nx = 1\n```\n\n| a |\n|:-:|\n| b |\n"
    end = len(b"# T\n\nSpain won.")
    html, _ = render_text_with_citations(
        text, [{"type": "url_citation", "url": "https://a.example", "end_index": end}]
    )
    assert sanitize_html(html) == html
    assert sanitize_html('<p onclick="x" style="y">p</p><script>s</script>') == "<p>p</p>"


# --- citations -------------------------------------------------------------------------------


def cite(url: str, start: Any, end: Any, title: Any = "t") -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": url,
        "title": title,
        "start_index": start,
        "end_index": end,
    }


def span(text: str, cited: str) -> tuple[int, int]:
    """UTF-8 byte offsets of the first ``cited`` in ``text`` (what the API sends)."""
    raw, needle = text.encode(), cited.encode()
    start = raw.index(needle)
    return start, start + len(needle)


def text_before_markers(root: Node) -> list[str]:
    """For each marker, the paragraph text that precedes it (markers stripped)."""
    out: list[str] = []

    def walk(node: Node, acc: list[str]) -> None:
        for child in node.children:
            if isinstance(child, str):
                acc.append(child)
            elif child.tag == "sup":
                out.append("".join(acc))
            else:
                walk(child, acc)

    walk(root, [])
    return out


PREFIX = "Olé — 日本 🌍 "


def test_marker_lands_right_after_the_cited_span_after_multibyte_text() -> None:
    text = PREFIX + "Spain won Euro 2024. England lost the final."
    html, sources = render_text_with_citations(
        text, [cite("https://www.uefa.com/euro2024", *span(text, "Spain won Euro 2024."), "UEFA")]
    )
    root = assert_safe(html)
    assert text_before_markers(root) == [PREFIX + "Spain won Euro 2024."]
    sup = root.find("sup", "cite")
    link = sup.find("a")
    assert link.text == "[1]"
    assert link.attrs["href"] == "https://www.uefa.com/euro2024"
    assert link.attrs["data-cite"] == "1"
    assert link.attrs["title"] == "UEFA"
    assert link.attrs["target"] == "_blank" and link.attrs["rel"] == REL
    assert sources == [
        {"n": 1, "url": "https://www.uefa.com/euro2024", "title": "UEFA", "domain": "uefa.com"}
    ]
    assert root.text.replace("[1]", "").strip() == text


@pytest.mark.parametrize(
    "prefix", ["", "é", "日本語", "🌍🌍", "a\u0301", "Ünïcödé 中文 😀 ", "👩‍👩‍👧 family "]
)
def test_byte_offsets_for_many_prefixes(prefix: str) -> None:
    text = f"{prefix}alpha beta. gamma"
    html, _ = render_text_with_citations(text, [cite("https://a.example", *span(text, "beta."))])
    assert text_before_markers(parse(html)) == [f"{prefix}alpha beta."]


def test_sources_are_numbered_by_first_appearance_and_duplicates_share_a_number() -> None:
    text = PREFIX + "One. Two. Three. Four."
    anns = [
        cite("https://c.example/3", *span(text, "Three.")),  # listed first, appears third
        cite("https://a.example/1", *span(text, "One.")),
        cite("https://b.example/2", *span(text, "Two.")),
        cite("https://a.example/1", *span(text, "Four.")),  # same URL again
        cite("https://b.example/2", *span(text, "Two.")),  # same place, same URL: one marker
    ]
    html, sources = render_text_with_citations(text, anns)
    root = assert_safe(html)
    assert [s["n"] for s in sources] == [1, 2, 3]
    assert [s["url"] for s in sources] == [
        "https://a.example/1",
        "https://b.example/2",
        "https://c.example/3",
    ]
    assert [a.text for a in root.find_all("a")] == ["[1]", "[2]", "[3]", "[1]"]
    assert text_before_markers(root) == [
        PREFIX + "One.",
        PREFIX + "One. Two.",
        PREFIX + "One. Two. Three.",
        PREFIX + "One. Two. Three. Four.",
    ]


def test_two_sources_for_one_span_sit_side_by_side() -> None:
    text = "Claim. More."
    anns = [cite("https://a.example", 0, 6), cite("https://b.example", 0, 6)]
    root = parse(render_text_with_citations(text, anns)[0])
    assert [a.text for a in root.find_all("a")] == ["[1]", "[2]"]
    assert text_before_markers(root) == ["Claim.", "Claim."]


def test_offset_inside_a_multibyte_character_snaps_to_the_next_boundary() -> None:
    text = "Earth 🌍 is home."
    start, end = span(text, "🌍")
    for bad_end in (start + 1, start + 2, start + 3):
        root = parse(render_text_with_citations(text, [cite("https://a.example", 0, bad_end)])[0])
        assert text_before_markers(root) == ["Earth 🌍"]
    root = parse(render_text_with_citations(text, [cite("https://a.example", 0, end)])[0])
    assert text_before_markers(root) == ["Earth 🌍"]
    accent = "Olé!"  # é is 2 bytes at offset 2
    root = parse(render_text_with_citations(accent, [cite("https://a.example", 0, 3)])[0])
    assert text_before_markers(root) == ["Olé"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (5, 2),  # reversed
        (-3, 4),  # negative start
        (0, -1),  # negative end
        (500, 600),  # whole span past the text
        (0, None),
        (0, "4"),
        (0, 4.0),
        (0, True),
        ("0", 4),
        (None, None),
    ],
)
def test_unusable_offsets_place_no_marker_but_keep_the_source(start: Any, end: Any) -> None:
    text = "Olé 日本 text."
    html, sources = render_text_with_citations(text, [cite("https://a.example", start, end)])
    root = assert_safe(html)
    assert not root.find_all("sup")
    assert root.text.strip() == text
    assert [s["url"] for s in sources] == ["https://a.example"]


def test_end_past_the_text_clamps_to_its_end() -> None:
    text = PREFIX + "All of it."
    root = parse(render_text_with_citations(text, [cite("https://a.example", 3, 10_000)])[0])
    assert text_before_markers(root) == [text]


def test_missing_start_index_is_fine() -> None:
    text = "A. B."
    ann = {"type": "url_citation", "url": "https://a.example", "end_index": 2}
    assert text_before_markers(parse(render_text_with_citations(text, [ann])[0])) == ["A."]


def test_unplaced_sources_are_numbered_after_placed_ones() -> None:
    text = "First. Second."
    anns = [cite("https://late.example", 9, 3), cite("https://a.example", 0, 6)]
    _, sources = render_text_with_citations(text, anns)
    assert [(s["n"], s["url"]) for s in sources] == [
        (1, "https://a.example"),
        (2, "https://late.example"),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:x",
        "ftp://files.example/x",
        "/relative/path",
        "//evil.example/x",
        "https://",
        "https://exa mple.com",
        "https://example.com/\nx",
        "",
        None,
        42,
    ],
)
def test_non_http_citation_urls_are_dropped(url: Any) -> None:
    text = "Bad. Good."
    anns = [cite(url, 0, 4), cite("https://good.example", 5, 10)]
    html, sources = render_text_with_citations(text, anns)
    root = assert_safe(html)
    assert [s["url"] for s in sources] == ["https://good.example"]
    assert [s["n"] for s in sources] == [1]
    (link,) = root.find_all("a")
    assert link.attrs["href"] == "https://good.example" and link.text == "[1]"


def test_hostile_title_and_url_are_attribute_escaped() -> None:
    title = '"><script>alert(1)</script><a href="javascript:x'
    url = 'https://a.example/?q="><script>alert(1)</script>&x=1'
    html, sources = render_text_with_citations("Fact.", [cite(url, 0, 5, title)])
    root = assert_safe(html)
    assert not root.find_all("script")
    link = root.find("sup", "cite").find("a")
    assert link.attrs["title"] == title
    assert link.attrs["href"] == url
    assert sources[0]["title"] == title  # plain text: the template escapes it


def test_title_falls_back_to_the_domain() -> None:
    anns = [
        cite("https://www.example.org/x", 0, 2, None),
        cite("https://news.example.com/", 0, 2, "   "),
    ]
    html, sources = render_text_with_citations("Hi.", anns)
    assert [(s["title"], s["domain"]) for s in sources] == [
        ("example.org", "example.org"),
        ("news.example.com", "news.example.com"),
    ]
    assert [a.attrs["title"] for a in parse(html).find_all("a")] == [
        "example.org",
        "news.example.com",
    ]


def test_other_annotation_types_are_ignored_but_place_citations_count() -> None:
    anns: list[Any] = [
        {"type": "file_citation", "document_uri": "https://x.example", "end_index": 2},
        {"type": "place_citation", "name": "Café", "url": "https://maps.example/p", "end_index": 2},
        "garbage",
        None,
    ]
    html, sources = render_text_with_citations("Go.", anns)
    assert [(s["n"], s["title"]) for s in sources] == [(1, "Café")]
    assert len(parse(html).find_all("sup")) == 1


def test_model_written_placeholders_do_not_shift_offsets_or_forge_markers() -> None:
    text = "Fake \ue0009\ue001 marker. Real claim."
    html, sources = render_text_with_citations(
        text, [cite("https://a.example", *span(text, "Real claim."))]
    )
    root = assert_safe(html)
    assert [a.text for a in root.find_all("a")] == ["[1]"]
    assert text_before_markers(root) == ["Fake 9 marker. Real claim."]
    assert len(sources) == 1


def test_citation_keeps_markdown_structure() -> None:
    text = "# Result\n\n**Spain won** the final.\n\n- item one\n- item two\n"
    anns = [
        cite("https://a.example", *span(text, "**Spain won")),
        cite("https://b.example", *span(text, "# Result\n")),  # trailing newline included
        cite("https://c.example", *span(text, "item one\n")),
    ]
    root = assert_safe(render_text_with_citations(text, anns)[0])
    h1 = root.find("h1")
    assert h1.text == "Result[1]"
    assert root.find("strong").text == "Spain won[2]"
    assert [li.text for li in root.find_all("li")] == ["item one[3]", "item two"]


def test_citation_inside_inline_code_moves_after_it() -> None:
    text = "Run `pip install x` now."
    root = assert_safe(
        render_text_with_citations(text, [cite("https://a.example", 0, span(text, "pip")[1])])[0]
    )
    assert root.find("code").text == "pip install x"
    assert text_before_markers(root) == ["Run pip install x"]


def test_citation_inside_a_fenced_block_moves_after_the_block() -> None:
    text = "Code:\n\n```python\nx = 1\ny = 2\n```\n\nAfter."
    root = assert_safe(
        render_text_with_citations(text, [cite("https://a.example", 0, span(text, "x = 1")[1])])[0]
    )
    assert root.find("pre").text == "x = 1\ny = 2\n"
    assert not root.find("pre").find_all("sup")
    assert root.find("span", "code-lang").text == "python"
    assert len(root.find_all("sup")) == 1


def test_citation_in_a_fence_info_string_never_breaks_the_block() -> None:
    text = "```python\nx = 1\n```"
    end = span(text, "pyth")[1]
    html, sources = render_text_with_citations(text, [cite("https://a.example", 0, end)])
    root = assert_safe(html)
    assert root.find("span", "code-lang").text == "python"
    assert root.find("pre").text == "x = 1\n"
    assert not root.find_all("sup") and len(sources) == 1  # a fence line takes no marker
    nested = "- ```python\n  x = 1\n  ```"  # inside a list item: moved after the block
    end = span(nested, "pyth")[1]
    root = assert_safe(render_text_with_citations(nested, [cite("https://a.example", 0, end)])[0])
    assert root.find("span", "code-lang").text == "python"
    assert root.find("pre").text == "x = 1\n"
    assert len(root.find("li").find_all("sup")) == 1


def test_citation_after_a_closing_fence_does_not_break_the_block() -> None:
    text = "```\nx = 1\n```\n\nNext paragraph."
    html, sources = render_text_with_citations(text, [cite("https://a.example", 0, 14)])
    root = assert_safe(html)
    assert root.find("pre").text == "x = 1\n"
    assert root.find("p").text == "Next paragraph."
    assert len(sources) == 1


def test_citation_inside_link_text_or_url_goes_after_the_link() -> None:
    text = "See [the UEFA page](https://uefa.example/final) and <https://x.example/long/path>."
    anns = [
        cite("https://a.example", 0, span(text, "the UEFA")[1]),
        cite("https://b.example", 0, span(text, "https://uefa.exa")[1]),
        cite("https://c.example", 0, span(text, "x.example/lo")[1]),
    ]
    root = assert_safe(render_text_with_citations(text, anns)[0])
    links = [a for a in root.find_all("a") if "data-cite" not in a.attrs]
    assert [(a.attrs["href"], a.text) for a in links] == [
        ("https://uefa.example/final", "the UEFA page"),
        ("https://x.example/long/path", "https://x.example/long/path"),
    ]
    for a in links:
        assert not a.find_all("sup")
    assert text_before_markers(root) == [
        "See the UEFA page",
        "See the UEFA page",
        "See the UEFA page and https://x.example/long/path",
    ]
    assert [a.text for a in root.find_all("sup")] == ["[1]", "[2]", "[3]"]


def test_citation_at_the_end_of_a_table_row_stays_in_the_table() -> None:
    text = "| Team | Goals |\n|---|---:|\n| Spain | 2 |\n| England | 1 |\n"
    anns = [cite("https://a.example", 0, span(text, "| Spain | 2 |")[1])]
    root = assert_safe(render_text_with_citations(text, anns)[0])
    cells = [td.text for td in root.find_all("td")]
    assert cells == ["Spain", "2[1]", "England", "1"]


def test_citation_ending_on_a_setext_underline_or_rule_is_unplaced() -> None:
    for text in ("Title\n=====\n\nBody.", "Para.\n\n---\n\nMore."):
        end = text.index("\n\n", text.index("\n") + 1)
        html, sources = render_text_with_citations(text, [cite("https://a.example", 0, end)])
        root = assert_safe(html)
        assert not root.find_all("sup")
        assert len(sources) == 1
    assert parse(render_markdown("Title\n=====")).find("h1").text == "Title"


def test_no_annotations_is_plain_markdown() -> None:
    html, sources = render_text_with_citations("**hi**", [])
    assert html == render_markdown("**hi**")
    assert sources == []
    assert render_text_with_citations("x", None)[1] == []


_MD_ALPHABET = st.sampled_from(
    list("ab é日🌍\n#*_`~|-:>[]()<>!\\&;=\ue000\ue001")
    + ["https://x.example", "javascript:", "```"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(_MD_ALPHABET, max_size=60).map("".join),
    offsets=st.lists(st.tuples(st.integers(-5, 200), st.integers(-5, 200)), max_size=6),
)
def test_any_text_and_offsets_render_safely(text: str, offsets: list[tuple[int, int]]) -> None:
    anns = [cite(f"https://s{i % 3}.example", a, b) for i, (a, b) in enumerate(offsets)]
    html, sources = render_text_with_citations(text, anns)
    root = assert_safe(html)
    assert "\ue000" not in html and "\ue001" not in html
    assert {s["url"] for s in sources} == {a["url"] for a in anns}
    numbers = [int(a.attrs["data-cite"]) for a in root.find_all("a") if "data-cite" in a.attrs]
    assert len(numbers) <= len(anns)
    assert set(numbers) <= {s["n"] for s in sources}
    for sup in root.find_all("sup"):
        assert sup.attrs == {"class": "cite"}
    for link in root.find_all("a"):
        assert link.find_all("a") == [link], "nested links"


# --- steps -----------------------------------------------------------------------------------

WIDGET = (
    '<style>.container{}</style><div class="container"><a class="chip" '
    'href="https://www.google.com/search?q=euro+2024">UEFA Euro 2024 winner</a></div>'
    "<script>console.log(1)</script>"
)
ANSWER = "Spain won **Euro 2024**, defeating England 2-1 in the final. 🇪🇸 Olé!"


def search_steps() -> list[dict[str, Any]]:
    end = len(b"Spain won **Euro 2024**, defeating England 2-1 in the final.")
    return [
        {"type": "user_input", "content": [{"type": "text", "text": "Who won the euro 2024?"}]},
        {"type": "thought", "signature": "EvEFCu4F..."},
        {
            "type": "google_search_call",
            "id": "search_001",
            "arguments": {"queries": ["UEFA Euro 2024 winner"]},
            "search_type": "web_search",
            "signature": "abc",
        },
        {
            "type": "google_search_result",
            "call_id": "search_001",
            "result": [{"search_suggestions": WIDGET}],
            "signature": "def",
        },
        {
            "type": "model_output",
            "content": [
                {
                    "type": "text",
                    "text": ANSWER,
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbC",
                            "title": "uefa.com",
                            "start_index": 0,
                            "end_index": end,
                        },
                        {
                            "type": "url_citation",
                            "url": "https://en.wikipedia.org/wiki/UEFA_Euro_2024_final",
                            "title": "wikipedia.org",
                            "start_index": 0,
                            "end_index": len(b"Spain won"),
                        },
                    ],
                }
            ],
        },
    ]


def test_render_steps_google_search_answer() -> None:
    parts = render_steps(search_steps())
    assert [p["kind"] for p in parts] == ["thought", "tool_call", "tool_result", "text"]
    thought, call, result, text = parts
    assert thought == {"kind": "thought", "summary_html": "", "images": [], "has_signature": True}
    assert call["type"] == "google_search_call" and call["name"] == "google_search"
    assert call["id"] == "search_001"
    assert call["queries"] == ["UEFA Euro 2024 winner"]
    assert call["search_type"] == "web_search"
    assert json.loads(call["arguments_json"]) == {"queries": ["UEFA Euro 2024 winner"]}
    assert result["type"] == "google_search_result" and result["call_id"] == "search_001"
    assert result["search_suggestions_html"] == WIDGET  # raw, for a sandboxed srcdoc only
    assert not result["is_error"]

    root = assert_safe(text["html"])
    assert "<script" not in text["html"] and "chip" not in text["html"]
    assert root.find("strong").text == "Euro 2024"
    assert text_before_markers(root) == [
        "Spain won",
        "Spain won Euro 2024, defeating England 2-1 in the final.",
    ]
    assert [(s["n"], s["title"], s["domain"]) for s in text["sources"]] == [
        (1, "wikipedia.org", "en.wikipedia.org"),
        (2, "uefa.com", "vertexaisearch.cloud.google.com"),
    ]
    for part in (thought, call, text):
        assert WIDGET not in json.dumps(part)


def test_render_steps_function_call_and_results() -> None:
    parts = render_steps(
        [
            {
                "type": "function_call",
                "id": "fc_1",
                "name": "get_weather",
                "arguments": {"location": "Zürich", "unit": "<c>"},
            },
            {
                "type": "function_result",
                "call_id": "fc_1",
                "name": "get_weather",
                "result": {"temp": 21, "sky": "☀"},
            },
            {"type": "function_result", "call_id": "fc_2", "result": "plain <b>text</b>"},
            {
                "type": "function_result",
                "call_id": "fc_3",
                "is_error": True,
                "result": [
                    {"type": "text", "text": "partial "},
                    {"type": "image", "mime_type": "image/png", "data": "iVBOR"},
                    {"type": "text", "text": "failure"},
                ],
            },
            {"type": "function_call", "id": "fc_4", "name": "f", "arguments": '{"broken": '},
        ]
    )
    call, res, res2, res3, call2 = parts
    assert call["kind"] == "tool_call" and call["name"] == "get_weather" and call["id"] == "fc_1"
    assert call["arguments_json"] == '{\n  "location": "Zürich",\n  "unit": "<c>"\n}'
    assert res["kind"] == "tool_result" and res["call_id"] == "fc_1"
    assert json.loads(res["result_json"]) == {"temp": 21, "sky": "☀"}
    assert res2["output"] == "plain <b>text</b>"  # plain text; the template escapes it
    assert res2["name"] == "function"
    assert res3["is_error"] is True and res3["output"] == "partial failure"
    assert res3["media"] == [{"kind": "image", "mime_type": "image/png", "data": "iVBOR"}]
    assert call2["arguments_json"] == '{"broken": '


def test_render_steps_code_execution() -> None:
    code = "import math\nprint(math.pi)\n"
    parts = render_steps(
        [
            {
                "type": "code_execution_call",
                "id": "ce_1",
                "arguments": {"code": code, "language": "python"},
            },
            {"type": "code_execution_result", "call_id": "ce_1", "result": "3.141592653589793\n"},
        ]
    )
    call, result = parts
    assert call["kind"] == "tool_call" and call["name"] == "code_execution"
    assert call["code"] == code and call["language"] == "python"
    root = assert_safe(call["code_html"])
    assert root.find("pre").text == code
    assert root.find("button", "copy-code")
    assert root.find("span", "code-lang").text == "python"  # what the page highlights it as
    assert result == {
        "kind": "tool_result",
        "type": "code_execution_result",
        "name": "code_execution",
        "call_id": "ce_1",
        "is_error": False,
        "output": "3.141592653589793\n",
    }


def test_render_steps_thought_with_summary() -> None:
    (part,) = render_steps(
        [
            {
                "type": "thought",
                "signature": "sig",
                "summary": [
                    {"type": "text", "text": "**Planning** the answer <script>x</script>"},
                    {"type": "image", "mime_type": "image/png", "data": "AAA"},
                    {"type": "text", "text": "Then [check](javascript:alert(1))."},
                ],
            }
        ]
    )
    assert part["kind"] == "thought" and part["has_signature"] is True
    root = assert_safe(part["summary_html"])
    assert root.find("strong").text == "Planning"
    assert "<script>x</script>" in root.text
    assert len(root.find_all("p")) == 2
    assert part["images"] == [{"kind": "image", "mime_type": "image/png", "data": "AAA"}]
    (unsigned,) = render_steps([{"type": "thought"}])
    assert unsigned["has_signature"] is False and unsigned["summary_html"] == ""


def test_render_steps_media_errors_and_unknowns() -> None:
    parts = render_steps(
        [
            {
                "type": "model_output",
                "content": [
                    {"type": "text", "text": "Here it is:"},
                    {"type": "image", "mime_type": "image/png", "data": "iVBORw0"},
                    {"type": "image", "mime_type": "image/jpeg", "uri": "https://x.example/i.jpg"},
                    {"type": "hologram", "data": "?"},
                    {"type": "text", "text": ""},
                ],
                "error": {"code": 8, "message": "Quota <exceeded>"},
            },
            {"type": "teleport_call", "id": "t"},
            {"type": "brand_new_step", "payload": {"x": 1}},
            {"content": []},
            cast(Any, "not a step"),
            {"type": "model_output", "error": {}},
        ]
    )
    assert parts[0]["kind"] == "text" and parse(parts[0]["html"]).text.strip() == "Here it is:"
    assert parts[1] == {"kind": "image", "mime_type": "image/png", "data": "iVBORw0"}
    assert parts[2] == {
        "kind": "image",
        "mime_type": "image/jpeg",
        "uri": "https://x.example/i.jpg",
    }
    assert parts[3] == {"kind": "unknown", "type": "hologram"}
    assert parts[4] == {"kind": "error", "message": "Quota <exceeded>", "code": 8}
    assert parts[5]["kind"] == "tool_call" and parts[5]["name"] == "teleport"
    assert parts[6] == {"kind": "unknown", "type": "brand_new_step"}
    assert parts[7] == {"kind": "unknown", "type": ""}
    assert len(parts) == 8


def test_render_steps_other_server_tools() -> None:
    parts = render_steps(
        [
            {"type": "url_context_call", "id": "u1", "arguments": {"urls": ["https://a.example"]}},
            {
                "type": "url_context_result",
                "call_id": "u1",
                "result": [{"url": "https://a.example", "status": "success"}],
            },
            {
                "type": "mcp_server_tool_call",
                "id": "m1",
                "name": "lookup",
                "server_name": "crm",
                "arguments": {"id": 7},
            },
            {"type": "mcp_server_tool_result", "call_id": "m1", "name": "lookup", "result": [1, 2]},
            {"type": "file_search_call", "id": "fs1"},
        ]
    )
    assert parts[0]["urls"] == ["https://a.example"]
    assert parts[1]["urls"] == [{"url": "https://a.example", "link": True, "status": "success"}]
    assert (parts[2]["name"], parts[2]["server_name"]) == ("lookup", "crm")
    assert json.loads(parts[3]["result_json"]) == [1, 2]
    assert parts[4] == {
        "kind": "tool_call",
        "type": "file_search_call",
        "name": "file_search",
        "id": "fs1",
        "arguments_json": "",
    }


def test_render_steps_tolerates_garbage() -> None:
    assert render_steps([]) == []
    assert render_steps(None) == []
    parts = render_steps(
        [{"type": "model_output", "content": None}, {"type": "thought", "summary": "x"}]
    )
    assert parts == [{"kind": "thought", "summary_html": "", "images": [], "has_signature": False}]


def test_huge_tool_results_are_truncated() -> None:
    (part,) = render_steps(
        [{"type": "function_result", "call_id": "x", "result": {"a": "y" * 50_000}}]
    )
    assert len(part["result_json"]) < 21_000 and part["result_json"].endswith("(truncated)")


# --- plain_text --------------------------------------------------------------------------------


def test_plain_text_of_the_answer() -> None:
    assert plain_text(search_steps()) == ANSWER


def test_plain_text_joins_runs() -> None:
    steps: list[Any] = [
        {"type": "user_input", "content": [{"type": "text", "text": "old question"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "old answer"}]},
        {"type": "user_input", "content": [{"type": "text", "text": "question"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "Let me check. "}]},
        {"type": "function_call", "id": "1", "name": "f", "arguments": {}},
        {"type": "function_result", "call_id": "1", "result": "ok"},
        {"type": "thought", "summary": [{"type": "text", "text": "hidden"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "The answer "}]},
        {"type": "model_output", "content": [{"type": "text", "text": "is 42.\ue000"}]},
    ]
    assert plain_text(steps) == "Let me check.\n\nThe answer is 42."
    assert plain_text([]) == "" and plain_text(None) == ""


def test_file_citations_are_numbered_sources_with_name_and_page() -> None:
    from chatapp.rendering import render_text_with_citations

    text = "Llamas rest.\n\nThey get 30 days off."
    end = len(text.encode())
    doc = "fileSearchStores/s1/documents/d-1"
    html, sources = render_text_with_citations(
        text,
        [
            {"type": "file_citation", "file_name": "<b>hand</b>book.pdf", "document_uri": doc,
             "page_number": 2, "start_index": 0, "end_index": 12},
            {"type": "file_citation", "file_name": "notes.md", "document_uri": doc,
             "start_index": 14, "end_index": end},
            # Not a document of a store: not linked anywhere.
            {"type": "file_citation", "file_name": "x", "document_uri": "javascript:alert(1)",
             "start_index": 0, "end_index": 5},
        ],
    )  # fmt: skip
    link = "/kb/cited?document=fileSearchStores%2Fs1%2Fdocuments%2Fd-1"
    assert sources == [
        {"n": 1, "url": link + "#page=2", "title": "<b>hand</b>book.pdf, page 2",
         "domain": "knowledge base"},
        {"n": 2, "url": link, "title": "notes.md", "domain": "knowledge base"},
    ]  # fmt: skip
    assert f'<a href="{link}#page=2" data-cite="1"' in html
    assert f'<a href="{link}" data-cite="2"' in html
    assert "<b>" not in html and "javascript" not in html
