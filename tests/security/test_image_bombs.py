"""Images whose headers claim huge sizes: judged from the headers alone, never decoded.

The reported case: a 2 KB lossless WebP of 7000 × 7000 (49 million pixels, under the 50 million
limit) took 2.2 s and +748 MB to validate, because validation decoded it. Here that file is made
by hand in 32 bytes, with its siblings in every accepted format, under and over the limit. Costs
are measured in a fresh Python process: the kernel's peak RSS of a process that has done
nothing else is exact, where in this one memory freed by earlier tests could hide a decode.
Before (decoding) / after, per file: WebP lossless 922 ms, +748 MiB / 0 ms, +0; WebP lossy
179 ms, +187 MiB / 4 ms, +0; progressive JPEG 195 ms, +143 MiB / 0 ms, +0.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chatapp import image_headers
from chatapp.models import Attachment
from tests.app.test_uploads import box, heic_bytes
from tests.harness.environ import clean_environ

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MAX_SECONDS = 0.25  # measured: under 5 ms each
MAX_RSS_GROWTH = 8 * 2**20  # measured: under 1 MiB each; a decode of 49 Mpx is 50-750 MiB
MAX_PYTHON_PEAK = 2 * 2**20


# --- files, made by hand ---


def webp_lossless(width: int, height: int) -> bytes:
    """A real lossless WebP of one colour at any size, in 32 bytes: every prefix code has a
    single symbol, so the pixels take no bits at all (RFC 9649, 3.7.2.1.1 simple codes)."""
    fields = [(0x2F, 8), (width - 1, 14), (height - 1, 14), (0, 1), (0, 3)]
    fields += [(0, 1), (0, 1), (0, 1)]  # no transform, no colour cache, no meta prefix codes
    for _ in ("green", "red", "blue", "alpha"):
        fields += [(1, 1), (0, 1), (1, 1), (255, 8)]  # simple code, one 8-bit symbol: 255
    fields += [(1, 1), (0, 1), (0, 1), (0, 1)]  # distance: one 1-bit symbol
    value = shift = 0
    for field, bits in fields:
        value |= field << shift
        shift += bits
    return riff(webp_chunk(b"VP8L", value.to_bytes((shift + 7) // 8, "little")))


def webp_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def pillow(fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt, **options)
    return out.getvalue()


def webp_lossy(width: int, height: int) -> bytes:
    """An 8 × 8 lossy WebP whose frame header claims width × height."""
    data = bytearray(pillow("WEBP", quality=50))
    assert data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a"
    data[26:30] = struct.pack("<HH", width, height)
    return bytes(data)


def webp_canvas(
    width: int, height: int, image: int = 8, frame: tuple[int, int] | None = None
) -> bytes:
    """An extended WebP (VP8X) with a canvas of width × height holding a square image of
    side `image`; with `frame`, an animation whose one frame claims that size."""
    bitstream = webp_chunk(b"VP8L", webp_lossless(image, image)[20:])
    flags = 0x02 if frame else 0
    vp8x = struct.pack("<I", flags) + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    if not frame:
        return riff(webp_chunk(b"VP8X", vp8x) + bitstream)
    anmf = b"\x00" * 6 + (frame[0] - 1).to_bytes(3, "little") + (frame[1] - 1).to_bytes(3, "little")
    anmf += b"\x64\x00\x00\x00" + bitstream
    anim = webp_chunk(b"ANIM", b"\xff\xff\xff\xff\x00\x00")
    return riff(webp_chunk(b"VP8X", vp8x) + anim + webp_chunk(b"ANMF", anmf))


def jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    """An 8 × 8 JPEG whose frame header (SOF0, or SOF2 when progressive) claims the size."""
    data = bytearray(pillow("JPEG", progressive=progressive))
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png(width: int, height: int) -> bytes:
    data = pillow("PNG")
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


def gif(screen: tuple[int, int], frame: tuple[int, int], at: tuple[int, int] = (0, 0)) -> bytes:
    """A GIF with a two-colour table and one frame of one pixel's data (the classic 43-byte
    GIF), the screen and the frame claiming the sizes given."""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", *screen, 0x80, 0, 0)
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x2c"
        + struct.pack("<HHHHB", *at, *frame, 0)
        + b"\x02\x02\x44\x01\x00\x3b"
    )


# 7000 × 7000 = 49 million pixels, under the default limit of 50 million: accepted, not decoded.
UNDER_LIMIT: dict[str, Callable[[], bytes]] = {
    "webp-lossless": lambda: webp_lossless(7000, 7000),
    "webp-lossy": lambda: webp_lossy(7000, 7000),
    "webp-extended": lambda: webp_canvas(7000, 7000, image=7000),
    "jpeg": lambda: jpeg(7000, 7000),
    "jpeg-progressive": lambda: jpeg(7000, 7000, progressive=True),
    "png": lambda: png(7000, 7000),
    "gif": lambda: gif((7000, 7000), (7000, 7000)),
    "heic": lambda: heic_bytes(7000, 7000),
}
# Over the limit, with the size the refusal names.
OVER_LIMIT: dict[str, tuple[Callable[[], bytes], tuple[int, int]]] = {
    "webp-lossless": (lambda: webp_lossless(16384, 16384), (16384, 16384)),
    "webp-lossy": (lambda: webp_lossy(16383, 16383), (16383, 16383)),
    "webp-extended": (lambda: webp_canvas(1 << 24, 1 << 24), (1 << 24, 1 << 24)),
    "webp-animation-frame": (lambda: webp_canvas(8, 8, frame=(16384, 16384)), (16384, 16384)),
    "jpeg": (lambda: jpeg(65535, 65535), (65535, 65535)),
    "jpeg-progressive": (lambda: jpeg(65535, 65535, progressive=True), (65535, 65535)),
    "png": (lambda: png(100_000, 100_000), (100_000, 100_000)),
    "gif-screen": (lambda: gif((65535, 65535), (1, 1)), (65535, 65535)),
    "gif-frame-off-screen": (lambda: gif((1, 1), (1, 1), at=(60000, 60000)), (60001, 60001)),
    "heic": (lambda: heic_bytes(100_000, 100_000), (100_000, 100_000)),
}

# Run in a fresh interpreter: validate every file above, each measured on its own.
_PROBE = """
import io, json, sys, time, tracemalloc
from pathlib import Path
import django
django.setup()
from chatapp.uploads import UploadError, validate_image
from tests.security.test_image_bombs import OVER_LIMIT, UNDER_LIMIT

