"""Streaming through the relay: N browser-like websocket clients against one Daphne process.

Each client opens its own websocket (session cookie, Origin header, like a browser tab), sends
a message in a new conversation and reads frames until the turn's final frame, for `--rounds`
messages in a row. The simulator paces every delta at `--tokens-per-second`. Baseline, in the
same run: the same N clients send the same prompts straight to a standalone simulator
(`python -m interactions_client.simulator`) and read its SSE with httpx. Figures are printed
(and saved to bench/results/relay.json) as ratios against that baseline; nothing here passes
or fails on time.

Upstream modes (`--upstream`):
  embedded  no GEMINI_API_KEY: the simulator runs inside the Daphne process (`make run`)
  loopback  Daphne talks to a standalone simulator over 127.0.0.1 like to Google's API, so
            the simulator's CPU and timers are outside the measured process

    .venv/bin/python bench/relay.py [--clients 1,10,100,500] [--upstream both] [--quick]
    .venv/bin/python bench/relay.py --profile 100    # py-spy the server at N=100

See bench/README.md for what each figure means and how latency is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import (
    RESULTS,
    WHAT_IF,
    LiveServer,
    ProcessSampler,
    create_user,
    mib,
    percentile,
    ratio,
    run_daphne,
    run_simulator,
    save,
    sign_in,
    table,
    workdir,
    ws_connect,
)
from websockets.asyncio.client import ClientConnection

FINAL_SEQ = 2**31
MODEL = "gemini-3.5-flash"  # settings.DEFAULT_MODEL: what a new conversation uses
PROMPT = (
    "Benchmark client {client}, message {round}: explain how one server relays a streamed "
    "answer to many browser tabs at once, keeps every piece of text in order, and never "
    "lets a slow database write hold up the next delta."
)
CONNECT_CONCURRENCY = 32


@dataclass
class Stream:
    """One answer as a client saw it."""

    client: int
    round: int
    sent: float = 0.0
    arrivals: list[float] = field(default_factory=list)  # text deltas, in arrival order
    parts: list[str] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)  # every numbered frame of the turn
    done: float | None = None
    status: str = ""
    turn: int | None = None
    lead: int = 0  # paced deltas before the first text delta (seen in the baseline only)
    error: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


def now() -> float:
    return time.perf_counter()


# --- the relay: websocket clients ---


async def relay_client(
    client: int, ws: ClientConnection, rounds: int, start_at: float, streams: list[Stream]
) -> None:
    await asyncio.sleep(start_at)
    conversation: int | None = None
    parent: int | None = None
    for n in range(rounds):
        s = Stream(client, n)
        streams.append(s)
        frame = {
            "type": "send",
            "conversation": conversation,
            "parent": parent,
            "text": PROMPT.format(client=client, round=n + 1),
        }
        s.sent = now()
        await ws.send(json.dumps(frame))
        while True:
            raw = await ws.recv()
            t = now()
            f = json.loads(raw)
            kind = f.get("type")
            if kind == "conversation":
                conversation = f["conversation"]["id"]
            elif kind == "error":
                s.error = f"{f.get('code')}: {f.get('message')}"
                return
            elif kind == "turn":
                turn = f["turn"]
                if f.get("reset") and s.turn is None:
                    s.turn = turn["id"]
                elif turn["id"] == s.turn and f["seq"] == FINAL_SEQ:
                    s.done, s.status = t, turn["status"]
                    break
            elif kind in ("status", "delta", "step") and f.get("turn") == s.turn:
                s.seqs.append(f["seq"])
                if kind == "delta" and f["delta"].get("type") == "text":
                    s.arrivals.append(t)
                    s.parts.append(f["delta"]["text"])
        parent = s.turn


async def open_sockets(server: LiveServer, cookies: httpx.Cookies, n: int) -> list[Any]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one() -> ClientConnection:
        async with gate:
            return await ws_connect(server.port, cookies)

    return list(await asyncio.gather(*(open_one() for _ in range(n))))


async def relay_run(
    server: LiveServer, cookies: httpx.Cookies, n: int, args: argparse.Namespace, limit: float
) -> dict[str, Any]:
    # One answer first, not measured: lazy imports, the embedded simulator, template caches.
    warm = await open_sockets(server, cookies, 1)
    await asyncio.wait_for(relay_client(-1, warm[0], 1, 0.0, []), 60)
    await warm[0].close()
    with ProcessSampler(server.pid) as connecting:
        sockets = await open_sockets(server, cookies, n)
    streams: list[Stream] = []
    me = psutil.Process()
    cpu0 = sum(me.cpu_times()[:2])
    with profiling(server.pid, args.profile_path), ProcessSampler(server.pid) as streaming:
        started = now()
        tasks = [
            asyncio.create_task(
                relay_client(i, ws, args.rounds, args.ramp * i / max(1, n), streams)
            )
            for i, ws in enumerate(sockets)
        ]
        done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        wall = now() - started
    client_cpu = sum(me.cpu_times()[:2]) - cpu0
    failures = [str(t.exception()) for t in done if t.exception() is not None]
    extensions = sockets[0].response.headers.get("Sec-WebSocket-Extensions") if sockets else None
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "streams": streams,
        "timed_out": len(pending),
        "failures": failures,
        "wall": wall,
        "cpu": streaming.cpu_seconds,
        "connect_cpu": connecting.cpu_seconds,
        "connect_seconds": connecting.wall_seconds,
        "idle_rss": connecting.idle_rss,
        "peak_rss": max(connecting.peak_rss, streaming.peak_rss),
        "client_cpu": client_cpu,
        "ws_extensions": extensions,
    }


SAVED_TEXTS = """
import json
from chatapp.models import Turn
out = {}
for t in Turn.objects.all():
    text = "".join(
        i.get("text", "")
        for s in t.steps if s.get("type") == "model_output"
        for i in s.get("content") or [] if i.get("type") == "text"
    )
    out[t.pk] = [t.status, text]
