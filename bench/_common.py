"""Helpers shared by the benchmarks: a live Daphne with "what if" patches, sampling a
process's CPU and memory, percentiles, tables, the JSON results and seeded conversations.

Servers, the simulator, signing in and websockets come from the tests' harness
(tests/harness): each server gets its own VAR_DIR with a migrated SQLite database and no
GEMINI_API_KEY (the in-process simulator answers) unless a benchmark says otherwise.
Everything talks to 127.0.0.1 only; HTTP clients ignore proxy variables from the shell.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
# The benchmarks start servers the way the tests do, with the tests' harness.
sys.path.insert(0, str(ROOT))
from tests.harness import servers  # noqa: E402
from tests.harness.servers import LiveServer, new_server, serving  # noqa: E402
from tests.harness.simulator import run_simulator as run_standalone_simulator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
USER = ("bench", "Bench-Horse-42-staple")


def server_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The harness's server environment, with answers at once unless a benchmark says."""
    return servers.server_env(var_dir, **{"SIMULATOR_TOKENS_PER_SECOND": "0", **overrides})


def production_env(workdir: Path) -> dict[str, str]:
    """What a server needs to start with DEBUG off, as the image runs it (Dockerfile): a
    secret key, the allowed host, and static files collected (see `collect_static`) into a
    STATIC_ROOT outside the data directory. Cookies stay Secure and plain HTTP is still
    redirected: clients say they came through the TLS proxy (`X-Forwarded-Proto: https`,
    see `sign_in(secure=True)`), as behind the production load balancer."""
    import secrets

    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": str(workdir / "staticfiles"),
        # Every client signs in as one user: the per-user cap on tabs would refuse them.
        "CHAT_MAX_SOCKETS_PER_USER": "100000",
    }


def collect_static(env: dict[str, str]) -> None:
    """`manage.py collectstatic` into env's STATIC_ROOT: with DEBUG off WhiteNoise's manifest
    storage refuses to render a page whose static files were not collected."""
    manage(env, "collectstatic", "--noinput", "-v", "0")


_template_db: Path | None = None


def migrated_db(workdir: Path) -> Path:
    """A migrated, empty SQLite file; migrated once per process and copied afterwards."""
    global _template_db
    if _template_db is None or not _template_db.exists():
        var_dir = workdir / "template"
        var_dir.mkdir(parents=True, exist_ok=True)
        manage(server_env(var_dir), "migrate", "--noinput", "-v", "0")
        _template_db = var_dir / "db.sqlite3"
    return _template_db


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """`python manage.py ...` in `env` (the server's database)."""
    return servers.manage(env, *args, timeout=timeout)


