"""A tiny stdlib PNG encoder and the deterministic "generated image" painter."""

from __future__ import annotations

import hashlib
import struct
import zlib

RGB = tuple[int, int, int]

COLOUR_WORDS: dict[str, RGB] = {
    "red": (220, 40, 50),
    "orange": (245, 140, 30),
    "yellow": (240, 210, 40),
    "green": (50, 170, 80),
    "teal": (30, 150, 150),
    "cyan": (40, 200, 220),
    "blue": (40, 90, 220),
    "purple": (140, 60, 200),
    "violet": (150, 90, 220),
    "pink": (240, 120, 180),
    "brown": (130, 80, 40),
    "black": (20, 20, 25),
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "gold": (212, 175, 55),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(width: int, height: int, rows: list[bytes]) -> bytes:
    """Encode 8-bit RGB rows (each ``3 * width`` bytes) as a PNG file."""
    if len(rows) != height or any(len(r) != 3 * width for r in rows):
        raise ValueError("rows do not match the image size")
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 (None) per scanline
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        int(a[0] + (b[0] - a[0]) * t),
        int(a[1] + (b[1] - a[1]) * t),
        int(a[2] + (b[2] - a[2]) * t),
    )


def tint_for(text: str) -> RGB | None:
    """The colour named last in ``text`` (so a follow-up edit wins), if any."""
    best: tuple[int, RGB] | None = None
    lowered = text.lower()
    for word, rgb in COLOUR_WORDS.items():
        pos = lowered.rfind(word)
        if pos >= 0 and (best is None or pos > best[0]):
            best = (pos, rgb)
    return best[1] if best else None


def paint(seed_text: str, tint_text: str, size: int = 256) -> bytes:
    """A sky gradient, a sun and a skyline; layout from ``seed_text``, colour from ``tint_text``."""
    h = hashlib.sha256(seed_text.encode()).digest()
    top: RGB = (h[0] // 2 + 60, h[1] // 2 + 40, h[2] // 2 + 100)
    bottom: RGB = (h[3] // 3 + 170, h[4] // 3 + 100, h[5] // 4 + 60)
    tint = tint_for(tint_text)
    if tint is not None:
        top, bottom = _mix(top, tint, 0.75), _mix(bottom, tint, 0.55)
    sun: RGB = (255, 230 - h[6] % 60, 120)
    sun_x, sun_y, sun_r = 60 + h[7] % (size - 120), 50 + h[8] % 60, 18 + h[9] % 20
    buildings = []
    x = 0
    i = 10
    while x < size:
        width = 14 + h[i % 32] % 26
        height = 40 + h[(i + 1) % 32] % (size // 2)
        buildings.append((x, x + width, size - height))
        x += width + 2
        i += 2
    dark: RGB = _mix((25, 25, 40), tint, 0.3) if tint else (25, 25, 40)
    rows: list[bytes] = []
    for y in range(size):
        sky = _mix(top, bottom, y / (size - 1))
        row = bytearray(bytes(sky) * size)
        dy = y - sun_y
        if abs(dy) <= sun_r:
            half = int((sun_r * sun_r - dy * dy) ** 0.5)
            lo, hi = max(0, sun_x - half), min(size, sun_x + half + 1)
            row[3 * lo : 3 * hi] = bytes(sun) * (hi - lo)
        for left, right, roof in buildings:
            if y >= roof:
                right = min(right, size)
                row[3 * left : 3 * right] = bytes(dark) * (right - left)
                if (y - roof) % 12 in (4, 5, 6):
                    for wx in range(left + 4, right - 4, 8):
                        row[3 * wx : 3 * wx + 9] = b"\xff\xdd\x66" * 3
        rows.append(bytes(row))
    return encode_png(size, size, rows)
