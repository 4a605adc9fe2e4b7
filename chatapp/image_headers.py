"""An image's size from its headers alone, and whether its structure is whole.

Before any decoder sees an upload, this walks the file's container (PNG chunks, JPEG marker
segments, GIF blocks, WebP RIFF chunks, HEIF boxes), reading headers only, one window at a
time, and answers the largest width × height a decoder would allocate for it: the canvas or
any frame, whichever is larger. No pixel is decoded, so the cost follows the file's bytes, not
the pixels it claims: a 2 KB lossless WebP of 7000 × 7000 took 2.2 s and +750 MB to validate
by decoding it, and its extent is read here in microseconds.

A file cut short raises `Damaged`: every container must reach its end (PNG's IEND, JPEG's EOI
after the scan, GIF's trailer, the RIFF size, the HEIF items' data). So does one made of more
parts than real images have: Pillow walks headers in pure Python, and 20 MB of empty PNG chunks
or JPEG segments cost it 16-20 s (and +390 MB for the JPEG comments). Bytes after the end of
the image are left alone: the polyglot check looks at them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO

WINDOW = 64 * 1024
# Chunks, segments, blocks or boxes in one file (a 20 MB PNG in 8 KB IDATs has 2,600), and
# before the image data starts (real files carry a few dozen there).
MAX_PARTS = 65_536
MAX_HEADER_PARTS = 1024
# GIF data comes in sub-blocks of up to 255 bytes, and encoders fill them: a 20 MB GIF has
# 82,000. Walking 10 million 1-byte ones takes 1.2 s.
MAX_SUB_BLOCKS = 1 << 20

Extent = tuple[int, int]  # (width, height)


class Damaged(Exception):
    """The file's structure is broken, cut short, or made of implausibly many parts."""


class _Reader:
    """Reads a file at offsets through one cached window, never the whole file at once."""

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        fp.seek(0, 2)
        self.size = fp.tell()
        self.parts = self.sub_blocks = 0
        self._start = 0
        self._window = b""

    def buffer(self, offset: int, n: int = 1) -> tuple[bytes, int]:
        """The cached window holding `n` bytes at `offset`, and where they start in it."""
        index = offset - self._start
        if index < 0 or index + n > len(self._window):
            if offset < 0 or offset + n > self.size:
                raise Damaged("the file ends early")
            self.fp.seek(offset)
            self._start, self._window, index = offset, self.fp.read(max(n, WINDOW)), 0
            if len(self._window) < n:
                raise Damaged("the file ends early")
        return self._window, index

    def at(self, offset: int, n: int) -> bytes:
        window, index = self.buffer(offset, n)
        return window[index : index + n]

    def find(self, needle: bytes, offset: int) -> int:
        """The offset of `needle` at or after `offset`, or -1."""
        while offset + len(needle) <= self.size:
            window, index = self.buffer(offset, len(needle))
            found = window.find(needle, index)
            if found >= 0:
                return self._start + found
            end = self._start + len(window)
            if end >= self.size:
                break
            offset = end - len(needle) + 1  # a needle across two windows is found too
        return -1

    def part(self, in_header: bool = False) -> None:
        """Count one chunk, segment, block or box."""
        self.parts += 1
        if self.parts > MAX_PARTS or (in_header and self.parts > MAX_HEADER_PARTS):
            raise Damaged("too many parts")


def _area(extent: Extent) -> int:
    return extent[0] * extent[1]


def _nonempty(extent: Extent) -> Extent:
    if extent[0] <= 0 or extent[1] <= 0:
        raise Damaged("the image has no pixels")
    return extent


# --- PNG ---


def _png(r: _Reader) -> Extent:
    # APNG frames must fit inside IHDR's size (Pillow enforces it when it reads them), and
    # Pillow's verify() checksums every chunk after this walk has counted them.
    length, kind, width, height = struct.unpack(">I4sII", r.at(8, 16))
    if kind != b"IHDR" or length != 13:
        raise Damaged("PNG without its header chunk")
    pos, in_header = 8, True
    while True:
        length, kind = struct.unpack(">I4s", r.at(pos, 8))
        in_header = in_header and kind != b"IDAT"
        r.part(in_header)
        pos += 12 + length  # length, type, data, CRC
        if pos > r.size:
            raise Damaged("PNG chunk cut short")
        if kind == b"IEND":
            return _nonempty((width, height))


# --- JPEG ---

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length


