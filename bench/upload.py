"""Big attachments: time and server memory to accept a 20 MB image and to send it upstream.

Against one live Daphne (the simulator answers at once; by default it runs in its own
process, so the server's memory is the relay's own): POST /upload a ~20 MB PNG of random
noise (it does not compress) like the page does (multipart, CSRF token from the cookie),
then send it in a message over the websocket and wait for the answer; then K = 1, 4 and 8
uploads at the same time, and K messages with a 20 MB image each at the same time.

Then a large video (--video-mb, 300 by default; a sparse MP4 made on disk): POST /upload it,
and send it in a message, which uploads it to the simulator's Files API (resumable, streamed
from our stored copy), waits until it is ACTIVE and gets the answer. Its figure is the peak
RSS growth of the server over the file's size, printed as a ratio (1.0 = the whole file held
in memory once) and against the 1 MB image's growth per byte.

Memory is the Daphne process's peak RSS (the kernel's high-water mark, reset before each
step) minus its RSS before the step. Baseline, in the same run: the same steps with a 1 MB
image. Figures are printed (and saved to bench/results/upload.json); nothing passes or fails
on time or memory.

    .venv/bin/python bench/upload.py [--repeat 3] [--parallel 1,4,8] [--video-mb 300] [--quick]
    .venv/bin/python bench/upload.py --what-if no-form-parse   # a proposed fix, measured
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from _common import (
    USER,
    WHAT_IF,
    ProcessSampler,
    mib,
    ratio,
    run_daphne,
    run_simulator,
    save,
    table,
    workdir,
)
from PIL import Image

from tests.harness.accounts import create_user, http_sign_in
from tests.harness.servers import LiveServer
from tests.harness.sockets import ws_connect

FINAL_SEQ = 2**31
LIMIT = 20 * 2**20  # settings.UPLOAD_MAX_BYTES["image"]


def noise_png(target_bytes: int) -> bytes:
    """A PNG of random RGB noise just under `target_bytes` (noise does not compress)."""
    side = int((target_bytes / 3) ** 0.5)
    while True:
        raw = os.urandom(side * side * 3)
        buffer = io.BytesIO()
        Image.frombytes("RGB", (side, side), raw).save(buffer, "PNG", compress_level=1)
        data = buffer.getvalue()
        if len(data) <= target_bytes:
            return data
        side -= 16


# --- one step, measured ---


async def upload(http: httpx.AsyncClient, data: bytes, name: str) -> tuple[str, float]:
    started = time.perf_counter()
    response = await http.post(
        "/upload",
        files={"file": (name, data, "image/png")},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:200]}")
    return str(response.json()["id"]), elapsed


async def send_with(server: LiveServer, cookies: httpx.Cookies, attachment: str) -> float:
    """Send a message with the attachment in a new conversation; seconds until the answer."""
    ws = await ws_connect(server.port, cookies)
    try:
        frame = {
            "type": "send",
            "conversation": None,
            "parent": None,
            "text": "What is in this picture?",
            "attachments": [attachment],
        }
        started = time.perf_counter()
        await ws.send(json.dumps(frame))
        while True:
            f = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if f.get("type") == "error":
                raise RuntimeError(f"send refused: {f}")
            # The final frame: `"final": true` (the old protocol's seq == 2**31 still read).
            if f.get("type") == "turn" and (f.get("final") or f.get("seq") == FINAL_SEQ):
                status = f["turn"]["status"]
                if status != "completed":
                    error = (f["turn"].get("error") or {}).get("message")
                    raise RuntimeError(f"the answer ended {status}: {error}")
                return time.perf_counter() - started
    finally:
        await ws.close()


class Probe:
    """GET /healthz every 20 ms while a step runs: the worst answer time shows how long the
    server's event loop was blocked (every websocket of that worker waits as long)."""

    def __init__(self, server: LiveServer) -> None:
        self.url = f"{server.url}/healthz"
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=120) as http:
            while True:
                started = time.perf_counter()
                await http.get(self.url)
                self.worst = max(self.worst, time.perf_counter() - started)
                await asyncio.sleep(0.02)

    async def __aenter__(self) -> Probe:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.05)
        self.worst = 0.0
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def measure_uploads(
    server: LiveServer, cookies: httpx.Cookies, files: list[bytes]
) -> tuple[dict[str, Any], list[str]]:
    """All `files` uploaded at the same time (one connection each)."""
    limits = httpx.Limits(max_connections=len(files) + 2)
    async with httpx.AsyncClient(
        base_url=server.url, cookies=cookies, trust_env=False, timeout=300, limits=limits
    ) as http:
        async with Probe(server) as probe:
            with ProcessSampler(server.pid, interval=0.01) as sampler:
                started = time.perf_counter()
                done = await asyncio.gather(
                    *(upload(http, data, f"noise-{n}.png") for n, data in enumerate(files))
                )
                wall = time.perf_counter() - started
    figures = _figures(sampler, wall, files, [t for _, t in done], probe.worst)
    return figures, [i for i, _ in done]