print(json.dumps(out))
"""


def check_streams(streams: list[Stream], saved: dict[str, list[str]]) -> dict[str, int]:
    """Lost, doubled or reordered frames, and answers whose deltas differ from the saved text."""
    lost = doubled = reordered = mismatched = 0
    for s in streams:
        if s.done is None:
            continue
        seqs = s.seqs
        doubled += len(seqs) - len(set(seqs))
        lost += (max(seqs) - len(set(seqs))) if seqs else 0
        reordered += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b < a)
        status, text = saved.get(str(s.turn), ["missing", ""])
        if status != "completed" or text != s.text:
            mismatched += 1
    return {"lost": lost, "doubled": doubled, "reordered": reordered, "mismatched": mismatched}


# --- the baseline: the same streams straight from the simulator ---


async def sse_events(response: httpx.Response) -> Any:
    """(event, arrival time) of each SSE `data:` line; lighter than `aiter_lines`."""
    buffer = b""
    async for chunk in response.aiter_raw():
        t = now()
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                yield json.loads(line[5:]), t


async def baseline_client(
    client: int,
    http: httpx.AsyncClient,
    rounds: int,
    start_at: float,
    streams: list[Stream],
) -> None:
    await asyncio.sleep(start_at)
    previous: str | None = None
    for n in range(rounds):
        s = Stream(client, n)
        streams.append(s)
        text = PROMPT.format(client=client, round=n + 1)
        body: dict[str, Any] = {
            "model": MODEL,
            "input": [{"type": "user_input", "content": [{"type": "text", "text": text}]}],
            "stream": True,
        }
        if previous:
            body["previous_interaction_id"] = previous
        s.sent = now()
        async with http.stream("POST", "/v1/interactions", json=body) as response:
            if response.status_code != 200:
                s.error = f"HTTP {response.status_code}"
                return
            async for event, t in sse_events(response):
                kind = event.get("event_type")
                if kind == "interaction.created":
                    previous = event["interaction"]["id"]
                elif kind == "step.delta":
                    delta = event["delta"]
                    if delta.get("type") == "text":
                        s.arrivals.append(t)
                        s.parts.append(delta["text"])
                    elif not s.arrivals:
                        s.lead += 1
                elif kind == "interaction.completed":
                    s.done, s.status = t, event["interaction"]["status"]
                elif kind == "error":
                    s.error = str(event.get("error"))
        if s.done is None:
            s.error = s.error or "stream ended without interaction.completed"
            return


async def baseline_run(url: str, pid: int, n: int, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    timeout = httpx.Timeout(60, connect=30)
    streams: list[Stream] = []
    me = psutil.Process()
    async with httpx.AsyncClient(
        base_url=url,
        limits=limits,
        timeout=timeout,
        trust_env=False,
        headers={"x-goog-api-key": "bench", "accept": "text/event-stream"},
    ) as http:
        await asyncio.wait_for(baseline_client(-1, http, 1, 0.0, []), 60)  # warm-up
        cpu0 = sum(me.cpu_times()[:2])
        with ProcessSampler(pid) as streaming:
            started = now()
            tasks = [
                asyncio.create_task(
                    baseline_client(i, http, args.rounds, args.ramp * i / max(1, n), streams)
                )
                for i in range(n)
            ]
            done, pending = await asyncio.wait(tasks, timeout=args.timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            wall = now() - started
        client_cpu = sum(me.cpu_times()[:2]) - cpu0
    return {
        "streams": streams,
        "timed_out": len(pending),
        "failures": [str(t.exception()) for t in done if t.exception() is not None],
        "wall": wall,
        "cpu": streaming.cpu_seconds,
        "idle_rss": streaming.idle_rss,
        "peak_rss": streaming.peak_rss,
        "client_cpu": client_cpu,
    }


# --- figures ---


def figures(run: dict[str, Any], n: int, pace: float, lead: int) -> dict[str, Any]:
    """Latency, throughput and cost of one run (see README: "How latency is measured")."""
    streams: list[Stream] = run["streams"]
    complete = [s for s in streams if s.done is not None and s.status == "completed"]
    first = [(s.arrivals[0] - s.sent) * 1000 for s in complete if s.arrivals]
    lags, gaps = [], []
    for s in complete:
        for k, t in enumerate(s.arrivals):
            # Ideal: the k-th text delta leaves a zero-overhead upstream (lead + k + 1) paces
            # after the message was sent.
            lags.append((t - s.sent - (lead + k + 1) * pace) * 1000)
        gaps += [(b - a) * 1000 for a, b in zip(s.arrivals, s.arrivals[1:], strict=False)]
    deltas = sum(len(s.arrivals) for s in complete)
    sends = [s.sent for s in streams]
    ends = [s.done for s in complete if s.done is not None]
    span = (max(ends) - min(sends)) if ends and sends else run["wall"]
    return {
        "n": n,
        "answers": len(complete),
        "expected": n * run.get("rounds", 1),
        "done": f"{len(complete)}/{n * run.get('rounds', 1)}",
        "timed_out": run["timed_out"],
        "errors": len([s for s in streams if s.error or s.status not in ("", "completed")])
        + len(run["failures"]),
        "deltas": deltas,
        "deltas_per_answer": deltas / len(complete) if complete else None,
        "first_p50_ms": percentile(first, 50),
        "first_p99_ms": percentile(first, 99),
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": max(lags) if lags else None,
        "gap_p99_ms": percentile(gaps, 99),
        "deltas_per_s": deltas / span if span > 0 else None,
        "span_s": span,
        "cpu_s": run["cpu"],
        "cpu_share": run["cpu"] / run["wall"] if run["wall"] else None,
        "cpu_ms_per_conv": run["cpu"] * 1000 / n,
        "cpu_us_per_delta": run["cpu"] * 1e6 / deltas if deltas else None,
        "rss_mib": mib(run["peak_rss"]),
        "rss_kib_per_conv": (run["peak_rss"] - run["idle_rss"]) / 1024 / n,
        "client_cpu_share": run["client_cpu"] / run["wall"] if run["wall"] else None,
    }


def compare(relay: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    keys = ("first_p50_ms", "first_p99_ms", "lag_p50_ms", "lag_p99_ms", "deltas_per_s")
    out = {f"{k}_x": ratio(relay[k], base[k]) for k in keys}
    out["cpu_per_delta_x"] = ratio(relay["cpu_us_per_delta"], base["cpu_us_per_delta"])
    out["added_lag_p50_ms"] = relay["lag_p50_ms"] - base["lag_p50_ms"]
    out["added_lag_p99_ms"] = relay["lag_p99_ms"] - base["lag_p99_ms"]
    return out


# --- orchestration ---


def raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * n + 256))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def relay_env(args: argparse.Namespace, upstream_url: str | None) -> dict[str, str]:
    env = {"SIMULATOR_TOKENS_PER_SECOND": str(args.tokens_per_second)}
    if upstream_url:
        env.update(GEMINI_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=upstream_url)
    return env


def measure_relay(
    tmp: Path,
    n: int,
    mode: str,
    args: argparse.Namespace,
    limit: float,
    what_if: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One fresh Daphne (and simulator in loopback mode), N clients; figures and checks."""
    sim_ctx = (
        run_simulator(tmp, args.tokens_per_second)
        if mode == "loopback"
        else contextlib.nullcontext((None, None))
    )
    with sim_ctx as (sim_url, sim_process):
        env = relay_env(args, sim_url)
        with run_daphne(tmp, what_if=what_if, **env) as server:
            create_user(server)
            cookies = sign_in(server.url)
            sim_sampler = ProcessSampler(sim_process.pid) if sim_process else None
            if sim_sampler:
                sim_sampler.__enter__()
            try:
                run = asyncio.run(relay_run(server, cookies, n, args, limit))
            finally:
                if sim_sampler:
                    sim_sampler.__exit__(None, None, None)
            saved = server.shell(SAVED_TEXTS)
            if run["failures"]:
                print(server.log_tail(15), file=sys.stderr)
    run["rounds"] = args.rounds
    checks = check_streams(run["streams"], saved)
    extra = {
        "ws_extensions": run["ws_extensions"],
        "connect_s": run["connect_seconds"],
        "connect_cpu_ms_per_conv": run["connect_cpu"] * 1000 / n,
        "failures": run["failures"][:5],
    }
    if sim_sampler:
        extra["upstream_cpu_s"] = sim_sampler.cpu_seconds
    return run, {**checks, **extra}


