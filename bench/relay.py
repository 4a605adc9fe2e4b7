"""Streaming at team scale: N browser-like websocket clients, each in its own conversation,
through Daphne with production settings (DEBUG off), in three configurations:

  inmem   one worker, the in-memory channel layer, SQLite (the default `make run` set-up)
  redis1  one worker, Redis channel layer (a Redis database index of its own, flushed first)
          and a fresh PostgreSQL database (created and dropped by this script)
  redis2  two workers sharing that PostgreSQL and Redis; every client sends on one worker and
          is measured on a second tab (a watcher socket that subscribed to the conversation)
          on the OTHER worker, so every frame it gets crossed workers through Redis

The upstream is a standalone simulator on 127.0.0.1 (GEMINI_API_KEY + GOOGLE_GEMINI_BASE_URL)
pacing `--tokens-per-second` deltas. Baseline, measured in the same run for each N: the same
N streams read straight from a standalone simulator with httpx (the bare reader). Integrity
is checked from the seq numbers of the frames, as the websocket protocol defines them (both
the old final frame, seq == 2**31, and the new `"final": true`, `"from"` ranges and `reset`).
Nothing here passes or fails; figures are saved to bench/results/relay.json and the server
logs to bench/results/relay-logs/.

    .venv/bin/python bench/relay.py [--clients 1,10,100,500] [--configs inmem,redis1,redis2]
    .venv/bin/python bench/relay.py --quick          # N = 10, one message: under a minute
    .venv/bin/python bench/relay.py --profile 100    # py-spy the (first) server at N=100

See bench/README.md for what each figure means and how latency is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import (
    RESULTS,
    ROOT,
    USER,
    WHAT_IF,
    ProcessSampler,
    collect_static,
    django_shell,
    mib,
    percentile,
    production_env,
    ratio,
    run_daphne,
    run_simulator,
    save,
    server_env,
    table,
    workdir,
)

from tests.harness.accounts import cookie_header, create_user, http_sign_in, secure_headers
from tests.harness.servers import LiveServer
from tests.harness.sockets import ws_connect

OLD_FINAL_SEQ = 2**31  # the old protocol's final frame (fac3d7e and before)
MODEL = "gemini-3.5-flash"  # settings.DEFAULT_MODEL: what a new conversation uses
PROMPT = (
    "Benchmark client {client}, message {round}: explain how one server relays a streamed "
    "answer to many browser tabs at once, keeps every piece of text in order, and never "
    "lets a slow database write hold up the next delta."
)
CONNECT_CONCURRENCY = 32
CONFIGS = ("inmem", "redis1", "redis2")
PG = "postgresql://postgres@127.0.0.1:5432"
LOGS = RESULTS / "relay-logs"


def now() -> float:
    return time.perf_counter()


# --- what one socket saw of one turn: runs of seq ranges ---


@dataclass
class Run:
    """One run of a turn on one socket: from a `reset` (or a snapshot) to its final frame."""

    start: str  # "reset", "snapshot" or "none" (the opening frame never came)
    low: int  # the first seq of the run (0 after a reset, n after a snapshot at n)
    covered: set[int] = field(default_factory=set)
    max_seq: int = -1
    doubled: int = 0
    reordered: int = 0
    after_final: int = 0
    parts: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # one per text delta (merged ones too)
    final_at: float | None = None
    status: str = ""

    def cover(self, first: int, last: int) -> int:
        """Count the frame's seq range in; returns how many of its seqs were new."""
        new = 0
        for seq in range(max(first, self.low), last + 1):
            if seq in self.covered:
                self.doubled += 1
            else:
                if seq < self.max_seq:
                    self.reordered += 1
                self.covered.add(seq)
                new += 1
        self.max_seq = max(self.max_seq, last)
        return new

    @property
    def lost(self) -> int:
        """Holes in low..max_seq. (The old final frame carries no seq: a lost tail before it
        cannot be seen; the new final's seq is the last + 1, so it can.)"""
        return max(0, self.max_seq - self.low + 1 - len(self.covered))

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class Trace:
    turn: int
    runs: list[Run] = field(default_factory=list)
    snapshots_mid_run: int = 0

    def current(self) -> Run:
        if not self.runs:
            self.runs.append(Run("none", 0))
        return self.runs[-1]