async def measure_sends(
    server: LiveServer, cookies: httpx.Cookies, ids: list[str], files: list[bytes]
) -> dict[str, Any]:
    """Messages with one uploaded image each, all sent at the same time."""
    async with Probe(server) as probe:
        with ProcessSampler(server.pid, interval=0.01) as sampler:
            started = time.perf_counter()
            times = await asyncio.gather(*(send_with(server, cookies, i) for i in ids))
            wall = time.perf_counter() - started
    return _figures(sampler, wall, files, list(times), probe.worst)


def _figures(
    sampler: ProcessSampler,
    wall: float,
    files: list[bytes],
    times: list[float],
    stall: float,
    total: int = 0,
) -> dict[str, Any]:
    """`total`: the bytes sent, when not the files' (a video streamed from disk)."""
    total = total or sum(len(f) for f in files)
    return {
        "stall_ms": stall * 1000,
        "k": len(files),
        "mib_each": mib(total // len(files)),
        "mib_total": mib(total),
        "wall_s": wall,
        "each_s": statistics.median(times),
        "mib_per_s": mib(total) / wall if wall else None,
        "cpu_s": sampler.cpu_seconds,
        "rss_before_mib": mib(sampler.idle_rss),
        "rss_growth_mib": mib(sampler.rss_growth),
        "growth_per_byte": sampler.rss_growth / total,
    }


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Times of the median run; memory of the run that grew the most (the first one, as a
    rule: later runs reuse memory the process kept)."""
    ordered = sorted(samples, key=lambda s: s["wall_s"])
    row = dict(ordered[len(ordered) // 2])
    worst = max(samples, key=lambda s: s["rss_growth_mib"])
    row["stall_ms"] = max(s["stall_ms"] for s in samples)
    for key in ("rss_before_mib", "rss_growth_mib", "growth_per_byte"):
        row[key] = worst[key]
    return row


def sparse_mp4(path: Path, size: int) -> None:
    """An MP4 of `size` bytes, nearly all of it a hole in the file (no disk, no time)."""
    body = b"isom\x00\x00\x00\x00isomiso2avc1mp41"
    head = (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body
    with path.open("wb") as f:
        f.write(head + (size - len(head)).to_bytes(4, "big") + b"mdat")
        f.truncate(size)


async def video_step(
    server: LiveServer, cookies: httpx.Cookies, path: Path, size: int, ident: str
) -> Any:
    """POST /upload the video (ident empty), else send the uploaded one; figures."""
    async with httpx.AsyncClient(
        base_url=server.url, cookies=cookies, trust_env=False, timeout=600
    ) as http:
        async with Probe(server) as probe:
            with ProcessSampler(server.pid, interval=0.01) as sampler:
                started = time.perf_counter()
                if ident:
                    await send_with(server, cookies, ident)
                else:
                    with path.open("rb") as fh:  # httpx streams a file object in chunks
                        response = await http.post(
                            "/upload",
                            files={"file": ("clip.mp4", fh, "video/mp4")},
                            headers={"X-CSRFToken": http.cookies["csrftoken"]},
                        )
                    if response.status_code != 201:
                        raise RuntimeError(f"video refused: {response.status_code}")
                    ident = str(response.json()["id"])
                wall = time.perf_counter() - started
    return _figures(sampler, wall, [bytes(0)], [wall], probe.worst, total=size), ident


def run_video(tmp: Path, env: dict[str, str], size_mb: float) -> dict[str, Any]:
    """The large video, on fresh servers: uploaded, then (after a restart) sent."""
    size = int(size_mb * 2**20)
    path = tmp / "clip.mp4"
    sparse_mp4(path, size)
    env = {**env, "UPLOAD_MAX_VIDEO_MB": str(int(size_mb) + 16)}
    var_dir = tmp / "server-video"
    with run_daphne(tmp, var_dir=var_dir, **env) as server:
        create_user(server, *USER)
        cookies = http_sign_in(server.url, *USER)
        uploaded, ident = asyncio.run(video_step(server, cookies, path, size, ""))
    with run_daphne(tmp, var_dir=var_dir, **env) as server:
        sent, _ = asyncio.run(video_step(server, cookies, path, size, ident))
    label = f"video {size_mb:.0f} MB"
    print(f"{label}: upload {uploaded['wall_s']:.2f}s, send {sent['wall_s']:.2f}s")
    return {"uploads": {"case": label, **uploaded}, "sends": {"case": label, **sent}}


def run(tmp: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Each case on fresh server processes (uploads, then a restart on the same database
    for the sends), so that memory a process kept from an earlier case hides nothing."""
    big_size = min(LIMIT - 64 * 1024, int(args.size_mb * 2**20))
    print(f"making noise PNGs: 1 x 1 MB and {max(args.parallel)} x {mib(big_size):.1f} MB ...")
    small = noise_png(2**20)
    bigs = [noise_png(big_size) for _ in range(max(args.parallel))]
    big_label = f"{mib(len(bigs[0])):.0f} MB"
    cases = [("1 MB", [small], args.repeat)]
    cases += [(big_label, bigs[:1], args.repeat)] if 1 in args.parallel else []
    cases += [(f"{k} x {big_label} at once", bigs[:k], 1) for k in args.parallel if k > 1]
    var_dir = tmp / "server"
    results: dict[str, Any] = {"uploads": [], "sends": []}
    for label, files, repeat in cases:
        with run_daphne(tmp, var_dir=var_dir, what_if=args.what_if_names, **env) as server:
            if not results["uploads"]:
                create_user(server, *USER)
            cookies = http_sign_in(server.url, *USER)
            ups, ids = asyncio.run(upload_case(server, cookies, files, small, repeat))
        with run_daphne(tmp, var_dir=var_dir, what_if=args.what_if_names, **env) as server:
            snds = asyncio.run(send_case(server, cookies, files, ids, small))
        results["uploads"].append({"case": label, **summary(ups)})
        results["sends"].append({"case": label, **summary(snds)})
        print(f"{label}: upload {ups[0]['wall_s']:.2f}s, send {snds[0]['wall_s']:.2f}s")
    if args.video_mb:
        video = run_video(tmp, env, args.video_mb)
        for kind in ("uploads", "sends"):
            results[kind].append(video[kind])
    for kind in ("uploads", "sends"):
        base = results[kind][0]
        for row in results[kind]:
            row["time_per_mib_x"] = ratio(
                row["wall_s"] / row["mib_total"], base["wall_s"] / base["mib_total"]
            )
            row["growth_per_byte_x"] = ratio(row["growth_per_byte"], base["growth_per_byte"])
    return results


async def upload_case(
    server: LiveServer, cookies: httpx.Cookies, files: list[bytes], warm: bytes, repeat: int
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """Warm up (Pillow, templates), then upload `files` at once, `repeat` times."""
    await measure_uploads(server, cookies, [warm])
    figures, ids = [], []
    for _ in range(repeat):
        one, uploaded = await measure_uploads(server, cookies, files)
        figures.append(one)
        ids.append(uploaded)
    return figures, ids


async def send_case(
    server: LiveServer,
    cookies: httpx.Cookies,
    files: list[bytes],
    ids: list[list[str]],
    warm: bytes,
) -> list[dict[str, Any]]:
    """Warm up (the upstream client, rendering), then send each round of uploads at once."""
    _, warm_ids = await measure_uploads(server, cookies, [warm])
    await measure_sends(server, cookies, warm_ids, [warm])
    return [await measure_sends(server, cookies, round_ids, files) for round_ids in ids]


COLUMNS = [
    ("case", "case", ""),
    ("mib_total", "MiB", ",.1f"),
    ("wall_s", "wall s", ",.2f"),
    ("each_s", "each s", ",.2f"),
    ("mib_per_s", "MiB/s", ",.1f"),
    ("time_per_mib_x", "s/MiB", "x"),
    ("cpu_s", "cpu s", ",.2f"),
    ("stall_ms", "healthz max ms", ",.0f"),
    ("rss_before_mib", "RSS before MiB", ",.0f"),
    ("rss_growth_mib", "peak RSS +MiB", ",.1f"),
    ("growth_per_byte", "RSS growth / bytes", ",.2f"),
    ("growth_per_byte_x", "growth/byte", "x"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", default="1,4,8", help="K uploads at the same time")
    parser.add_argument("--size-mb", type=float, default=20.0, help="the big file (<= 20)")
    parser.add_argument("--video-mb", type=float, default=300.0, help="0: no video case")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--upstream",
        choices=["loopback", "embedded"],
        default="loopback",
        help="loopback: the simulator in its own process, so the server's memory is the "
        "relay's own; embedded: the simulator inside Daphne (`make run` without a key)",
    )
    parser.add_argument(
        "--what-if",
        default="",
        metavar="PATCHES",
        help=f"patch the server first (bench-only): {', '.join(WHAT_IF)}",
    )
    args = parser.parse_args()
    args.parallel = [int(k) for k in args.parallel.split(",") if k.strip()]
    if args.quick:
        args.repeat, args.parallel, args.size_mb, args.video_mb = 1, [2], 5.0, 20.0
    with workdir("bench-upload-") as tmp:
        args.what_if_names = [name for name in args.what_if.split(",") if name]
        upstream = (
            run_simulator(tmp, None)
            if args.upstream == "loopback"
            else contextlib.nullcontext((None, None))
        )
        with upstream as (sim_url, _):
            env = {"SIMULATOR_TOKENS_PER_SECOND": "0"}
            if sim_url:
                env.update(GEMINI_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=sim_url)
            results = run(tmp, env, args)
    results["repeat"] = args.repeat
    results["upstream"] = args.upstream
    results["what_if"] = args.what_if
    print()
    print("POST /upload (multipart, one connection per file); baseline: the 1 MB file")
    print(table(results["uploads"], COLUMNS))
    print()
    print(
        "sending the uploaded image in a message until the answer is complete "
        f"(upstream: {args.upstream} simulator)"
    )
    print(table(results["sends"], COLUMNS))
    print(
        "\n'RSS growth / bytes' is the server's peak RSS growth over the bytes of the files: "
        "1.0 means it held each file in memory once (for the video: its peak RSS growth over "
        "the file's size, through the Files API upload). 'healthz max ms' is the slowest of the "
        "GET /healthz sent every 20 ms meanwhile: how long the event loop stalled."
    )
    out = save("upload-what-if" if args.what_if else "upload", results)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
