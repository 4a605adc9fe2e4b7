"""Files API uploads: time and client memory of `client.files.upload`, against the SDK.

A standalone simulator (its own process) receives the uploads. Each upload runs in a fresh
Python process so its memory is its own: the figure is that process's peak RSS growth during
the upload (the kernel's high-water mark minus the RSS just before). Baseline, in the same
run: the google-genai SDK's `client.files.upload` of the same file (it reads whole 8 MiB
chunks). Figures are printed (and saved to bench/results/files_upload.json); nothing passes
or fails on time or memory.

    .venv/bin/python bench/files_upload.py [--sizes 50,300] [--repeat 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from _common import ROOT, mib, ratio, run_simulator, save, table, workdir

CONTENDERS = ("ours", "sdk")


def one_upload(contender: str, url: str, path: str) -> dict[str, float]:
    """Runs in the child process: upload once, report seconds and peak RSS growth."""
    # Imports and client set-up happen before the "before" reading: only the upload counts.
    from google import genai

    from interactions_client import Client

    ours = Client(api_key="bench", base_url=url)
    sdk = genai.Client(api_key="bench", http_options={"base_url": url})
    before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    if contender == "ours":
        ours.files.upload(path, mime_type="video/mp4")
    else:
        sdk.files.upload(file=path, config={"mime_type": "video/mp4"})
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"seconds": seconds, "rss_growth": max(0, peak - before)}


def measure(contender: str, url: str, path: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", contender, "--url", url, "--path", str(path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,300", help="file sizes in MiB")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one 20 MiB upload each")
    parser.add_argument("--child", choices=CONTENDERS)
    parser.add_argument("--url")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_upload(args.child, args.url, args.path)))
        return
    sizes = [20] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeat = 1 if args.quick else args.repeat
    rows: list[dict[str, Any]] = []
    with workdir("bench-files-") as work, run_simulator(work, None) as (url, _):
        for size in sizes:
            path = work / f"upload-{size}.mp4"
            with path.open("wb") as handle:  # sparse: reads back as zeros
                handle.truncate(size * 2**20)
            runs: dict[str, list[dict[str, float]]] = {c: [] for c in CONTENDERS}
            for _ in range(repeat):
                for contender in CONTENDERS:
                    runs[contender].append(measure(contender, url, path))
            path.unlink()
            medians = {
                c: {k: statistics.median(r[k] for r in runs[c]) for k in ("seconds", "rss_growth")}
                for c in CONTENDERS
            }
            for contender in CONTENDERS:
                m = medians[contender]
                rows.append(
                    {
                        "size": size,
                        "contender": contender,
                        "seconds": m["seconds"],
                        "mib_s": size / m["seconds"],
                        "rss_mib": mib(m["rss_growth"]),
                        "rss_of_file": m["rss_growth"] / (size * 2**20),
                        "time_vs_sdk": ratio(m["seconds"], medians["sdk"]["seconds"]),
                        "rss_vs_sdk": ratio(m["rss_growth"], medians["sdk"]["rss_growth"]),
                    }
                )
    columns = [
        ("size", "MiB", ",d"),
        ("contender", "client", ""),
        ("seconds", "s (median)", ",.2f"),
        ("mib_s", "MiB/s", ",.0f"),
        ("rss_mib", "peak RSS +MiB", ",.1f"),
        ("rss_of_file", "RSS/file", ",.3f"),
        ("time_vs_sdk", "time vs SDK", "x"),
        ("rss_vs_sdk", "RSS vs SDK", "x"),
    ]
    print(table(rows, columns))
    print(f"saved {save('files_upload', {'rows': rows, 'repeat': repeat})}")


if __name__ == "__main__":
    main()