def measure_baseline(tmp: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    with run_simulator(tmp, args.tokens_per_second) as (url, process):
        run = asyncio.run(baseline_run(url, process.pid, n, args))
    run["rounds"] = args.rounds
    return run


def baseline_texts(run: dict[str, Any]) -> dict[tuple[int, int], str]:
    return {(s.client, s.round): s.text for s in run["streams"] if s.done is not None}


def py_spy() -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return spy


@contextlib.contextmanager
def profiling(pid: int, path: Path | None) -> Iterator[None]:
    """py-spy attached to the server for the streaming phase only (collapsed stacks)."""
    if path is None:
        yield
        return
    path.parent.mkdir(exist_ok=True)
    options = ["--format", "raw", "--nonblocking", "--rate", "200", "-o", str(path)]
    spy = subprocess.Popen(
        [py_spy(), "record", *options, "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.5)  # attached
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            _, err = spy.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        if not path.exists():
            message = err.decode(errors="replace")[-500:]
            print(f"py-spy wrote no profile: {message}", file=sys.stderr)


def _frame_name(frame: str) -> str:
    """`func (/long/path/pkg/mod.py:123)` → `func (pkg/mod.py)`: one entry per function."""
    name, _, where = frame.partition(" (")
    where = re.sub(r":\d+\)$", "", where).rstrip(")")
    short = "/".join(Path(where).parts[-2:]) if where else ""
    return f"{name} ({short})" if short else name


def hot_spots(path: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive shares of samples per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame_name(f) for f in stack.split(";")]
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    share = 100 / total if total else 0
    ours = ("chatapp/", "channels/", "interactions_client/", "daphne/", "autobahn/", "asgiref/")
    inner = [
        (f, c)
        for f, c in inclusive.most_common()
        if c * share < 35 and any(p in f for p in ours)  # not the roots: event loop, threads
    ]
    return {
        "samples": [("total", float(total))],
        "self": [(f, round(c * share, 1)) for f, c in own.most_common(top)],
        "inclusive": [(f, round(c * share, 1)) for f, c in inner[: top * 2]],
    }


COLUMNS = [
    ("n", "N", "d"),
    ("done", "answers", ""),
    ("deltas_per_answer", "deltas/ans", ".1f"),
    ("first_p50_ms", "first p50 ms", ",.1f"),
    ("first_p99_ms", "first p99 ms", ",.1f"),
    ("lag_p50_ms", "lag p50 ms", ",.1f"),
    ("lag_p99_ms", "lag p99 ms", ",.1f"),
    ("gap_p99_ms", "gap p99 ms", ",.1f"),
    ("deltas_per_s", "deltas/s", ",.0f"),
    ("cpu_share", "cpu/core", ".2f"),
    ("cpu_ms_per_conv", "cpu ms/conv", ",.1f"),
    ("cpu_us_per_delta", "cpu us/delta", ",.0f"),
    ("rss_kib_per_conv", "rss KiB/conv", ",.0f"),
    ("client_cpu_share", "client cpu", ".2f"),
]
RATIO_COLUMNS = [
    ("n", "N", "d"),
    ("first_p50_ms_x", "first p50", "x"),
    ("first_p99_ms_x", "first p99", "x"),
    ("lag_p50_ms_x", "lag p50", "x"),
    ("lag_p99_ms_x", "lag p99", "x"),
    ("added_lag_p50_ms", "+lag p50 ms", ",.1f"),
    ("added_lag_p99_ms", "+lag p99 ms", ",.1f"),
    ("deltas_per_s_x", "deltas/s", "x"),
    ("cpu_per_delta_x", "cpu/delta", "x"),
    ("lost", "lost", "d"),
    ("doubled", "doubled", "d"),
    ("reordered", "reordered", "d"),
    ("mismatched", "text≠saved", "d"),
    ("differs_from_baseline", "text≠base", "d"),
]


def configurations(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(label, upstream mode, what-if patches) of each relay configuration to measure."""
    modes = ["embedded", "loopback"] if args.upstream == "both" else [args.upstream]
    configs: list[tuple[str, str, list[str]]] = []
    for mode in modes:
        if not args.only_what_if:
            configs.append((mode, mode, []))
        for spec in args.what_if or []:
            names = [name.strip() for name in spec.split(",") if name.strip()]
            configs.append((f"{mode}+{'+'.join(names)}", mode, names))
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,100,500", help="comma-separated N")
    parser.add_argument("--tokens-per-second", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="messages per client, in a row")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which N start")
    parser.add_argument("--upstream", choices=["embedded", "loopback", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=90.0, help="per run, seconds")
    parser.add_argument("--budget", type=float, default=330.0, help="whole script, seconds")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--profile", type=int, metavar="N", help="py-spy the server at N")
    parser.add_argument(
        "--what-if",
        action="append",
        metavar="PATCHES",
        help=f"also measure the relay with these patches (bench-only): {', '.join(WHAT_IF)}",
    )
    parser.add_argument(
        "--only-what-if", action="store_true", help="skip the unpatched relay configurations"
    )
    args = parser.parse_args()
    args.profile_path = None
    if args.profile:
        py_spy()
    if args.quick:
        args.clients, args.rounds, args.upstream, args.ramp = "1,10", 1, "embedded", 0.2
        args.budget = min(args.budget, 90)
    sizes = [int(x) for x in args.clients.split(",") if x.strip()]
    if args.profile:
        sizes = [args.profile]
        args.upstream = "embedded" if args.upstream == "both" else args.upstream
    configs = configurations(args)
    labels = [label for label, _, _ in configs]
    pace = 1.0 / args.tokens_per_second
    raise_fd_limit(max(sizes))
    begun = time.monotonic()
    results: dict[str, Any] = {
        "tokens_per_second": args.tokens_per_second,
        "rounds": args.rounds,
        "ramp_s": args.ramp,
        "baseline": [],
        "relay": {label: [] for label in labels},
        "skipped": [],
    }
    rows: dict[str, list[dict[str, Any]]] = {"baseline": [], **{m: [] for m in labels}}
    ratio_rows: dict[str, list[dict[str, Any]]] = {m: [] for m in labels}
    saturated: set[str] = set()
    print(
        f"relay benchmark: {args.tokens_per_second:g} deltas/s per stream, {args.rounds} "
        f"message(s) per client, starts spread over {args.ramp:g}s; relay: {', '.join(labels)}"
    )
    with workdir("bench-relay-") as tmp:
        for n in sizes:
            remaining = args.budget - (time.monotonic() - begun)
            if remaining < 20 or len(saturated) == len(configs):
                why = "time budget spent" if remaining < 20 else "a smaller N already timed out"
                print(f"N={n}: skipped ({why})")
                results["skipped"].append({"n": n, "why": why})
                continue
            base_run = measure_baseline(tmp, n, args)
            leads = Counter(s.lead for s in base_run["streams"] if s.arrivals)
            lead = leads.most_common(1)[0][0] if leads else 0
            base = figures(base_run, n, pace, lead)
            rows["baseline"].append(base)
            results["baseline"].append(base)
            texts = baseline_texts(base_run)
            print(
                f"N={n}: baseline {base['answers']}/{base['expected']} answers in "
                f"{base['span_s']:.1f}s"
            )
            for label, mode, what_if in configs:
                if label in saturated:
                    continue
                remaining = args.budget - (time.monotonic() - begun)
                if remaining < 20:
                    print(f"N={n}: relay ({label}) skipped (time budget spent)")
                    results["skipped"].append({"n": n, "relay": label, "why": "time budget"})
                    continue
                limit = min(args.timeout, remaining - 10)
                profile_path = RESULTS / f"relay-profile-n{n}-{label}.txt"
                args.profile_path = profile_path if args.profile else None
                run, checks = measure_relay(tmp, n, mode, args, limit, what_if)
                fig = figures(run, n, pace, lead)
                checks["differs_from_baseline"] = sum(
                    1
                    for s in run["streams"]
                    if s.done is not None and texts.get((s.client, s.round), s.text) != s.text
                )
                rows[label].append(fig)
                ratio_rows[label].append({"n": n, **compare(fig, base), **checks})
                results["relay"][label].append({**fig, **checks, **compare(fig, base)})
                note = ""
                if run["timed_out"]:
                    note = f"; {run['timed_out']} client(s) did not finish within {limit:.0f}s"
                    saturated.add(label)
                print(
                    f"N={n}: relay ({label}) {fig['answers']}/{fig['expected']} answers in "
                    f"{fig['span_s']:.1f}s{note}"
                )
                if args.profile and profile_path.exists():
                    results.setdefault("profile", {})[label] = hot_spots(profile_path)
    print()
    print("baseline: the same streams straight from the standalone simulator (httpx)")
    print(table(rows["baseline"], COLUMNS))
    for label in labels:
        print()
        print(f"relay ({label}): websocket clients through one Daphne process")
        print(table(rows[label], COLUMNS))
        print()
        print(f"relay ({label}) / baseline, and integrity checks")
        print(table(ratio_rows[label], RATIO_COLUMNS))
    for skipped in results["skipped"]:
        print(f"N={skipped['n']} not measured: {skipped['why']} on this machine")
    if saturated:
        print(
            "a run timed out: this machine could not serve that N within the limit; larger N "
            "were not tried for that relay configuration (see bench/README.md)"
        )
    for label, spots in results.get("profile", {}).items():
        print()
        print(f"py-spy, N={sizes[0]} ({label}), share of samples in the server, self time:")
        for name, share in spots["self"]:
            print(f"  {share:5.1f}%  {name}")
        print("inclusive (functions of chatapp, channels, interactions_client, daphne):")
        for name, share in spots["inclusive"]:
            print(f"  {share:5.1f}%  {name}")
    name = "relay-profile" if args.profile else "relay-what-if" if args.what_if else "relay"
    out = save(name, results)
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