def _jpeg(r: _Reader) -> Extent:
    pos, size = 2, None
    while True:
        r.part(in_header=True)  # only the segments before the scan are walked
        if r.at(pos, 1) != b"\xff":
            pos = r.find(b"\xff", pos)  # stray bytes between segments: skipped, as decoders do
            if pos < 0:
                raise Damaged("JPEG ends before its image")
        while (marker := r.at(pos + 1, 1)[0]) == 0xFF:  # fill bytes
            pos += 1
        pos += 2
        if marker in _STANDALONE:
            continue
        if marker in (0xD8, 0xD9):
            raise Damaged("JPEG ends before its image")
        (length,) = struct.unpack(">H", r.at(pos, 2))
        if length < 2:
            raise Damaged("JPEG segment of negative length")
        if marker in _SOF and size is None:
            height, width = struct.unpack(">HH", r.at(pos + 3, 4))
            size = (width, height)
        elif marker == 0xDA:  # start of scan: the entropy-coded data follows
            if size is None:
                raise Damaged("JPEG scan before its frame header")
            # Entropy-coded data escapes every 0xFF, so FF D9 after the scan is the end of
            # image: without it the file was cut short.
            if r.find(b"\xff\xd9", pos + length) < 0:
                raise Damaged("JPEG without its end")
            return _nonempty(size)
        pos += length


# --- GIF ---


def _skip_sub_blocks(r: _Reader, pos: int) -> int:
    """The offset after a chain of data sub-blocks (length byte, data) and its 0 terminator."""
    while True:
        window, i = r.buffer(pos)
        start, n, count = i, len(window), 0
        while i < n and (length := window[i]):
            i += length + 1
            count += 1
        r.sub_blocks += count
        if r.sub_blocks > MAX_SUB_BLOCKS:
            raise Damaged("too many GIF sub-blocks")
        if i < n:  # the terminator
            return pos + i - start + 1
        pos += i - start


