"""Citation markers at the UTF-8 byte offsets of ``url_citation`` annotations, and of
``file_citation`` ones (knowledge base documents: file name and page, linked through
``/kb/cited``, which opens our copy to whoever may use its base)."""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from itertools import accumulate
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.utils.translation import gettext

from ._markdown import PH_CLOSE, PH_OPEN, PUA, clean_text, is_http_url, render_source

# Lines whose syntax breaks if text is appended: fences, thematic breaks, setext underlines,
# table delimiter rows.
_SYNTAX_LINE = re.compile(
    r"^ {0,3}(?:[`~]{3,}.*|(?:[-*_] *){3,}|=+ *|-+ *"
    r"|\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *)$"
)


def render_text_with_citations(
    text: str, annotations: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """Render ``text`` with numbered markers where its citations end.

    Returns the HTML and the sources ``[{"n", "url", "title", "domain"}]`` (plain text),
    numbered by first appearance in the text; a URL cited twice keeps one number. Citations
    whose offsets are unusable are still listed, after the placed ones, without a marker.
    """
    text = clean_text(text)
    byte_starts = list(accumulate((_utf8_len(c) for c in text), initial=0))
    placed: list[tuple[int, int, str, str]] = []  # (char position, order, url, title)
    unplaced: list[tuple[str, str]] = []
    for order, ann in enumerate(annotations or []):
        source = _citation_source(ann)
        if source is None:
            continue
        pos = _char_position(text, byte_starts, ann.get("start_index"), ann.get("end_index"))
        if pos is None:
            unplaced.append(source)
        else:
            placed.append((pos, order, *source))
    placed.sort()

    numbers: dict[str, int] = {}
    sources: list[dict[str, Any]] = []
    cites: dict[int, tuple[str, str]] = {}

    def number(url: str, title: str) -> int:
        if url not in numbers:
            n = numbers[url] = len(numbers) + 1
            domain = _domain(url) or gettext("knowledge base")
            sources.append({"n": n, "url": url, "title": title or domain, "domain": domain})
            cites[n] = (url, title or domain)
        return numbers[url]

    inserts: dict[int, list[int]] = {}
    for pos, _, url, title in placed:
        at = inserts.setdefault(pos, [])
        if (n := number(url, title)) not in at:
            at.append(n)
    for url, title in unplaced:
        number(url, title)

    pieces: list[str] = []
    last = 0
    for pos in sorted(inserts):
        pieces.append(PUA.sub("", text[last:pos]))
        pieces += [f"{PH_OPEN}{n}{PH_CLOSE}" for n in inserts[pos]]
        last = pos
    pieces.append(PUA.sub("", text[last:]))
    return _relinked(render_source("".join(pieces), cites), cites), sources


# The upstream name of a file search store's document, as a `file_citation` gives it.
_DOCUMENT = re.compile(r"fileSearchStores/[A-Za-z0-9_-]{1,100}/documents/[A-Za-z0-9_.-]{1,200}")
CITED_DOCUMENT = "/kb/cited"


def _citation_source(ann: object) -> tuple[str, str] | None:
    if isinstance(ann, dict) and ann.get("type") == "file_citation":
        return _file_source(ann)
    if not isinstance(ann, dict) or ann.get("type") not in ("url_citation", "place_citation"):
        return None
    url = ann.get("url")
    if not isinstance(url, str) or not is_http_url(url := url.strip()):
        return None
    title = ann.get("title") if ann.get("type") == "url_citation" else ann.get("name")
    title = " ".join(title.split())[:300] if isinstance(title, str) else ""
    return url, PUA.sub("", title)


def _relinked(rendered: str, cites: dict[int, tuple[str, str]]) -> str:
    """Document citations' links put back on their markers: the sanitizer drops relative
    links (model text may not have them), but these are ours, built from checked parts.
    Raw HTML is escaped in model text, so only the cite renderer writes `<a data-cite=`."""
    for n, (url, _) in cites.items():
        if url.startswith(CITED_DOCUMENT + "?"):
            rendered = rendered.replace(
                f'<a data-cite="{n}" ', f'<a href="{html.escape(url)}" data-cite="{n}" '
            )
    return rendered


def _file_source(ann: dict[str, Any]) -> tuple[str, str] | None:
    """(link, "file name, page N") of a document citation; None when it names no document."""
    uri = ann.get("document_uri")
    if not isinstance(uri, str) or not _DOCUMENT.fullmatch(uri):
        return None
    name = ann.get("file_name")
    name = " ".join(name.split())[:300] if isinstance(name, str) else ""
    name = PUA.sub("", name) or "Document"
    page = ann.get("page_number")
    url = f"{CITED_DOCUMENT}?{urlencode({'document': uri})}"
    if isinstance(page, int) and not isinstance(page, bool) and 0 < page < 1_000_000:
        return f"{url}#page={page}", f"{name}, page {page}"
    return url, name


def _char_position(text: str, byte_starts: list[int], start: object, end: object) -> int | None:
    """Where a marker for the byte span ``start:end`` goes, or None if it can't be placed."""
    total = byte_starts[-1]
    if not isinstance(end, int) or isinstance(end, bool) or end < 0:
        return None
    if start is not None and (
        not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= end
    ):
        return None
    if start is not None and start >= total:
        return None  # the whole span lies past the text
    # Mid-character offsets snap to the next character; an end past the text clamps to it.
    pos = bisect_left(byte_starts, min(end, total))
    # Stick to the cited words: a marker at a line start would break block syntax.
    while pos > 0 and text[pos - 1].isspace():
        pos -= 1
    if pos == 0:
        return None
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    if _SYNTAX_LINE.match(line):
        return None
    if pos - line_start == len(line.rstrip()) and line.rstrip().endswith("|"):
        # Text after a table row's last pipe breaks the table: go inside the last cell.
        if not line.rstrip().endswith("\\|"):
            pos = line_start + len(line.rstrip()) - 1
            while pos > line_start and text[pos - 1] in " \t":
                pos -= 1
    return pos


def _utf8_len(char: str) -> int:
    cp = ord(char)
    return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4


def _domain(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")
