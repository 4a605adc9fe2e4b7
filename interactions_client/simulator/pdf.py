"""Just enough PDF for the simulator: text per page out of simple PDFs, and tiny PDFs to test with.

The extractor walks the page tree from the catalog, inflates ``FlateDecode`` content streams and
collects the literal strings shown by ``Tj``, ``TJ``, ``'`` and ``"``. PDFs with CID fonts, object
streams or encryption give empty pages; that is fine for a simulator that only needs to cite a
page number next to some of its words.
"""

from __future__ import annotations

import re
import zlib

_OBJECT = re.compile(rb"(\d+)\s+\d+\s+obj\b(.*?)\bendobj", re.S)
_REF = re.compile(rb"(\d+)\s+\d+\s+R")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)
_TEXT_OP = re.compile(
    rb"\((?P<lit>(?:\\.|[^\\)])*)\)\s*(?:Tj|'|\")|\[(?P<arr>[^\]]*)\]\s*TJ|(?P<brk>ET|T\*|Td|TD)(?![A-Za-z])",
    re.S,
)
_LITERAL = re.compile(rb"\(((?:\\.|[^\\)])*)\)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> str:
    out = bytearray()
    i = 0
    while i < len(raw):
        char = raw[i : i + 1]
        if char != b"\\" or i + 1 >= len(raw):
            out += char
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return out.decode("latin-1")


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(data)}


def _page_numbers(objects: dict[int, bytes]) -> list[int]:
    """Page objects in reading order (the /Kids tree), or in file order as a fallback."""
    root = next((n for n, body in objects.items() if b"/Catalog" in body), None)
    pages_ref = re.search(rb"/Pages\s+(\d+)\s+\d+\s+R", objects.get(root, b"")) if root else None
    ordered: list[int] = []

    def walk(number: int, depth: int) -> None:
        body = objects.get(number, b"")
        if depth > 32:
            return
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body)
        if kids:
            for ref in _REF.findall(kids.group(1)):
                walk(int(ref), depth + 1)
        elif re.search(rb"/Type\s*/Page\b", body):
            ordered.append(number)

    if pages_ref:
        walk(int(pages_ref.group(1)), 0)
    if ordered:
        return ordered
    return [n for n, body in sorted(objects.items()) if re.search(rb"/Type\s*/Page\b", body)]


def _stream_bytes(body: bytes) -> bytes:
    match = _STREAM.search(body)
    if not match:
        return b""
    raw = match.group(1)
    if b"/FlateDecode" in body[: match.start()]:
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return b""
    return raw


def _content_text(stream: bytes) -> str:
    parts: list[str] = []
    for match in _TEXT_OP.finditer(stream):
        if match.group("lit") is not None:
            parts.append(_unescape(match.group("lit")))
        elif match.group("arr") is not None:
            parts.append("".join(_unescape(s) for s in _LITERAL.findall(match.group("arr"))))
        elif parts and not parts[-1].endswith("\n"):
            parts.append("\n")
    return re.sub(r"[ \t]+", " ", "".join(parts)).strip()


def page_texts(data: bytes) -> list[str]:
    """The text of each page of a PDF (empty strings where nothing simple was found)."""
    objects = _objects(data)
    texts = []
    for number in _page_numbers(objects):
        body = objects[number]
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+\s+\d+\s+R)", body)
        refs = [int(r) for r in _REF.findall(contents.group(1))] if contents else []
        texts.append("\n".join(_content_text(_stream_bytes(objects.get(r, b""))) for r in refs))
    return texts


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1", "replace") + b")"


def tiny_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one page per item, each line of it shown in Helvetica."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b""]
    objects[2] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    kids = []
    for text in pages:
        lines = [b"BT /F1 12 Tf 72 720 Td 14 TL"]
        lines += [_pdf_string(line) + b" Tj T*" for line in text.splitlines() or [""]]
        stream = zlib.compress(b"\n".join([*lines, b"ET"]))
        content_number = len(objects) + 2
        page_number = len(objects) + 1
        kids.append(page_number)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_number
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream"
        )
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
