"""Live Daphne servers in subprocesses, each with its own database under its VAR_DIR.

Without GEMINI_API_KEY the in-process offline simulator answers, paced by
SIMULATOR_TOKENS_PER_SECOND so a test can watch an answer stream. Servers are reached only
through HTTP and websockets, and their database through `manage.py`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .environ import clean_environ, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKENS_PER_SECOND = 8
DAPHNE = ("-m", "daphne")
# Loopback only: never through a proxy from the developer's shell.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def manage(self, *args: str, timeout: float = 120) -> str:
        """`python manage.py ...` against this server's database."""
        return manage(self.env, *args, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 150) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


# The servers running now, whose logs a failing test shows (see browser.py's hook).
running: list[LiveServer] = []


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`python manage.py ...` in `env` (a server's database)."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def server_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = clean_environ()
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        VAR_DIR=str(var_dir),
        DEBUG="true",
        SIMULATOR_TOKENS_PER_SECOND=str(TOKENS_PER_SECOND),
        CHAT_RECOVERY_INTERVAL_SECONDS="0",
        # Titles stay the first message (tests find conversations by it) unless a test
        # turns the title model on.
        CHAT_TITLE_MODEL="",
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(overrides)
    return env


def new_server(var_dir: Path, env: dict[str, str], log_name: str | None = None) -> LiveServer:
    """A server on a free port, not started yet; its log goes to `var_dir`."""
    port = free_port()
    log_path = var_dir / (log_name or f"daphne-{port}.log")
    return LiveServer(url=f"http://127.0.0.1:{port}", env=env, log_path=log_path)


def start_daphne(
    server: LiveServer, *, python: Sequence[str] = DAPHNE, options: Sequence[str] = ()
) -> None:
    """Start Daphne for `server` (its port, environment and log) in a subprocess.

    `python`: the interpreter's arguments that run Daphne (a boot script, for a benchmark);
    `options`: more Daphne options, e.g. `--proxy-headers` as the image starts it.
    """
    command = [sys.executable, *python, "-b", "127.0.0.1", "-p", str(server.port), *options]
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            [*command, "chatapp.asgi:application"],
            cwd=ROOT,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_up(server: LiveServer, timeout: float = 30) -> None:
    assert server.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"daphne exited with code {server.process.returncode}:\n{server.log()}"
            )
        with suppress(OSError, urllib.error.URLError):
            with _OPENER.open(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not answer on {server.url} within {timeout}s:\n{server.log()}")


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, wait, then SIGKILL if it hangs."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def kill(server: LiveServer) -> None:
    """SIGKILL the server's process: no cleanup, no graceful shutdown."""
    assert server.process is not None
    server.process.kill()
    server.process.wait(timeout=10)


@contextmanager
def serving(
    server: LiveServer,
    *,
    timeout: float = 30,
    python: Sequence[str] = DAPHNE,
    options: Sequence[str] = (),
) -> Iterator[LiveServer]:
    """Start `server` (its database ready), wait until it answers, stop it afterwards."""
    start_daphne(server, python=python, options=options)
    assert server.process is not None
    running.append(server)
    try:
        wait_until_up(server, timeout)
        yield server
    finally:
        running.remove(server)
        died = server.process.poll() is not None
        stop_process(server.process)
        if died:
            print(f"\n--- daphne on {server.url} died during the tests ---\n{server.log()}")


@contextmanager
def run_server(var_dir: Path, **overrides: str) -> Iterator[LiveServer]:
    """Migrate a fresh database in `var_dir`, serve it with Daphne, stop it afterwards."""
    var_dir.mkdir(parents=True, exist_ok=True)
    server = new_server(var_dir, server_env(var_dir, **overrides), "daphne.log")
    server.manage("migrate", "--noinput")
    with serving(server) as live:
        yield live
