"""Tool calls in separate processes, each call under CPU-time, memory and wall-clock limits.

The model picks a tool's arguments, so a hostile prompt picks how much work a call does. In
the worker's own process such a call stalls every socket: the calculator's
``round(1, -10**7)`` makes CPython build 10**N in one C call that never yields (10.7 s with the
event loop frozen), and a thread running it can neither be interrupted nor killed.

So every call runs in a child process, ``python -m chatapp.tool_process``, that imports the tool
by dotted path and speaks one JSON line per message over its stdin and stdout:

    parent → child   {"path": "chatapp.tool_builtins.calculator", "arguments": {...},
                      "cpu_seconds": 10, "memory_mb": 512}
    child → parent   {"ready": true}                       once, after start-up
                     {"result": ...} | {"error": "...", "retire": bool}

The child validates the arguments (pydantic, from the type hints), sets ``RLIMIT_CPU`` and
``RLIMIT_AS`` for this call (the kernel ends it with SIGXCPU, an allocation beyond the budget
raises MemoryError), calls the tool and answers. The parent waits on the pipe without blocking
the event loop and SIGKILLs a child that outlives the wall-clock limit. Whatever happens, the
caller gets ``(result, is_error)``, never an exception.

A few children are started before they are needed (``TOOL_PROCESSES``; a cold start takes
0.2-0.4 s) and reused; a killed or retired one is replaced at once. Django's apps are set up in
a child only when a tool needs them (its module imports models, say).
None outlives its worker: they are killed at exit, an idle child ends on EOF of its stdin, and
a busy one notices within a second that its parent is gone (``chatapp.tool_process``).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# The largest reply a tool may send back (the model would not read more anyway).
MAX_REPLY_BYTES = 1024 * 1024
# A cold child imports the tool's module and sets up Django before it says it is ready.
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    wall_seconds: float
    cpu_seconds: int
    memory_mb: int


# --- the parent: a pool of children ---


class _Gone(Exception):
    """The child closed its end of the pipe (it exited, was killed or crashed)."""


class _Child:
    """One tool process and the unread part of its output."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            # The tool's module is imported from the same places as in the worker.
            "PYTHONPATH": os.pathsep.join(path or os.getcwd() for path in sys.path),
            "CHAT_TOOL_PARENT": str(os.getpid()),
            # glibc reserves 64 MB of address space per arena and thread: keep RLIMIT_AS
            # meaningful for tools that start threads.
            "MALLOC_ARENA_MAX": "2",
        }
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "chatapp.tool_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            # Out of the terminal's process group: Ctrl-C on `make run` is for the worker.
            start_new_session=True,
        )
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.stdin_fd = self.popen.stdin.fileno()
        self.stdout_fd = self.popen.stdout.fileno()
        os.set_blocking(self.stdin_fd, False)
        os.set_blocking(self.stdout_fd, False)
        self.buffer = bytearray()
        self.ready = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    async def receive(self) -> dict[str, Any]:
        """The next JSON line (_Gone on EOF)."""
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_REPLY_BYTES:
                raise ValueError("the reply is too large")
            await _wait_fd(self.stdout_fd, readable=True)
            try:
                chunk = os.read(self.stdout_fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise _Gone
            self.buffer += chunk
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        message = json.loads(line)  # ValueError if it is not JSON: the call ends with an error
        if not isinstance(message, dict):
            raise ValueError(f"not a message: {line[:100]!r}")
        return message

    def poll_ready(self) -> bool:
        """Whether the child has said it is ready, without waiting for it."""
        if not self.ready and b"\n" not in self.buffer:
            try:
                self.buffer += os.read(self.stdout_fd, 65536)
            except (BlockingIOError, OSError):
                pass
        if not self.ready and (end := self.buffer.find(b"\n")) >= 0:
            try:
                self.ready = json.loads(bytes(self.buffer[:end])).get("ready") is True
            except ValueError:
                return False  # the call that takes this child finds out what is wrong
            if self.ready:
                del self.buffer[: end + 1]
        return self.ready

    async def send(self, line: bytes) -> None:
        data = memoryview(line)
        while data:
            try:
                data = data[os.write(self.stdin_fd, data) :]
            except BlockingIOError:
                await _wait_fd(self.stdin_fd, readable=False)
            except (BrokenPipeError, ConnectionResetError):
                raise _Gone from None

    async def exit_status(self) -> int | None:
        """The exit status of a child that closed its output (it may still be exiting)."""
        for _ in range(200):
            if (status := self.popen.poll()) is not None:
                return status
            await asyncio.sleep(0.005)
        return None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None:
                pipe.close()


async def _wait_fd(fd: int, *, readable: bool) -> None:
    """Wait until `fd` is readable (or writable) in whichever loop runs: a child outlives loops."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    add, remove = (
        (loop.add_reader, loop.remove_reader) if readable else (loop.add_writer, loop.remove_writer)
    )
    add(fd, wake)
    try:
        await ready
    finally:
        remove(fd)


class ToolPool:
    """Up to `size` children; each runs one call at a time, a call waits for a free one.

    Not bound to an event loop (tests run one loop per test): children are plain processes,
    their pipes are watched by the loop of the call that uses them.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._idle: collections.deque[_Child] = collections.deque()
        self._busy: set[_Child] = set()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the children now, so the first calls find them ready."""
        with self._lock:
            while not self._closed and len(self._idle) + len(self._busy) < self.size:
                if not self._spawn():
                    break

    def _spawn(self) -> bool:
        """Start one more idle child (the lock is held); False if the system refuses."""
        try:
            self._idle.append(_Child())
        except OSError as exc:  # out of processes or file descriptors: the next call retries
            log.error("cannot start a tool process: %r", exc)
            return False
        return True

    async def run(self, name: str, path: str, arguments: Any, limits: Limits) -> tuple[Any, bool]:
        """Call tool `name` (the function at `path`) in a child: ``(result, is_error)``.

        Never raises, except CancelledError (the child is then killed and replaced).
        """
        request = {
            "path": path,
            "arguments": arguments,
            "cpu_seconds": limits.cpu_seconds,
            "memory_mb": limits.memory_mb,
        }
        try:
            line = json.dumps(request, allow_nan=False).encode() + b"\n"
        except (TypeError, ValueError) as exc:
            return f"invalid arguments for {name}: {exc}", True
        try:
            child = await self._acquire()
        except _Gone:
            return f"{name} could not start (see the worker's log)", True
        keep = False
        try:
            async with asyncio.timeout(limits.wall_seconds):
                await child.send(line)
                reply = await child.receive()
            keep = not reply.get("retire")
            if "error" in reply:
                return str(reply["error"]), True
            return reply.get("result"), False
        except TimeoutError:
            return f"{name} timed out after {limits.wall_seconds:g} s", True
        except _Gone:
            return f"{name} {await self._describe_death(child, limits)}", True
        except ValueError:
            return f"{name} broke the tool protocol", True
        finally:
            self._release(child, keep)

    async def _acquire(self) -> _Child:
        self.start()  # replaces children that could not be replaced when they ended
        _reaper.reap()
        while True:
            if self._closed or not (self._idle or self._busy):
                raise _Gone("the pool is closed or cannot start a process")
            with self._lock:
                # A warm child first: a cold one needs about a second to start.
                child = next((c for c in self._idle if c.poll_ready()), None)
                if child is None and self._idle:
                    child = self._idle[0]
                if child is not None:
                    self._idle.remove(child)
                    self._busy.add(child)
            if child is not None:
                break
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        if not child.ready:
            try:
                async with asyncio.timeout(START_TIMEOUT_SECONDS):
                    hello = await child.receive()
                if not hello.get("ready"):
                    raise _Gone(f"unexpected first message {hello!r}")
            except (TimeoutError, _Gone, ValueError) as exc:
                log.error("tool process %s did not start: %r", child.pid, exc)
                self._release(child, keep=False)
                raise _Gone from exc
            except BaseException:
                self._release(child, keep=False)
                raise
            child.ready = True
        return child

    def _release(self, child: _Child, keep: bool) -> None:
        with self._lock:
            self._busy.discard(child)
            if keep and not self._closed and child.popen.poll() is None:
                self._idle.append(child)
            else:
                # Killed, retired, timed out or cancelled mid-call (Stop): never reuse it.
                child.kill()
                _reaper.add(child)
                if not self._closed:
                    self._spawn()
            waiter = self._waiters.popleft() if self._waiters else None
        if waiter is not None and not waiter.done():
            waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    async def _describe_death(self, child: _Child, limits: Limits) -> str:
        status = await child.exit_status()
        if status == -signal.SIGXCPU:
            return f"used more than {limits.cpu_seconds} s of CPU time"
        if status is None:
            return "broke the tool protocol"
        if status < 0:
            try:
                return f"was killed ({signal.Signals(-status).name})"
            except ValueError:
                return f"was killed (signal {-status})"
        return f"ended unexpectedly (exit status {status})"

    def pids(self) -> list[int]:
        with self._lock:
            return [child.pid for child in [*self._idle, *self._busy]]

    def close(self) -> None:
        """Kill every child (at exit, or when a test wants a fresh pool)."""
        with self._lock:
            self._closed = True
            children = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for child in children:
            child.kill()
        for child in children:
            try:
                child.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("tool process %s did not exit", child.pid)
        _reaper.reap()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Reaper:
    """Collects killed children without waiting for them (no zombies, no blocking)."""

    def __init__(self) -> None:
        self._dying: list[_Child] = []
        self._lock = threading.Lock()

    def add(self, child: _Child) -> None:
        with self._lock:
            self._dying.append(child)
        self.reap()

    def reap(self) -> None:
        with self._lock:
            self._dying = [child for child in self._dying if child.popen.poll() is None]


_reaper = _Reaper()
_pool: ToolPool | None = None
_pool_lock = threading.Lock()


def pool() -> ToolPool:
    """This worker's pool, started on first use with ``settings.TOOL_PROCESSES`` children."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from django.conf import settings

            _pool = ToolPool(settings.TOOL_PROCESSES)
            _pool.start()
            atexit.register(_pool.close)
        return _pool


def reset_pool() -> None:
    """Kill the children and forget the pool (the next call starts a new one)."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        atexit.unregister(old.close)
        old.close()