@dataclass
class Socket:
    """Everything one client socket received, by turn."""

    traces: dict[int, Trace] = field(default_factory=dict)
    text_deltas: int = 0  # text deltas delivered (a merged frame counts seq - from + 1)
    frames: int = 0
    resyncs: int = 0
    errors: list[str] = field(default_factory=list)

    def trace(self, turn: int) -> Trace:
        if turn not in self.traces:
            self.traces[turn] = Trace(turn)
        return self.traces[turn]

    def on_frame(self, f: dict[str, Any], t: float) -> tuple[int | None, bool]:
        """Record a frame; returns (turn id or None, whether it ended a run)."""
        self.frames += 1
        kind = f.get("type")
        if kind == "turn":
            turn = f["turn"]
            trace = self.trace(turn["id"])
            seq = f["seq"]
            if f.get("reset"):
                trace.runs.append(Run("reset", seq, {seq}, seq))
            elif f.get("final") or seq == OLD_FINAL_SEQ:
                run = trace.current()
                if seq != OLD_FINAL_SEQ:
                    run.cover(seq, seq)
                run.final_at, run.status = t, turn.get("status", "")
                return turn["id"], True
            elif not trace.runs or trace.runs[-1].final_at is not None:
                trace.runs.append(Run("snapshot", seq, {seq}, seq))
            else:
                # A snapshot inside a run (after a resync): the run goes on from its seq.
                trace.snapshots_mid_run += 1
                run = trace.current()
                run.low, run.covered = seq, {s for s in run.covered if s >= seq} | {seq}
                run.max_seq = max(run.max_seq, seq)
            return turn["id"], False
        if kind in ("status", "delta", "step"):
            seq = f["seq"]
            first = f.get("from", seq) if kind == "delta" else seq
            run = self.trace(f["turn"]).current()
            if run.final_at is not None:
                run.after_final += 1
            new = run.cover(first, seq)
            if kind == "delta" and f["delta"].get("type") == "text":
                count = seq - first + 1
                self.text_deltas += count
                if new:  # like the page: a frame already applied is ignored
                    run.arrivals.extend([t] * count)
                    run.parts.append(f["delta"]["text"])
            return f["turn"], False
        if kind == "resync":
            self.resyncs += 1
        elif kind == "error":
            self.errors.append(f"{f.get('code')}: {f.get('message')}")
        return None, False


@dataclass
class Stream:
    """One answer as its measured socket saw it (or the baseline's httpx reader)."""

    client: int
    round: int
    sent: float = 0.0
    arrivals: list[float] = field(default_factory=list)  # text deltas, in arrival order
    parts: list[str] = field(default_factory=list)
    done: float | None = None
    status: str = ""
    turn: int | None = None
    lead: int = 0  # paced deltas before the first text delta (seen in the baseline only)
    error: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


# --- the relay: websocket clients ---


@dataclass
class Client:
    index: int
    conversation: int
    sender: Any  # the socket that sends (on the worker that runs the generation)
    watcher: Any  # the measured socket: the sender itself, or a tab on the other worker
    measured: Socket = field(default_factory=Socket)
    sending: Socket = field(default_factory=Socket)  # the sender's frames when not measured
    sends: list[tuple[float, int | None]] = field(default_factory=list)  # (sent at, turn)
    error: str | None = None

    @property
    def same_socket(self) -> bool:
        return self.sender is self.watcher


async def read_socket(
    ws: Any,
    record: Socket,
    new_turns: asyncio.Queue[int | None] | None,
    finals: dict[int, asyncio.Event],
    measured_finals: dict[int, asyncio.Event] | None,
    conversation: int,
) -> None:
    """Read every frame of one socket until cancelled (a tab reads everything)."""
    seen: set[int] = set()
    with contextlib.suppress(Exception):
        async for raw in ws:
            t = now()
            f = json.loads(raw)
            turn, ended = record.on_frame(f, t)
            if f.get("type") == "resync":
                await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
            if f.get("type") == "error" and new_turns is not None:
                new_turns.put_nowait(None)
            if turn is None:
                continue
            if turn not in seen:
                seen.add(turn)
                if new_turns is not None:
                    new_turns.put_nowait(turn)
            if ended:
                finals.setdefault(turn, asyncio.Event()).set()
                if measured_finals is not None:
                    measured_finals.setdefault(turn, asyncio.Event()).set()


