"""The tool process: `python -m chatapp.tool_process`, started and fed by `chatapp.tool_runner`.

It imports each tool by dotted path, validates the arguments (pydantic, from the type hints),
sets ``RLIMIT_CPU`` and ``RLIMIT_AS`` for the call, calls the tool and answers one JSON line
per call (the protocol is drawn in `chatapp.tool_runner`). It ends on EOF of its stdin, and
within a second of its parent being gone.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from .tool_runner import MAX_REPLY_BYTES

if TYPE_CHECKING:
    import pydantic

    from .tool_functions import Tool


def main() -> None:
    """Serve calls read from stdin until EOF (the parent closed the pipe or is gone)."""
    # The protocol gets private copies of stdin and stdout: a tool that prints writes to
    # the worker's stderr, and one that reads stdin reads nothing.
    calls = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would dump core
    _watch_parent(int(os.environ.get("CHAT_TOOL_PARENT") or os.getppid()))
    from .tool_builtins import BUILTINS

    for builtin in BUILTINS:  # warm: the first call finds them built
        _load_tool(f"{builtin.__module__}.{builtin.__name__}")
    start_size = _address_space()
    _reply(replies, {"ready": True})
    for line in calls:
        request = json.loads(line)
        reply = _serve(request)
        _reply(replies, reply)
        size = _address_space()
        grown = size and start_size and size > start_size + request["memory_mb"] * 1024 * 1024
        if reply.get("retire") or grown:
            break  # this child holds on to too much: a fresh one takes its place


def _serve(request: dict[str, Any]) -> dict[str, Any]:
    from django.apps import apps
    from django.core.exceptions import AppRegistryNotReady

    try:
        return _call(request)
    except AppRegistryNotReady as exc:
        if apps.ready or not os.environ.get("DJANGO_SETTINGS_MODULE"):
            return {"error": f"AppRegistryNotReady: {exc}"}
    # A tool that uses the worker's models: Django's apps are set up the first time one is
    # needed, not before (it would take a tool process from 0.4 s and 34 MB to start to
    # 2 s and 84 MB).
    import django

    django.setup()
    try:
        return _call(request)
    except AppRegistryNotReady as exc:
        return {"error": f"AppRegistryNotReady: {exc}"}


def _call(request: dict[str, Any]) -> dict[str, Any]:
    """Load, validate and call; AppRegistryNotReady goes up to be retried (see _serve)."""
    import pydantic
    from django.core.exceptions import AppRegistryNotReady

    try:
        tool = _load_tool(request["path"])
    except AppRegistryNotReady:
        raise
    except Exception as exc:
        return {"error": f"cannot load the tool: {exc}"}
    try:
        validated = tool.arguments_model.model_validate(request["arguments"])
    except pydantic.ValidationError as exc:
        return {"error": _describe_invalid(tool.name, exc)}
    fields = tool.arguments_model.model_fields
    kwargs = {spec.alias or key: getattr(validated, key) for key, spec in fields.items()}
    _limit(request["cpu_seconds"], request["memory_mb"])
    try:
        result = tool.func(**kwargs)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return {"result": _jsonable(result)}
    except AppRegistryNotReady:
        raise
    except MemoryError:
        limit = request["memory_mb"]
        return {"error": f"{tool.name} ran out of memory (limit {limit} MB)", "retire": True}
    except SystemExit as exc:
        return {"error": f"{tool.name} exited ({exc.code})", "retire": True}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


@functools.lru_cache(maxsize=64)
def _load_tool(path: str) -> Tool:
    from django.utils.module_loading import import_string

    from .tool_functions import Tool

    return Tool.from_function(import_string(path), path)


def _describe_invalid(name: str, exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:10]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        problems.append(f"{where}: {error['msg']}")
    return f"invalid arguments for {name}: " + "; ".join(problems)


def _jsonable(value: Any) -> Any:
    """The value if it is JSON already; nested odd values (dates, sets…) become strings."""
    try:
        return json.loads(json.dumps(value, default=str, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return str(value)


def _reply(replies: IO[bytes], reply: dict[str, Any]) -> None:
    try:
        data = json.dumps(reply, ensure_ascii=False, allow_nan=False).encode()
    except MemoryError:
        data = b'{"error": "the result does not fit in memory", "retire": true}'
    if len(data) >= MAX_REPLY_BYTES:
        data = json.dumps({"error": f"the result is larger than {MAX_REPLY_BYTES} bytes"}).encode()
    replies.write(data + b"\n")
    replies.flush()


def _limit(cpu_seconds: int, memory_mb: int) -> None:
    """Limits for one call, on top of what this process has used and holds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    # Only the soft limits: they can be raised again for the next call (a hard one cannot).
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (used + max(1, cpu_seconds), hard))
    size = _address_space()
    if size:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (size + memory_mb * 1024 * 1024, hard))


def _address_space() -> int | None:
    """This process's virtual size in bytes (what RLIMIT_AS counts), where /proc tells."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _watch_parent(parent: int, interval: float = 1.0) -> None:
    """Exit when the worker is gone, even in the middle of a call (EOF covers the idle case).

    A thread, not PR_SET_PDEATHSIG: that signal follows the parent *thread*, and any thread
    of the worker may start a child.
    """

    def watch(getppid: Callable[[], int] = os.getppid) -> None:
        while getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


if __name__ == "__main__":
    main()