def django_shell(env: dict[str, str], code: str, timeout: float = 300) -> Any:
    """Run `code` in `manage.py shell` with bench/ importable; it prints one JSON value last."""
    prelude = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
    out = manage(env, "shell", "-c", prelude + code, timeout=timeout)
    lines = [line for line in out.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


# --- "what if": patches applied inside the benchmarked server only, never in chatapp ---
#
# Each one models a change proposed for chatapp, so its effect can be measured before anyone
# writes it: `bench/relay.py --what-if no-db-hop,lazy-expiry`.


def _no_db_hop() -> None:
    """Channels runs `close_old_connections` in the DB thread before *every* consumer handler,
    including `chat.frame` (one per delta per socket). Skip it for that DB-free handler."""
    from channels.consumer import AsyncConsumer

    original = AsyncConsumer.dispatch

    async def dispatch(self: Any, message: dict[str, Any]) -> None:
        if message.get("type") == "chat.frame":
            await self.chat_frame(message)
            return
        await original(self, message)

    AsyncConsumer.dispatch = dispatch  # type: ignore[method-assign]


def _lazy_expiry() -> None:
    """InMemoryChannelLayer scans every channel and group on each group_send and receive;
    do that scan at most once a second."""
    from channels.layers import InMemoryChannelLayer

    original = InMemoryChannelLayer._clean_expired

    def clean(self: Any) -> None:
        moment = time.monotonic()
        if moment - getattr(self, "_bench_cleaned", 0.0) >= 1.0:
            self._bench_cleaned = moment
            original(self)

    InMemoryChannelLayer._clean_expired = clean  # type: ignore[method-assign]


def _sqlite_wal() -> None:
    """SQLite in WAL mode with synchronous=NORMAL (fewer fsyncs per commit)."""
    from django.db.backends.signals import connection_created

    def tune(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")

    connection_created.connect(tune, weak=False)


def _persistent_db() -> None:
    """CONN_MAX_AGE=None: keep the DB connection instead of reopening it after each hop."""
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = None


def _big_pool() -> None:
    """httpx's default pool (100 connections) also bounds the relay's upstream client: allow
    1,000 concurrent upstream streams per worker instead."""
    import httpx

    original = httpx.AsyncClient.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("limits", httpx.Limits(max_connections=1000))
        original(self, *args, **kwargs)

    httpx.AsyncClient.__init__ = init  # type: ignore[method-assign]


def _no_form_parse() -> None:
    """Twisted parses every multipart POST body into `request.args` (stdlib email parser, in
    the reactor thread) before Daphne reads the body; Daphne never uses `args`. Twisted's
    Request takes `parsePOSTFormSubmission=False` to skip it."""
    from daphne.http_protocol import WebRequest

    original = WebRequest.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    WebRequest.__init__ = init  # type: ignore[method-assign]


def _trace_memory() -> None:
    """Diagnostics, not a fix: tracemalloc in the server; when Python-level memory first
    passes 64 MiB above its level at start, log the 8 biggest allocation sites."""
    import tracemalloc

    tracemalloc.start(12)
    base = tracemalloc.get_traced_memory()[0]

    def watch() -> None:
        while True:
            time.sleep(0.005)
            current = tracemalloc.get_traced_memory()[0]
            if current - base > 64 * 2**20:
                snapshot = tracemalloc.take_snapshot()
                print(f"bench-tracemalloc: {current / 2**20:.0f} MiB traced", flush=True)
                for stat in snapshot.statistics("traceback")[:8]:
                    print(f"  {stat.size / 2**20:.1f} MiB in {stat.count} blocks", flush=True)
                    for line in stat.traceback.format()[-12:]:
                        print(f"    {line}", flush=True)
                return

    threading.Thread(target=watch, daemon=True).start()


def _count_sql() -> None:
    """Diagnostics, not a fix: count SQL statements (by verb and table) and thread hops
    (sync_to_async calls); printed to the server log as `bench-sql: {...}` at exit."""
    import atexit
    import json as json_module
    import re

    from asgiref.sync import SyncToAsync
    from django.db.backends.utils import CursorWrapper

    counts: dict[str, int] = {}
    pattern = re.compile(r'^\s*(\w+).*?(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.S | re.I)

    def note(sql: str) -> None:
        match = pattern.match(sql)
        key = f"{match.group(1).upper()} {match.group(2)}" if match else sql.split()[0].upper()
        counts[key] = counts.get(key, 0) + 1

    for name in ("execute", "executemany"):
        original = getattr(CursorWrapper, name)

        def wrapper(self: Any, sql: str, *args: Any, _original: Any = original) -> Any:
            note(sql)
            return _original(self, sql, *args)

        setattr(CursorWrapper, name, wrapper)
    call = SyncToAsync.__call__

    async def hop(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.func, "__qualname__", "?")
        counts[f"hop {name}"] = counts.get(f"hop {name}", 0) + 1
        return await call(self, *args, **kwargs)

    SyncToAsync.__call__ = hop  # type: ignore[method-assign]
    atexit.register(lambda: print("bench-sql: " + json_module.dumps(counts), flush=True))


WHAT_IF = {
    "no-db-hop": _no_db_hop,
    "lazy-expiry": _lazy_expiry,
    "sqlite-wal": _sqlite_wal,
    "persistent-db": _persistent_db,
    "big-pool": _big_pool,
    "no-form-parse": _no_form_parse,
    "trace-memory": _trace_memory,
    "count-sql": _count_sql,
}

_BOOT = """
import sys
sys.path.insert(0, {bench!r})
import _common
_common.apply_what_if(sys.argv[1].split(","))
sys.argv = ["daphne", *sys.argv[2:]]
from daphne.cli import CommandLineInterface
CommandLineInterface.entrypoint()
"""


def apply_what_if(names: Sequence[str]) -> None:
    import django

    django.setup()
    for name in names:
        WHAT_IF[name]()
    print(f"what-if patches applied: {', '.join(names)}", flush=True)


@contextmanager
def run_daphne(
    workdir: Path,
    *,
    var_dir: Path | None = None,
    what_if: Sequence[str] = (),
    proxy_headers: bool = False,
    name: str = "daphne",
    **overrides: str,
) -> Iterator[LiveServer]:
    """Serve a fresh migrated database with one Daphne process; stop it afterwards.

    `var_dir` reuses the database and files of an earlier server (a restart); `what_if`
    names patches of WHAT_IF applied in the server before it starts; `overrides` set
    environment variables (SIMULATOR_TOKENS_PER_SECOND, GEMINI_API_KEY, ...);
    `proxy_headers` starts Daphne with `--proxy-headers` as the image does.
    """
    unknown = set(what_if) - set(WHAT_IF)
    if unknown:
        raise ValueError(f"unknown --what-if {sorted(unknown)}; known: {sorted(WHAT_IF)}")
    if var_dir is None:
        var_dir = Path(tempfile.mkdtemp(prefix="daphne-", dir=workdir))
    if "DATABASE_URL" not in overrides and not (var_dir / "db.sqlite3").exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(migrated_db(workdir), var_dir / "db.sqlite3")
    server = new_server(var_dir, server_env(var_dir, **overrides))
    server.log_path = var_dir / f"{name}-{server.port}.log"
    python = servers.DAPHNE
    if what_if:
        python = ("-c", _BOOT.format(bench=str(Path(__file__).parent)), ",".join(what_if))
    options = ("--proxy-headers",) if proxy_headers else ()
    with serving(server, timeout=60, python=python, options=options) as live:
        yield live


@contextmanager
def run_simulator(
    workdir: Path, tokens_per_second: float | None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The standalone simulator on a free port, quiet: its URL and process."""
    args = ["--log-level", "warning"]
    if tokens_per_second:
        args += ["--tokens-per-second", str(tokens_per_second)]
    with run_standalone_simulator(workdir, *args) as simulator:
        yield simulator.url, simulator.process


# --- measuring a process ---


def reset_peak_rss(pid: int) -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) of `pid` to its current RSS."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def kernel_peak_rss(pid: int) -> int | None:
    """VmHWM of `pid` in bytes: the exact peak RSS since start or the last reset."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class ProcessSampler:
    """CPU seconds and peak RSS of one process over a window.

    The peak is the kernel's high-water mark (reset when the window opens) where /proc
    allows it, else the highest of psutil samples taken every `interval` seconds.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.idle_rss = self.peak_rss = self.process.memory_info().rss
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def _cpu(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def __enter__(self) -> ProcessSampler:
        self._hwm = reset_peak_rss(self.process.pid)
        self.idle_rss = self.peak_rss = self.process.memory_info().rss
        self._cpu0, self._wall0 = self._cpu(), time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            self.cpu_seconds = self._cpu() - self._cpu0
        if self._hwm:
            self.peak_rss = max(self.peak_rss, kernel_peak_rss(self.process.pid) or 0)
        self.wall_seconds = time.perf_counter() - self._wall0

    @property
    def rss_growth(self) -> int:
        return self.peak_rss - self.idle_rss

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time: 1.0 is one core busy all the time."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


# --- figures ---


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or not base or math.isnan(value) or math.isnan(base):
        return None
    return value / base


def fmt(value: Any, spec: str = ",.1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return value
    return format(value, spec)


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """A plain-text table; `columns` are (key, header, format spec or 'x' for a ratio)."""
    cells = [[header for _, header, _ in columns]]
    for row in rows:
        line = []
        for key, _, spec in columns:
            value = row.get(key)
            line.append(fmt_ratio(value) if spec == "x" else fmt(value, spec))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = []
    for n, line in enumerate(cells):
        pairs = zip(line, widths, strict=True)
        out.append("  ".join(c.rjust(w) if n else c.ljust(w) for c, w in pairs))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "changed_files": len(_git("status", "--porcelain", "--untracked-files=no").splitlines()),
        "load_average": os.getloadavg(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **data}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A temporary directory for databases and logs, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def mib(value: float) -> float:
    return value / 2**20


# --- seeding conversations (runs inside Django: in-process or via `LiveServer.shell`) ---

_CODE = "```python\ndef answer(n: int) -> str:\n    return f'part {n}'\n```"


def answer_markdown(i: int) -> str:
    """About 1 KB of the Markdown a chat answer has: a heading, bullets, inline code, and a
    fenced code block in every fourth answer."""
    parts = [
        "*Offline simulator — not a real Gemini answer.*",
        f"You said: “Question number {i} about the relay, the history and the sidebar.”",
        f"## Answer {i}",
        f"Here is a simulated reply about **question {i}**. A real model would reason about it; "
        "this one only proves the round trip, with `inline code`, *emphasis* and **bold**.",
        "- the request reached the simulator intact\n"
        "- the answer is deterministic: the same request gives the same text\n"
        "- a [link](https://example.com/docs) and a second bullet with more words in it",
        "A closing paragraph that makes the answer about as long as a typical short reply, "
        "so that rendering one thousand of them costs what a long conversation costs.",
    ]
    if i % 4 == 0:
        parts.insert(4, _CODE)
    return "\n\n".join(parts)


def seed_conversations(username: str, sizes: Sequence[int], filler: int = 0) -> dict[str, Any]:
    """For `username` (created if missing): one linear conversation per size in `sizes`
    (that many completed turns), then `filler` conversations of two turns each.

    Returns {"user": pk, "conversations": {size: id}}. Uses bulk inserts with explicit ids.
    """
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from chatapp.models import Conversation, Turn

    user, _ = get_user_model().objects.get_or_create(username=username)
    start = timezone.now() - timedelta(days=30)
    ids: dict[str, int] = {}
    plan = [(size, f"A conversation of {size:,} turns") for size in sizes]
    plan += [(2, f"Filler conversation {n + 1}") for n in range(filler)]
    with transaction.atomic():
        next_turn = (Turn.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        conversations = Conversation.objects.bulk_create(
            [
                Conversation(
                    owner=user,
                    title=title,
                    model="gemini-3.5-flash",
                    created=start + timedelta(minutes=n),
                    updated=start + timedelta(minutes=n),
                )
                for n, (_, title) in enumerate(plan)
            ]
        )
        turns: list[Turn] = []
        for conversation, (size, _) in zip(conversations, plan, strict=True):
            for i in range(size):
                text = answer_markdown(i)
                turns.append(
                    Turn(
                        pk=next_turn,
                        conversation_id=conversation.pk,
                        parent_id=next_turn - 1 if i else None,
                        user_input=[{"type": "text", "text": f"Question number {i}"}],
                        user_text=f"Question number {i} about the relay, the history and more.",
                        model="gemini-3.5-flash",
                        interaction_id=f"v1_bench{next_turn}",
                        steps=[
                            {"type": "thought", "signature": "c2lnbmF0dXJl" * 16},
                            {"type": "model_output", "content": [{"type": "text", "text": text}]},
                        ],
                        answer_text=text,
                        status=Turn.Status.COMPLETED,
                        usage={
                            "total_input_tokens": 40,
                            "total_output_tokens": 250,
                            "total_tokens": 290,
                        },
                        created=conversation.created + timedelta(seconds=i),
                        finished=conversation.created + timedelta(seconds=i + 1),
                    )
                )
                next_turn += 1
            conversation.current_turn_id = next_turn - 1 if size else None
            if size in sizes and str(size) not in ids:
                ids[str(size)] = conversation.pk
        Turn.objects.bulk_create(turns, batch_size=500)
        Conversation.objects.bulk_update(conversations, ["current_turn"], batch_size=500)
    return {"user": user.pk, "conversations": ids}