async def run_client(c: Client, rounds: int, start_at: float) -> None:
    """Send `rounds` messages in a row, each after the previous answer's final frame; done
    when the measured socket has seen every answer's final frame."""
    new_turns: asyncio.Queue[int | None] = asyncio.Queue()
    finals: dict[int, asyncio.Event] = {}
    measured_finals: dict[int, asyncio.Event] = {}
    if c.same_socket:
        readers = [
            asyncio.create_task(
                read_socket(
                    c.sender, c.measured, new_turns, finals, measured_finals, c.conversation
                )
            )
        ]
    else:
        readers = [
            asyncio.create_task(
                read_socket(c.watcher, c.measured, None, finals, measured_finals, c.conversation)
            ),
            asyncio.create_task(
                read_socket(c.sender, c.sending, new_turns, finals, None, c.conversation)
            ),
        ]
    try:
        await asyncio.sleep(start_at)
        parent: int | None = None
        for n in range(rounds):
            frame = {
                "type": "send",
                "conversation": c.conversation,
                "parent": parent,
                "text": PROMPT.format(client=c.index, round=n + 1),
            }
            sent = now()
            await c.sender.send(json.dumps(frame))
            turn = await new_turns.get()
            if turn is None:
                c.error = (c.measured.errors + c.sending.errors + ["error"])[0]
                return
            c.sends.append((sent, turn))
            await finals.setdefault(turn, asyncio.Event()).wait()
            parent = turn
        for _, turn in c.sends:
            if turn is not None:
                await measured_finals.setdefault(turn, asyncio.Event()).wait()
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def open_sockets(ports: list[int], cookies: httpx.Cookies) -> list[Any]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one(port: int) -> Any:
        async with gate:
            return await ws_connect(port, cookies, scheme="https")

    return list(await asyncio.gather(*(open_one(p) for p in ports)))


async def new_conversations(urls: list[str], cookies: httpx.Cookies) -> list[int]:
    """POST /c/new like the page's new-chat settings panel, one per client."""
    gate = asyncio.Semaphore(16)
    token = cookies.get("csrftoken") or ""
    headers = {"X-CSRFToken": token, **secure_headers(True), **cookie_header(cookies)}

    async def one(http: httpx.AsyncClient, url: str) -> int:
        async with gate:
            response = await http.post(
                f"{url}/c/new",
                data={"model": MODEL},
                headers={**headers, "Referer": url.replace("http://", "https://") + "/"},
            )
            if response.status_code != 200:
                raise RuntimeError(f"/c/new: {response.status_code} {response.text[:300]}")
            return int(response.json()["id"])

    async with httpx.AsyncClient(trust_env=False, timeout=120) as http:
        return list(await asyncio.gather(*(one(http, u) for u in urls)))


async def subscribe(ws: Any, conversation: int) -> None:
    """Subscribe a watcher; a frame the server refuses right after it acts as a barrier
    (Channels handles one frame at a time per socket), so the group is joined on return."""
    await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
    await ws.send(json.dumps({"type": "stop", "turn": 2**62}))
    async with asyncio.timeout(60):
        while True:
            f = json.loads(await ws.recv())
            if f.get("type") == "error":
                return


async def prepare_clients(
    servers: list[LiveServer], cookies: httpx.Cookies, first: int, n: int
) -> list[Client]:
    """N conversations and sockets. One worker: the sender is measured. Two workers: client
    i sends on worker i % 2 and is measured on a watcher on the other worker."""
    two = len(servers) == 2
    home = [servers[(first + i) % len(servers)] for i in range(n)]
    away = [servers[(first + i + 1) % len(servers)] for i in range(n)]
    conversations = await new_conversations([s.url for s in home], cookies)
    senders = await open_sockets([s.port for s in home], cookies)
    watchers = await open_sockets([s.port for s in away], cookies) if two else senders
    if two:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def sub(ws: Any, conversation: int) -> None:
            async with gate:
                await subscribe(ws, conversation)

        await asyncio.gather(*(sub(w, c) for w, c in zip(watchers, conversations, strict=True)))
    return [Client(first + i, conversations[i], senders[i], watchers[i]) for i in range(n)]


async def close_clients(clients: list[Client]) -> None:
    sockets = {id(ws): ws for c in clients for ws in (c.sender, c.watcher)}
    await asyncio.gather(*(ws.close() for ws in sockets.values()), return_exceptions=True)


