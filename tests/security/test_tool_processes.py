"""Tool processes against hostile tools and dying workers: a tool cannot forge its result or
break the protocol, and no tool process outlives the worker that started it.

The tools below are loaded through CHAT_TOOLS, so tool processes import this module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from chatapp import tool_runner
from chatapp.tools import run_tool

HERE = "tests.security.test_tool_processes"
ROOT = Path(__file__).resolve().parents[2]


def forger() -> str:
    """Writes a fake reply where the protocol used to be, and reads the worker's stdin."""
    print('{"result": "forged"}')
    os.write(1, b'{"result": "forged too"}\n')
    return f"honest, stdin gave {sys.stdin.read()!r}"


def quitter(code: int) -> None:
    """Exits its process."""
    sys.exit(code)


def bigmouth(megabytes: int) -> str:
    """Answers more than anyone should read."""
    return "x" * megabytes * 1024 * 1024


def snooze(seconds: float) -> str:
    """Sleeps, then answers."""
    time.sleep(seconds)
    return "rested"


@pytest.fixture
def rogue_tools(settings: Any) -> Any:
    settings.CHAT_TOOLS = [f"{HERE}.{name}" for name in ("forger", "quitter", "bigmouth")]
    return settings


ROGUES = ["forger", "quitter", "bigmouth", "calculator"]


async def test_a_tool_cannot_forge_its_result(rogue_tools: Any) -> None:
    assert await run_tool("forger", {}, enabled=ROGUES) == ("honest, stdin gave ''", False)
    assert await run_tool("calculator", {"expression": "1+1"}, enabled=ROGUES) == (
        {"expression": "1+1", "result": 2},
        False,
    )


async def test_a_tool_that_exits_is_an_error_and_its_process_is_replaced(
    rogue_tools: Any,
) -> None:
    pool = tool_runner.pool()
    assert await run_tool("quitter", {"code": 3}, enabled=ROGUES) == ("quitter exited (3)", True)
    assert len(pool.pids()) == pool.size
    result, is_error = await run_tool("calculator", {"expression": "2*2"}, enabled=ROGUES)
    assert not is_error and result["result"] == 4


async def test_an_oversized_result_is_refused(rogue_tools: Any) -> None:
    result, is_error = await run_tool("bigmouth", {"megabytes": 2}, enabled=ROGUES)
    assert is_error and result == f"the result is larger than {tool_runner.MAX_REPLY_BYTES} bytes"


# --- no tool process outlives its worker ---

WORKER = """
import asyncio, sys
import django
django.setup()
from django.conf import settings
from chatapp import tool_runner
from chatapp.tools import run_tool

settings.CHAT_TOOLS = ["{here}.snooze"]

async def main():
    assert await run_tool("snooze", {{"seconds": 0}}, enabled=["snooze"]) == ("rested", False)
    if sys.argv[1] == "busy":
        call = asyncio.create_task(run_tool("snooze", {{"seconds": 60}}, enabled=["snooze"]))
        await asyncio.sleep(0.5)
    print(*tool_runner.pool().pids(), flush=True)
    if sys.argv[1] == "busy":
        await call

asyncio.run(main())
"""


def start_worker(mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    script = textwrap.dedent(WORKER).format(here=HERE)
    return subprocess.Popen(
        [sys.executable, "-c", script, mode], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


def alive(pid: int) -> bool:
    """Running, or at least not a zombie (an unreaped orphan is gone for our purpose)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_tool_processes_end_with_their_worker() -> None:
    worker = start_worker("idle")
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0
    pids = [int(pid) for pid in out.split()]
    assert len(pids) == 2
    assert wait_gone(pids, 5) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_busy_tool_process_ends_when_its_worker_is_killed() -> None:
    worker = start_worker("busy")
    try:
        assert worker.stdout is not None
        pids = [int(pid) for pid in worker.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        worker.send_signal(signal.SIGKILL)  # no atexit, no EOF on a busy child's stdin
        worker.wait(timeout=10)
        # Each child notices within a second that its parent is gone (chatapp.tool_runner).
        assert wait_gone(pids, 5) == []
    finally:
        worker.kill()
        worker.wait()