def rss(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

def reset_peak():
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False

files = {f"under:{k}": build() for k, build in UNDER_LIMIT.items()}
files.update({f"over:{k}": build() for k, (build, _) in OVER_LIMIT.items()})
validate_image(io.BytesIO(files["under:png"]))  # imports and first-call set-up, not measured
results = {}
for name, data in files.items():
    exact = reset_peak()
    before = rss("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = list(validate_image(io.BytesIO(data)))
    except UploadError as error:
        outcome = error.message
    seconds = time.perf_counter() - started
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    growth = rss("VmHWM") - before if exact else None
    results[name] = [outcome, seconds, python_peak, growth, len(data)]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def costs() -> dict[str, Any]:
    env = clean_environ() | {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def assert_cheap(cost: list[Any]) -> None:
    _, seconds, python_peak, rss_growth, size = cost
    assert size < 1024, "a small file"
    assert seconds < MAX_SECONDS, f"{seconds:.3f} s"
    assert python_peak < MAX_PYTHON_PEAK, f"Python allocated {python_peak:,} bytes"
    if rss_growth is not None:  # Linux: the kernel's exact peak
        assert rss_growth < MAX_RSS_GROWTH, f"the process grew by {rss_growth:,} bytes"


@pytest.mark.parametrize("name", UNDER_LIMIT)
def test_a_huge_image_under_the_limit_is_accepted_without_decoding(
    costs: dict[str, Any], name: str
) -> None:
    cost = costs[f"under:{name}"]
    assert cost[0] == [7000, 7000], cost[0]
    assert_cheap(cost)


@pytest.mark.parametrize("name", OVER_LIMIT)
def test_a_huge_image_over_the_limit_is_refused_from_its_headers(
    costs: dict[str, Any], name: str
) -> None:
    cost = costs[f"over:{name}"]
    width, height = OVER_LIMIT[name][1]
    assert cost[0] == (
        f"That image is too large to process ({width:,} × {height:,} pixels; "
        "the limit is 50,000,000 pixels)."
    )
    assert_cheap(cost)


# --- through the upload view ---


@pytest.fixture
def client(alice: Any, tmp_path: Path, settings: Any) -> Client:
    settings.MEDIA_ROOT = tmp_path / "media"
    client = Client()
    client.force_login(alice)
    return client


def upload(client: Client, name: str, data: bytes) -> Any:
    file = SimpleUploadedFile(name, data, "application/octet-stream")
    return client.post("/upload", {"file": file}, HTTP_ACCEPT="application/json")


@pytest.mark.parametrize("name", OVER_LIMIT)
def test_the_upload_says_why_a_huge_image_is_refused(client: Client, name: str) -> None:
    build, (width, height) = OVER_LIMIT[name]
    response = upload(client, f"{name}.bin", build())
    assert response.status_code == 400
    assert response.json()["error"].startswith(
        f"That image is too large to process ({width:,} × {height:,} pixels"
    )
    assert not Attachment.objects.exists()


def test_the_reported_webp_is_a_real_image_and_the_limit_applies(
    client: Client, settings: Any
) -> None:
    small = Image.open(io.BytesIO(webp_lossless(64, 48)))
    small.load()  # the hand-made file decodes: a white 64 × 48 image
    assert (small.format, small.size, small.getextrema()) == ("WEBP", (64, 48), ((255, 255),) * 3)

    assert upload(client, "big.webp", webp_lossless(7000, 7000)).status_code == 201
    settings.UPLOAD_MAX_IMAGE_PIXELS = 40_000_000
    response = upload(client, "big.webp", webp_lossless(7000, 7000))
    assert response.status_code == 400
    assert response.json()["error"] == (
        "That image is too large to process (7,000 × 7,000 pixels; the limit is 40,000,000 pixels)."
    )


# --- files of countless tiny parts ---


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def heic_of_boxes(count: int) -> bytes:
    return heic_bytes(8, 8) + box(b"free", b"") * count


MANY_PARTS = {
    # Pillow's own walk of 20 MB of these took 16 s (PNG) and 20 s and +394 MB (JPEG).
    "png": lambda: png(8, 8)[:33] + png_chunk(b"tEXt", b"") * 1100 + png(8, 8)[33:],
    "jpeg": lambda: jpeg(8, 8)[:2] + b"\xff\xfe\x00\x02" * 1100 + jpeg(8, 8)[2:],
    "gif-blocks": lambda: (
        gif((1, 1), (1, 1))[:19] + b"\x21\xfe\x01a\x00" * 1100 + gif((1, 1), (1, 1))[19:]
    ),
    "gif-sub-blocks": lambda: (
        gif((1, 1), (1, 1))[:30] + b"\x01\x00" * (1 << 20) + gif((1, 1), (1, 1))[30:]
    ),
    "webp": lambda: riff(webp_chunk(b"JUNK", b"") * 70_000 + webp_chunk(b"VP8L", b"\x2f" * 8)),
    "heic": lambda: heic_of_boxes(70_000),
}


@pytest.mark.parametrize("name", MANY_PARTS)
def test_a_file_of_countless_tiny_parts_is_refused_quickly(client: Client, name: str) -> None:
    data = MANY_PARTS[name]()
    started = time.perf_counter()
    with pytest.raises(image_headers.Damaged, match="too many"):
        image_headers.extent(io.BytesIO(data), "image/" + name.split("-")[0])
    assert time.perf_counter() - started < 1.0
    response = upload(client, f"{name}.bin", data)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "That image is damaged or incomplete and could not be read."
    )