async def relay_run(
    servers: list[LiveServer],
    cookies: httpx.Cookies,
    n: int,
    args: argparse.Namespace,
    limit: float,
    samplers: list[ProcessSampler],
) -> dict[str, Any]:
    # One answer per worker first, not measured: lazy imports, template caches, pools.
    warm = await prepare_clients(servers, cookies, -len(servers), len(servers))
    await asyncio.wait_for(
        asyncio.gather(*(run_client(c, 1, 0.0) for c in warm)), 60 + 10 * len(servers)
    )
    await close_clients(warm)
    connect = [ProcessSampler(s.pid) for s in servers]
    with contextlib.ExitStack() as stack:
        for sampler in connect:
            stack.enter_context(sampler)
        clients = await prepare_clients(servers, cookies, 0, n)
    me = psutil.Process()
    cpu0 = sum(me.cpu_times()[:2])
    with contextlib.ExitStack() as stack:
        stack.enter_context(profiling(servers[0].pid, args.profile_path))
        for sampler in samplers:
            stack.enter_context(sampler)
        started = now()
        tasks = [
            asyncio.create_task(run_client(c, args.rounds, args.ramp * i / max(1, n)))
            for i, c in enumerate(clients)
        ]
        done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        wall = now() - started
    client_cpu = sum(me.cpu_times()[:2]) - cpu0
    failures = [repr(t.exception()) for t in done if t.exception() is not None]
    await close_clients(clients)
    return {
        "clients": clients,
        "timed_out": len(pending),
        "failures": failures,
        "wall": wall,
        "connect_cpu": sum(s.cpu_seconds for s in connect),
        "connect_seconds": max(s.wall_seconds for s in connect),
        "client_cpu": client_cpu,
    }


def streams_of(clients: list[Client]) -> list[Stream]:
    """Each sent message's answer as the measured socket saw it (its last run)."""
    streams = []
    for c in clients:
        for r, (sent, turn) in enumerate(c.sends):
            s = Stream(c.index, r, sent=sent, turn=turn, error=c.error)
            trace = c.measured.traces.get(turn) if turn is not None else None
            if trace and trace.runs:
                run = trace.runs[-1]
                s.arrivals, s.parts = run.arrivals, run.parts
                s.done, s.status = run.final_at, run.status
            streams.append(s)
    return streams


