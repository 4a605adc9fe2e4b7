"""Function tools the model may call: the registry and the runner.

Built-ins (`chatapp.tool_builtins`) are always there; teams add their own with
``CHAT_TOOLS`` (dotted paths to functions, declared by `chatapp.tool_functions`). A
conversation switches some of them on, and only those run. ``run_tool`` never raises: every
failure becomes an error result the model can read and react to. The call itself runs in a
separate process, under CPU-time, memory and wall-clock limits (``chatapp.tool_runner``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Collection, Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import tool_runner
from .tool_builtins import BUILTINS
from .tool_functions import Tool

# --- the registry ---


def registry() -> dict[str, Tool]:
    """Built-ins plus ``settings.CHAT_TOOLS``, by name (cached per value of the setting)."""
    return _load(tuple(settings.CHAT_TOOLS))


def available() -> list[Tool]:
    """Every tool a conversation can switch on, built-ins first."""
    return list(registry().values())


def declarations(names: Iterable[str]) -> list[dict[str, Any]]:
    """The ``tools`` entries for the given names; names no longer configured are skipped."""
    tools = registry()
    return [tools[name].declaration() for name in names if name in tools]


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    builtins = [(f, "built-in", None) for f in BUILTINS]
    for func, origin, path in builtins + [(_import(p), p, p) for p in paths]:
        try:
            tool = Tool.from_function(func, path)
        except Exception as exc:
            raise ImproperlyConfigured(
                f"CHAT_TOOLS: {origin!r} is not a usable tool: {exc}"
            ) from exc
        if tool.name in tools:
            raise ImproperlyConfigured(f"CHAT_TOOLS: {origin!r}: a tool named {tool.name!r} exists")
        tools[tool.name] = tool
    return tools


def _import(path: str) -> Callable[..., Any]:
    try:
        func = import_string(path)
    except Exception as exc:  # ImportError, or whatever the module raises on import
        raise ImproperlyConfigured(f"CHAT_TOOLS: cannot import {path!r}: {exc}") from exc
    if not inspect.isfunction(func):
        raise ImproperlyConfigured(f"CHAT_TOOLS: {path!r} is not a function")
    return func


# The cache already follows settings.CHAT_TOOLS; this is for callers that want a fresh import.
registry.cache_clear = _load.cache_clear  # type: ignore[attr-defined]


# --- running a call ---


async def run_tool(name: str, arguments: Any, *, enabled: Collection[str]) -> tuple[Any, bool]:
    """Run one function call: ``(result, is_error)``. Never raises (except cancellation).

    Only the tools in `enabled` (the conversation's) may run: the model can name any function,
    and any other name is answered as an unknown tool. The tool process validates the
    arguments against `Tool.arguments_model` and makes the result JSON.
    """
    try:
        tools = registry()
    except ImproperlyConfigured as exc:
        return f"the tools are misconfigured: {exc}", True
    allowed = [tool for tool in enabled if tool in tools]
    if name not in allowed:
        known = f"available: {', '.join(allowed)}" if allowed else "no tools are enabled"
        return f"unknown tool {name!r} ({known})", True
    limits = tool_runner.Limits(
        wall_seconds=settings.TOOL_TIMEOUT_SECONDS,
        cpu_seconds=settings.TOOL_CPU_SECONDS,
        memory_mb=settings.TOOL_MEMORY_MB,
    )
    arguments = {} if arguments is None else arguments
    return await tool_runner.pool().run(name, tools[name].path, arguments, limits)


def function_result_step(call: dict[str, Any], result: Any, is_error: bool) -> dict[str, Any]:
    """The ``function_result`` step answering ``call`` (a ``function_call`` step)."""
    # The documented form (quickstart, SDK): a list of content blocks, here one text block.
    # A string (an error message, say) goes as it is; anything else as its JSON.
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    step: dict[str, Any] = {
        "type": "function_result",
        "call_id": call["id"],
        "name": call.get("name", ""),
        "result": [{"type": "text", "text": text}],
    }
    if is_error:
        step["is_error"] = True
    return step