def _color_table(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _gif(r: _Reader) -> Extent:
    # Decoders grow the canvas to hold a frame that sticks out of the logical screen (Pillow
    # does), so the answer is the union of the screen and every frame.
    width, height, flags = struct.unpack("<HHB", r.at(6, 5))
    pos = 13 + _color_table(flags)
    frames = 0
    while (block := r.at(pos, 1)[0]) != 0x3B:  # up to the trailer
        r.part(in_header=not frames)
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(r, pos + 2)
        elif block == 0x2C:  # image descriptor
            left, top, w, h, flags = struct.unpack("<HHHHB", r.at(pos + 1, 9))
            width, height = max(width, left + w), max(height, top + h)
            pos = _skip_sub_blocks(r, pos + 10 + _color_table(flags) + 1)  # + LZW code size
            frames += 1
        else:
            raise Damaged("GIF block of unknown type")
    if not frames:
        raise Damaged("GIF without an image")
    return _nonempty((width, height))


# --- WebP ---


def _u24(data: bytes) -> int:
    return int.from_bytes(data[:3], "little")


def _webp_bitstream(r: _Reader, fourcc: bytes, body: int, size: int) -> Extent:
    if fourcc == b"VP8L":
        if size < 5 or r.at(body, 1) != b"\x2f":
            raise Damaged("WebP lossless data without its signature")
        (bits,) = struct.unpack("<I", r.at(body + 1, 4))
        return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if size < 10 or r.at(body + 3, 3) != b"\x9d\x01\x2a":
        raise Damaged("WebP lossy data without its start code")
    width, height = struct.unpack("<HH", r.at(body + 6, 4))
    return (width & 0x3FFF, height & 0x3FFF)


def _webp(r: _Reader) -> Extent:
    (riff_size,) = struct.unpack("<I", r.at(4, 4))
    end = 8 + riff_size
    if end > r.size:
        raise Damaged("WebP shorter than its RIFF header says")
    largest: Extent = (0, 0)
    images = 0
    regions = [(12, end)]  # the file's chunks, then those inside each animation frame
    while regions:
        pos, stop = regions.pop()
        while pos + 8 <= stop:
            r.part()
            fourcc, size = struct.unpack("<4sI", r.at(pos, 8))
            body = pos + 8
            if body + size > stop:
                raise Damaged("WebP chunk cut short")
            extent: Extent = (0, 0)
            if fourcc == b"VP8X" and size >= 10:  # the canvas
                extent = (_u24(r.at(body + 4, 3)) + 1, _u24(r.at(body + 7, 3)) + 1)
            elif fourcc in (b"VP8 ", b"VP8L"):
                extent = _webp_bitstream(r, fourcc, body, size)
                images += 1
            elif fourcc == b"ANMF" and size >= 16:
                frame = r.at(body + 6, 6)
                extent = (_u24(frame) + 1, _u24(frame[3:]) + 1)
                regions.append((body + 16, body + size))
            if _area(extent) > _area(largest):
                largest = extent
            pos = body + size + (size & 1)
    if not images:
        raise Damaged("WebP without an image")
    return _nonempty(largest)


# --- HEIF / HEIC ---


def _boxes(r: _Reader, pos: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body offset, end offset) of the ISO BMFF boxes between `pos` and `stop`."""
    while pos < stop:
        r.part()
        size, kind = struct.unpack(">I4s", r.at(pos, 8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", r.at(pos + 8, 8))
            header = 16
        elif size == 0:  # to the end of the enclosing box
            size = stop - pos
        if size < header or pos + size > stop:
            raise Damaged("HEIF box cut short")
        yield kind, pos + header, pos + size
        pos += size


def _children(
    r: _Reader, regions: list[tuple[int, int]], wanted: bytes, skip: int = 0
) -> list[tuple[int, int]]:
    """The (body, end) of every `wanted` box in `regions`; `skip`: a full box's version."""
    return [
        (body + skip, end)
        for start, stop in regions
        for kind, body, end in _boxes(r, start, stop)
        if kind == wanted
    ]


def _int(r: _Reader, pos: int, size: int) -> int:
    return int.from_bytes(r.at(pos, size), "big") if size else 0


def _data_end(r: _Reader, body: int, end: int) -> int:
    """How far into the file the items listed in an `iloc` box reach (ISO 14496-12 8.11.3)."""
    version = r.at(body, 1)[0]
    sizes = r.at(body + 4, 2)
    offset_size, length_size, base_size = sizes[0] >> 4, sizes[0] & 15, sizes[1] >> 4
    index_size = sizes[1] & 15 if version in (1, 2) else 0
    if not {offset_size, length_size, base_size, index_size} <= {0, 4, 8}:
        raise Damaged("HEIF item locations of an unknown size")
    wide = 4 if version == 2 else 2  # the item count and ids
    count, pos = _int(r, body + 6, wide), body + 6 + wide
    furthest = 0
    for _ in range(count):
        r.part()
        pos += wide
        method = 0
        if version in (1, 2):
            method = _int(r, pos, 2) & 0xF
            pos += 2
        base = _int(r, pos + 2, base_size)  # after the data reference index
        extents = _int(r, pos + 2 + base_size, 2)
        pos += 4 + base_size
        for _ in range(extents):
            r.part()
            pos += index_size
            offset, length = _int(r, pos, offset_size), _int(r, pos + offset_size, length_size)
            pos += offset_size + length_size
            if method == 0:  # in this file (1 and 2: inside the idat box, or other items)
                furthest = max(furthest, base + offset + length)
        if pos > end:
            raise Damaged("HEIF item locations cut short")
    return furthest


def _heif(r: _Reader) -> Extent:
    # Every image item (the picture, its grid tiles, thumbnails, depth maps) has an `ispe`
    # property in meta/iprp/ipco; the largest is what a decoder allocates. The top level is
    # walked to the end and the items' data must be in the file: a cut is found.
    meta = _children(r, [(0, r.size)], b"meta", skip=4)
    properties = _children(r, _children(r, meta, b"iprp"), b"ipco")
    sizes: list[Extent] = [
        struct.unpack(">II", r.at(body + 4, 8))
        for start, stop in properties
        for kind, body, end in _boxes(r, start, stop)
        if kind == b"ispe" and end - body >= 12
    ]
    locations = _children(r, meta, b"iloc")
    if not sizes or not locations:
        raise Damaged("HEIF without image sizes or data")
    if max(_data_end(r, body, end) for body, end in locations) > r.size:
        raise Damaged("HEIF data cut short")
    return _nonempty(max(sizes, key=_area))


_WALKS = {
    "image/png": _png,
    "image/jpeg": _jpeg,
    "image/gif": _gif,
    "image/webp": _webp,
    "image/heic": _heif,
    "image/heif": _heif,
}


def extent(fp: IO[bytes], mime_type: str) -> Extent:
    """The largest (width, height) a decoder would allocate for this image; `Damaged` if
    the file's structure is broken or cut short. `mime_type` comes from `sniffing.detect`."""
    try:
        return _WALKS[mime_type](_Reader(fp))
    finally:
        fp.seek(0)