def check_clients(clients: list[Client], saved: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """Integrity from the measured sockets' seq ranges, per run of each turn."""
    out = Counter()
    for c in clients:
        sent_turns = {turn for _, turn in c.sends}
        for trace in c.measured.traces.values():
            if trace.turn not in sent_turns:
                out["stray_turns"] += 1
            out["restarts"] += max(0, len(trace.runs) - 1)
            out["snapshots_mid_run"] += trace.snapshots_mid_run
            for run in trace.runs:
                out["lost"] += run.lost
                out["doubled"] += run.doubled
                out["reordered"] += run.reordered
                out["after_final"] += run.after_final
                out["no_start"] += run.start == "none"
        out["resyncs"] += c.measured.resyncs
        out["errors"] += len(c.measured.errors) + len(c.sending.errors)
        for _, turn in c.sends:
            status, text = saved.get(turn, ("missing", "")) if turn else ("missing", "")
            out["saved_completed"] += status == "completed"
            trace = c.measured.traces.get(turn) if turn is not None else None
            if not trace or not trace.runs or trace.runs[-1].final_at is None:
                continue
            run = trace.runs[-1]
            if run.start == "snapshot" or trace.snapshots_mid_run:
                out["text_unchecked"] += 1  # text before the snapshot is in its HTML only
            elif status != "completed" or text != run.text:
                out["mismatched"] += 1
    keys = ("lost", "doubled", "reordered", "no_start", "after_final", "restarts", "resyncs")
    keys += ("stray_turns", "snapshots_mid_run", "errors", "saved_completed", "mismatched")
    return {k: out[k] for k in (*keys, "text_unchecked")}


def answer_text(steps: list[dict[str, Any]] | None) -> str:
    return "".join(
        i.get("text", "")
        for s in steps or []
        if s.get("type") == "model_output"
        for i in s.get("content") or []
        if i.get("type") == "text"
    )


SAVED_TEXTS = """
import json
from chatapp.models import Turn
out = {}
for t in Turn.objects.all():
    text = "".join(
        i.get("text", "")
        for s in t.steps or [] if s.get("type") == "model_output"
        for i in s.get("content") or [] if i.get("type") == "text"
    )
    out[t.pk] = [t.status, text]
print(json.dumps(out))
"""


def saved_answers(server: LiveServer, database_url: str | None) -> dict[int, tuple[str, str]]:
    """Each turn's status and saved answer: psycopg for PostgreSQL, Django's shell for SQLite."""
    if database_url:
        import psycopg

        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT id, status, steps FROM chatapp_turn").fetchall()
        return {pk: (status, answer_text(steps)) for pk, status, steps in rows}
    return {int(k): (v[0], v[1]) for k, v in django_shell(server.env, SAVED_TEXTS).items()}


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
    deltas = sum(len(s.arrivals) for s in streams)
    return {
        "streams": streams,
        "timed_out": len(pending),
        "failures": [str(t.exception()) for t in done if t.exception() is not None],
        "wall": wall,
        "cpu": streaming.cpu_seconds,
        "idle_rss": streaming.idle_rss,
        "peak_rss": streaming.peak_rss,
        "client_cpu": client_cpu,
        "delivered": deltas,
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
    delivered = run.get("delivered", deltas)
    sends = [s.sent for s in streams]
    ends = [s.done for s in complete if s.done is not None]
    span = (max(ends) - min(sends)) if ends and sends else run["wall"]
    expected = n * run["rounds"]
    return {
        "n": n,
        "answers": len(complete),
        "expected": expected,
        "done": f"{len(complete)}/{expected}",
        "timed_out": run["timed_out"],
        "deltas": deltas,
        "delivered": delivered,
        "deltas_per_answer": deltas / len(complete) if complete else None,
        "first_p50_ms": percentile(first, 50),
        "first_p99_ms": percentile(first, 99),
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": max(lags) if lags else None,
        "gap_p99_ms": percentile(gaps, 99),
        "deltas_per_s": deltas / span if span > 0 else None,
        "span_s": span,
        "wall_s": run["wall"],
        "cpu_s": run["cpu"],
        "cpu_share": run["cpu"] / run["wall"] if run["wall"] else None,
        "cpu_ms_per_conv": run["cpu"] * 1000 / n,
        "cpu_us_per_delta": run["cpu"] * 1e6 / delivered if delivered else None,
        "rss_mib": mib(run["peak_rss"]),
        "rss_kib_per_conv": (run["peak_rss"] - run["idle_rss"]) / 1024 / n,
        "client_cpu_share": run["client_cpu"] / run["wall"] if run["wall"] else None,
    }


def compare(relay: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    keys = ("first_p50_ms", "first_p99_ms", "lag_p50_ms", "lag_p99_ms", "deltas_per_s")
    out = {f"{k}_x": ratio(relay[k], base[k]) for k in keys}
    out["cpu_per_delta_x"] = ratio(relay["cpu_us_per_delta"], base["cpu_us_per_delta"])
    out["added_first_p50_ms"] = relay["first_p50_ms"] - base["first_p50_ms"]
    out["added_lag_p50_ms"] = relay["lag_p50_ms"] - base["lag_p50_ms"]
    out["added_lag_p99_ms"] = relay["lag_p99_ms"] - base["lag_p99_ms"]
    return out


# --- server logs ---

EXCEPTION_LINE = re.compile(r"\b([A-Za-z_][\w.]*(?:Error|Exception|Timeout)): ?(.{0,80})")


def scan_log(path: Path) -> dict[str, Any]:
    """Tracebacks, ERROR lines and the most frequent exception names in one server log."""
    text = path.read_text(errors="replace") if path.exists() else ""
    text = text.replace("\\n", "\n")  # JSON logs (DEBUG off) escape tracebacks' newlines
    names: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("Traceback") or "Error" in line or "Exception" in line:
            for match in EXCEPTION_LINE.finditer(line):
                names[match.group(1)] += 1
    return {
        # channels_redis drops a message for a full channel and says so at INFO only.
        "over_capacity": text.count("over capacity in group"),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "error_lines": len(re.findall(r'"level": "ERROR"|\bERROR\b', text)),
        "exceptions": names.most_common(6),
    }


def keep_log(server: LiveServer, label: str, n: int, worker: int) -> Path:
    LOGS.mkdir(parents=True, exist_ok=True)
    target = LOGS / f"{label}-n{n}-w{worker}.log"
    if server.log_path.exists():
        shutil.copy(server.log_path, target)
    return target


# --- orchestration ---


def raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * n + 256))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Postgres:
    """A migrated template database, and one fresh copy of it per measured row."""

    def __init__(self, tmp: Path, base_env: dict[str, str]) -> None:
        self.prefix = f"bench_relay_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_tmpl"
        self.created: list[str] = []
        self.tmp, self.base_env = tmp, base_env

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def prepare(self) -> None:
        self.admin(f'CREATE DATABASE "{self.template}"')
        self.created.append(self.template)
        env = server_env(self.tmp / "pg-template", **self.base_env)
        env["DATABASE_URL"] = f"{PG}/{self.template}"
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f"migrate on PostgreSQL failed:\n{done.stdout}{done.stderr}")

    def fresh(self, label: str) -> str:
        name = f"{self.prefix}_{label}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return f"{PG}/{name}"

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            with contextlib.suppress(Exception):
                self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def flush_redis(db: int) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=db)
    try:
        client.flushdb()
    finally:
        client.close()


