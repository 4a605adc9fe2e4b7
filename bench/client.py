"""Events per second decoded by our SSE parser and client, against the google-genai SDK.

One long answer is streamed from the simulator (on loopback, no pacing) and captured once;
then each contender decodes the same bytes, and finally both clients stream it over HTTP.
Figures are printed (and saved to bench/results/client.json) as ratios against the SDK
measured in the same run; nothing here passes or fails on time.

    .venv/bin/python bench/client.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from google import genai
from google.genai._gaos.types import interactions as sdk_types
from google.genai._gaos.utils.eventstreaming import stream_events
from google.genai._gaos.utils.unmarshal_json_response import unmarshal_json_response

from interactions_client import Client
from interactions_client._sse import SSEDecoder
from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.types import parse_event

RESULTS = Path(__file__).with_name("results")
CHUNK = 4096


def chunks(raw: bytes) -> Iterator[bytes]:
    for start in range(0, len(raw), CHUNK):
        yield raw[start : start + CHUNK]


def ours_framing(raw: bytes) -> int:
    decoder = SSEDecoder()
    return sum(1 for c in chunks(raw) for _ in decoder.feed(c))


def ours_typed(raw: bytes) -> int:
    decoder = SSEDecoder()
    return sum(
        1 for c in chunks(raw) for sse in decoder.feed(c) if parse_event(json.loads(sse.data))
    )


def sdk_framing(raw: bytes) -> int:
    response = httpx.Response(200, content=b"".join(chunks(raw)))
    return sum(1 for _ in stream_events(response, json.loads, "[DONE]"))


def sdk_typed(raw: bytes) -> int:
    response = httpx.Response(200, content=raw)

    def decode(data: str) -> Any:
        return unmarshal_json_response(
            sdk_types.InteractionSSEStreamEvent, response, data, validate=False
        ).data

    return sum(1 for _ in stream_events(response, decode, "[DONE]"))


def best_rate(fn: Callable[[bytes], int], raw: bytes, repeat: int) -> tuple[float, int]:
    """Events per second of the best of `repeat` runs (least disturbed by the machine)."""
    times, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = fn(raw)
        times.append(time.perf_counter() - started)
    return count / min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    # A long answer in one hop: many text deltas, the common case of a chat stream.
    request = {"model": "gemini-3.5-flash", "input": "[[sim:long]] Write a detailed essay."}
    with serve(SimulatorConfig(hop_chars=10**9)) as server:
        raw = httpx.post(
            f"{server.base_url}/v1/interactions",
            json={**request, "stream": True},
            headers={"x-goog-api-key": "bench", "accept": "text/event-stream"},
            timeout=60,
        ).content
        ours = Client(api_key="bench", base_url=server.base_url)
        sdk = genai.Client(api_key="bench", http_options={"base_url": server.base_url})

        def ours_http(_raw: bytes) -> int:
            with ours.interactions.create(stream=True, **request) as stream:
                return sum(1 for _ in stream)

        def sdk_http(_raw: bytes) -> int:
            return sum(1 for _ in sdk.interactions.create(stream=True, **request))

        pairs = {
            "sse framing (bytes -> messages)": (ours_framing, sdk_framing),
            "typed events (bytes -> models)": (ours_typed, sdk_typed),
            "client over HTTP from the simulator": (ours_http, sdk_http),
        }
        rows = []
        for label, (mine, theirs) in pairs.items():
            our_rate, our_count = best_rate(mine, raw, args.repeat)
            sdk_rate, sdk_count = best_rate(theirs, raw, args.repeat)
            rows.append(
                {
                    "measure": label,
                    "events": our_count,
                    "sdk_events": sdk_count,
                    "ours_events_per_s": round(our_rate),
                    "sdk_events_per_s": round(sdk_rate),
                    "ratio_vs_sdk": round(our_rate / sdk_rate, 2),
                }
            )
        ours.close()

    print(f"stream: {len(raw):,} bytes, {rows[0]['events']:,} events; best of {args.repeat} runs")
    print(f"{'measure':40} {'ours ev/s':>12} {'sdk ev/s':>12} {'ours/sdk':>9}")
    for row in rows:
        print(
            f"{row['measure']:40} {row['ours_events_per_s']:>12,} {row['sdk_events_per_s']:>12,}"
            f" {row['ratio_vs_sdk']:>8.2f}x"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "client.json").write_text(
        json.dumps({"bytes": len(raw), "repeat": args.repeat, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
