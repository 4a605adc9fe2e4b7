"""Text out of stored files, so answers can quote them and file search can cite them.

``pages()`` gives ``(page_number, text)`` pairs: real page numbers for PDFs, ``None`` for
formats without pages (plain text, Markdown, HTML, DOCX), as the API's ``file_citation``
leaves ``page_number`` out for those. Binary media give nothing.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

from .pdf import page_texts

# The simulator reads at most this much of a file to extract text (uploads may be GBs).
MAX_EXTRACT_BYTES = 8 * 2**20
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "application/x-yaml", "application/javascript"}
)


def is_text(mime_type: str) -> bool:
    return mime_type.startswith("text/") or mime_type in TEXT_TYPES


def _html_text(raw: str) -> str:
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw)
    raw = re.sub(r"(?i)<br\s*/?>|</(p|div|li|h[1-6]|tr)>", "\n", raw)
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def _docx_text(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("word/document.xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError):
        return ""
    xml = re.sub(r"</w:p>", "\n", xml)
    return html.unescape(re.sub(r"<[^>]+>", "", xml))


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def pages(path: Path, mime_type: str) -> list[tuple[int | None, str]]:
    """Text of a stored file per page; an empty list when there is no text to find."""
    if mime_type == "application/pdf":
        with path.open("rb") as handle:
            data = handle.read(MAX_EXTRACT_BYTES)
        found = [(n, _tidy(t)) for n, t in enumerate(page_texts(data), start=1)]
        return [(n, t) for n, t in found if t]
    if mime_type == DOCX:
        text = _tidy(_docx_text(path))
    elif is_text(mime_type):
        with path.open("rb") as handle:
            raw = handle.read(MAX_EXTRACT_BYTES).decode("utf-8", "replace")
        text = _tidy(_html_text(raw) if mime_type == "text/html" else raw)
    else:
        return []
    return [(None, text)] if text else []