def measure_relay(
    tmp: Path,
    n: int,
    label: str,
    args: argparse.Namespace,
    limit: float,
    base_env: dict[str, str],
    postgres: Postgres | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fresh worker(s), database and simulator for one row; figures and checks."""
    workers = 2 if label == "redis2" else 1
    env = dict(base_env)
    database_url = None
    if label != "inmem":
        assert postgres is not None
        flush_redis(args.redis_db)
        database_url = postgres.fresh(f"{label}_n{n}")
        env.update(DATABASE_URL=database_url, REDIS_URL=f"redis://127.0.0.1:6379/{args.redis_db}")
    var_dir = Path(tempfile.mkdtemp(prefix=f"{label}-n{n}-", dir=tmp))
    sim_ctx = (
        run_simulator(tmp, args.tokens_per_second)
        if args.upstream == "loopback"
        else contextlib.nullcontext((None, None))
    )
    logs: list[dict[str, Any]] = []
    try:
        with sim_ctx as (sim_url, sim_process), contextlib.ExitStack() as stack:
            if sim_url:
                env.update(GEMINI_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=sim_url)
            servers = [
                stack.enter_context(
                    run_daphne(
                        tmp,
                        var_dir=var_dir,
                        what_if=args.what_if_names,
                        proxy_headers=True,
                        name=f"worker{w}",
                        **env,
                    )
                )
                for w in range(workers)
            ]
            try:
                create_user(servers[0], *USER)
                cookies = http_sign_in(servers[0].url, *USER, secure=True)
                samplers = [ProcessSampler(s.pid) for s in servers]
                sim_sampler = ProcessSampler(sim_process.pid) if sim_process else None
                with sim_sampler or contextlib.nullcontext():
                    run = asyncio.run(relay_run(servers, cookies, n, args, limit, samplers))
                saved = saved_answers(servers[0], database_url)
                if run["failures"]:
                    print(servers[0].tail(15), file=sys.stderr)
            finally:
                for w, server in enumerate(servers):
                    logs.append({"path": str(keep_log(server, label, n, w))})
        for entry in logs:
            entry.update(scan_log(Path(entry["path"])))
    finally:
        if postgres and database_url:
            with contextlib.suppress(Exception):
                postgres.drop(database_url)
    clients: list[Client] = run["clients"]
    run.update(
        streams=streams_of(clients),
        rounds=args.rounds,
        cpu=sum(s.cpu_seconds for s in samplers),
        idle_rss=sum(s.idle_rss for s in samplers),
        peak_rss=sum(s.peak_rss for s in samplers),
        delivered=sum(c.measured.text_deltas for c in clients),
    )
    checks = check_clients(clients, saved)
    tracebacks = sum(entry["tracebacks"] for entry in logs)
    names: Counter[str] = Counter()
    for entry in logs:
        names.update(dict(entry["exceptions"]))
    extra = {
        "workers": workers,
        "sender_deltas": sum(c.sending.text_deltas for c in clients if not c.same_socket),
        "connect_s": run["connect_seconds"],
        "connect_cpu_ms_per_conv": run["connect_cpu"] * 1000 / n,
        "failures": run["failures"][:5],
        "client_errors": Counter(c.error for c in clients if c.error).most_common(5),
        "log_tracebacks": tracebacks,
        "log_error_lines": sum(entry["error_lines"] for entry in logs),
        "log_over_capacity": sum(entry["over_capacity"] for entry in logs),
        "log_exceptions": names.most_common(6),
        "logs": [entry["path"] for entry in logs],
        "per_worker_cpu_s": [s.cpu_seconds for s in samplers],
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


BASE_COLUMNS = [
    ("n", "N", "d"),
    ("done", "answers", ""),
    ("first_p50_ms", "first p50 ms", ",.0f"),
    ("lag_p50_ms", "lag p50 ms", ",.0f"),
    ("lag_p99_ms", "lag p99 ms", ",.0f"),
    ("deltas_per_s", "deltas/s", ",.0f"),
    ("cpu_us_per_delta", "sim cpu us/delta", ",.0f"),
    ("client_cpu_share", "client cpu", ".2f"),
]
COLUMNS = [
    ("n", "N", "d"),
    ("done", "answers", ""),
    ("saved_completed", "saved", "d"),
    ("lost", "lost", "d"),
    ("doubled", "doubled", "d"),
    ("reordered", "reordered", "d"),
    ("no_start", "no start", "d"),
    ("mismatched", "text≠saved", "d"),
    ("cpu_us_per_delta", "cpu us/delta", ",.0f"),
    ("cpu_share", "cpu/core", ".2f"),
    ("added_first_p50_ms", "+first p50 ms", ",.0f"),
    ("added_lag_p50_ms", "+lag p50 ms", ",.0f"),
    ("added_lag_p99_ms", "+lag p99 ms", ",.0f"),
    ("lag_p99_ms_x", "lag p99 x base", "x"),
    ("deltas_per_s", "deltas/s", ",.0f"),
    ("rss_kib_per_conv", "rss KiB/conv", ",.0f"),
    ("log_tracebacks", "tracebacks", "d"),
    ("log_over_capacity", "over cap", "d"),
    ("load", "load", ".1f"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,100,500", help="comma-separated N")
    parser.add_argument(
        "--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}"
    )
    parser.add_argument("--tokens-per-second", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="messages per client, in a row")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which N start")
    parser.add_argument(
        "--upstream",
        choices=["loopback", "embedded"],
        default="loopback",
        help="loopback: a standalone simulator; embedded: the simulator inside each worker",
    )
    parser.add_argument("--timeout", type=float, default=90.0, help="per row, seconds")
    parser.add_argument("--budget", type=float, default=3600.0, help="whole script, seconds")
    parser.add_argument(
        "--stop-at-timeout",
        action="store_true",
        help="skip larger N of a configuration once one of its rows timed out",
    )
    parser.add_argument("--redis-db", type=int, default=12, help="Redis database index to use")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--profile", type=int, metavar="N", help="py-spy the server at N")
    parser.add_argument(
        "--what-if",
        metavar="PATCHES",
        help=f"patches applied in every server (bench-only): {', '.join(WHAT_IF)}",
    )
    args = parser.parse_args()
    args.profile_path = None
    args.what_if_names = [x.strip() for x in (args.what_if or "").split(",") if x.strip()]
    if args.profile:
        py_spy()
    if args.quick:
        args.clients, args.rounds, args.ramp = "10", 1, 0.2
        args.timeout = min(args.timeout, 30)
        args.budget = min(args.budget, 240)
    sizes = [int(x) for x in args.clients.split(",") if x.strip()]
    if args.profile:
        sizes = [args.profile]
    labels = [x.strip() for x in args.configs.split(",") if x.strip()]
    unknown = set(labels) - set(CONFIGS)
    if unknown:
        raise SystemExit(f"unknown --configs {sorted(unknown)}; known: {', '.join(CONFIGS)}")
    pace = 1.0 / args.tokens_per_second
    raise_fd_limit(2 * max(sizes))
    begun = time.monotonic()
    results: dict[str, Any] = {
        "tokens_per_second": args.tokens_per_second,
        "rounds": args.rounds,
        "ramp_s": args.ramp,
        "timeout_s": args.timeout,
        "upstream": args.upstream,
        "what_if": args.what_if_names,
        "baseline": [],
        "relay": {label: [] for label in labels},
        "skipped": [],
    }
    rows: dict[str, list[dict[str, Any]]] = {"baseline": [], **{m: [] for m in labels}}
    saturated: set[str] = set()
    print(
        f"relay benchmark: {args.tokens_per_second:g} deltas/s per stream, {args.rounds} "
        f"message(s) per client, starts spread over {args.ramp:g}s, DEBUG off, upstream "
        f"{args.upstream}; configurations: {', '.join(labels)}"
    )
    with workdir("bench-relay-") as tmp:
        base_env = production_env(tmp)
        base_env["SIMULATOR_TOKENS_PER_SECOND"] = str(args.tokens_per_second)
        # Production's crash recovery (chatapp.recovery), not the tests' "off".
        base_env["CHAT_RECOVERY_INTERVAL_SECONDS"] = "15"
        collect_static(server_env(tmp / "static-env", **base_env))
        where = subprocess.run(
            [sys.executable, "-c", "import chatapp; print(chatapp.__file__)"],
            cwd=ROOT,
            env=server_env(tmp, **base_env),
            capture_output=True,
            text=True,
        ).stdout.strip()
        results["chatapp"] = where
        print(f"servers import {where}")
        postgres = None
        if set(labels) & {"redis1", "redis2"}:
            postgres = Postgres(tmp, base_env)
        try:
            if postgres:
                postgres.prepare()
            for n in sizes:
                remaining = args.budget - (time.monotonic() - begun)
                if remaining < 20 or len(saturated) == len(labels):
                    why = "time budget spent" if remaining < 20 else "a smaller N timed out"
                    print(f"N={n}: skipped ({why})")
                    results["skipped"].append({"n": n, "why": why})
                    continue
                base_run = measure_baseline(tmp, n, args)
                leads = Counter(s.lead for s in base_run["streams"] if s.arrivals)
                lead = leads.most_common(1)[0][0] if leads else 0
                base = figures(base_run, n, pace, lead)
                base["lead"] = lead
                rows["baseline"].append(base)
                results["baseline"].append(base)
                texts = baseline_texts(base_run)
                print(
                    f"N={n}: baseline {base['answers']}/{base['expected']} answers in "
                    f"{base['span_s']:.1f}s"
                )
                for label in labels:
                    if label in saturated:
                        continue
                    remaining = args.budget - (time.monotonic() - begun)
                    if remaining < 20:
                        print(f"N={n}: {label} skipped (time budget spent)")
                        results["skipped"].append({"n": n, "relay": label, "why": "budget"})
                        continue
                    limit = min(args.timeout, remaining - 10)
                    profile_path = RESULTS / f"relay-profile-n{n}-{label}.txt"
                    args.profile_path = profile_path if args.profile else None
                    load = os.getloadavg()[0]
                    run, checks = measure_relay(tmp, n, label, args, limit, base_env, postgres)
                    fig = figures(run, n, pace, lead)
                    checks["differs_from_baseline"] = sum(
                        1
                        for s in run["streams"]
                        if s.done is not None and texts.get((s.client, s.round), s.text) != s.text
                    )
                    row = {**fig, **checks, **compare(fig, base), "load": load}
                    row["load_after"] = os.getloadavg()[0]
                    rows[label].append(row)
                    results["relay"][label].append(row)
                    note = ""
                    if run["timed_out"]:
                        note = f"; {run['timed_out']} client(s) not done within {limit:.0f}s"
                        if args.stop_at_timeout:
                            saturated.add(label)
                    print(
                        f"N={n}: {label} {fig['answers']}/{fig['expected']} answers in "
                        f"{fig['span_s']:.1f}s{note}; lost {checks['lost']}, tracebacks "
                        f"{checks['log_tracebacks']} (load {load:.1f})",
                        flush=True,
                    )
                    if args.profile and profile_path.exists():
                        results.setdefault("profile", {})[label] = hot_spots(profile_path)
                    save("relay-partial", results)
        finally:
            if postgres:
                postgres.drop_all()
    print()
    print("baseline: the same streams read straight from the standalone simulator (httpx)")
    print(table(rows["baseline"], BASE_COLUMNS))
    for label in labels:
        print()
        print(f"{label}: {DESCRIPTIONS[label]}")
        print(table(rows[label], COLUMNS))
        for row in rows[label]:
            if row["log_exceptions"] or row["client_errors"] or row["failures"]:
                print(
                    f"  N={row['n']}: server log exceptions {row['log_exceptions']}; "
                    f"client errors {row['client_errors']}; failures {row['failures'][:2]}"
                )
    for skipped in results["skipped"]:
        print(f"N={skipped['n']} not measured: {skipped['why']}")
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
    with contextlib.suppress(OSError):
        (RESULTS / "relay-partial.json").unlink()
    print(f"\nsaved {out}; server logs in {LOGS}")


DESCRIPTIONS = {
    "inmem": "one worker, in-memory channel layer, SQLite",
    "redis1": "one worker, Redis channel layer, PostgreSQL",
    "redis2": "two workers, Redis + PostgreSQL, each client measured on the other worker",
}


if __name__ == "__main__":
    main()
