"""Function tools the model may call: the registry, schemas from type hints, and the runner.

A tool is a plain Python function. Its name is the function's name, its description the first
paragraph of its docstring, and its parameter schema comes from its type hints (through a
pydantic model, which also validates the model's arguments before the call). Built-ins are
always there; teams add their own with ``CHAT_TOOLS`` (dotted paths). A conversation switches
some of them on, and only those run. ``run_tool`` never raises: every failure becomes an error
result the model can read and react to. The call itself runs in a separate process, under
CPU-time, memory and wall-clock limits (``chatapp.tool_runner``).
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import operator
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import tool_runner

# --- built-in tools ---


def current_datetime(timezone: str = "UTC") -> dict[str, str]:
    """Get the current date and time in a time zone.

    Args:
        timezone: An IANA time zone name, such as "Europe/Rome" or "America/New_York".
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name)") from None
    now = datetime.now(zone)
    offset = now.strftime("%z")  # "+0530"
    return {
        "datetime": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": now.strftime("%A"),
        "timezone": timezone,
        "utc_offset": f"{offset[:3]}:{offset[3:5]}",
    }


_MAX_EXPRESSION_CHARS = 500
_MAX_EXPONENT = 1000
_MAX_MAGNITUDE = 10**100  # also bounds the work: no operand ever exceeds it

_BINARY_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def calculator(expression: str) -> dict[str, Any]:
    """Evaluate an arithmetic expression; use it rather than doing arithmetic in your head.
    It knows numbers, + - * / // % ** and parentheses, the functions sqrt, sin, cos, tan, asin,
    acos, atan, exp, log (optional base), log10, log2, abs, round, floor, ceil and the
    constants pi, e and tau. Angles are in radians.

    Args:
        expression: The expression, for example "sqrt(2) * (3 + 4) ** 2".
    """
    if len(expression) > _MAX_EXPRESSION_CHARS:
        raise ValueError(f"the expression is longer than {_MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError("not a valid arithmetic expression") from None
    return {"expression": expression, "result": _evaluate(tree.body)}


def _evaluate(node: ast.AST) -> int | float:
    """Walk an allow-list of nodes; anything else (names, attributes, strings…) is refused."""
    if isinstance(node, ast.Constant):
        # bool is an int subclass, and complex/str/bytes are not arithmetic here.
        if type(node.value) not in (int, float):
            raise ValueError(f"unsupported value {node.value!r}: only numbers are allowed")
        return _checked(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(_BINARY_OPS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
        return _checked(_UNARY_OPS[type(node.op)](_evaluate(node.operand)))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_evaluate(arg) for arg in node.args]
        if node.func.id == "round" and len(args) == 2:
            if not isinstance(args[1], int):
                raise ValueError("round() takes a whole number of digits")
            # round(1, -10**7) builds 10**(10**7) in one C call: 10.7 s of CPU.
            if abs(args[1]) > _MAX_EXPONENT:
                raise ValueError(f"round() takes at most {_MAX_EXPONENT} digits")
        return _checked(_FUNCTIONS[node.func.id](*args))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        raise ValueError("use ** for powers (^ is not supported)")
    if isinstance(node, ast.Name):
        raise ValueError(f"unknown name {node.id!r}")
    raise ValueError(f"unsupported syntax: {type(node).__name__}")


def _check_power(base: int | float, exponent: int | float) -> None:
    # Refuse before computing: 9 ** 9 ** 9 would take minutes and gigabytes.
    if abs(exponent) > _MAX_EXPONENT:
        raise ValueError(f"the exponent {exponent} is too large (limit {_MAX_EXPONENT})")
    if abs(base) > 1 and exponent > 0 and exponent * math.log10(abs(base)) > 100:
        raise ValueError("the result is too large")


def _checked(value: Any) -> int | float:
    if isinstance(value, complex):
        raise ValueError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is not a finite number")
    if abs(value) > _MAX_MAGNITUDE:
        raise ValueError("the result is too large")
    return value  # type: ignore[no-any-return]


BUILTINS: tuple[Callable[..., Any], ...] = (current_datetime, calculator)


# --- tools: declaration derived from the function ---


@dataclass(frozen=True)
class Tool:
    """One callable function tool and what the API needs to know about it."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Any]
    # Validates the model's arguments; built from the same signature as `parameters`.
    arguments_model: type[pydantic.BaseModel] = field(repr=False, compare=False)
    # Where a tool process imports the function from.
    path: str = ""

    @classmethod
    def from_function(cls, func: Callable[..., Any], path: str | None = None) -> Tool:
        """Derive name, description and parameter schema from the signature and docstring."""
        summary, arg_docs = _parse_docstring(inspect.getdoc(func) or "")
        model = _arguments_model(func, arg_docs)
        parameters = _strip_titles(model.model_json_schema(by_alias=True))
        # Extra arguments are still refused when validating, but the keyword is left out of
        # the declaration: it adds nothing for the model and not every backend accepts it.
        parameters.pop("additionalProperties", None)
        return cls(
            name=func.__name__,
            description=summary,
            parameters=parameters,
            func=func,
            arguments_model=model,
            path=path or f"{func.__module__}.{func.__qualname__}",
        )

    def declaration(self) -> dict[str, Any]:
        """The function tool object for the request's ``tools`` list."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?):$")
_ARG_LINE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph, {argument: description}) from a cleaned Google-style docstring."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line):
            break
        summary.append(line.strip())
    args: dict[str, str] = {}
    in_args, arg_indent, current = False, -1, ""
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:  # getdoc() dedents, so section headers start at column 0
            in_args = line.rstrip() in ("Args:", "Arguments:", "Parameters:")
            arg_indent, current = -1, ""
            continue
        if not in_args:
            continue
        match = _ARG_LINE.match(line.strip())
        if match and arg_indent in (-1, indent):
            arg_indent, current = indent, match.group(1)
            args[current] = match.group(2).strip()
        elif current and indent > arg_indent:  # a wrapped description continues
            args[current] = f"{args[current]} {line.strip()}".strip()
    return " ".join(summary), args


def _arguments_model(func: Callable[..., Any], docs: dict[str, str]) -> type[pydantic.BaseModel]:
    hints = get_type_hints(func)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"parameter {param.name!r}: tools take named parameters only")
        default = ... if param.default is param.empty else param.default
        # Aliases keep names like "schema" or "json" from clashing with BaseModel attributes.
        fields[f"p_{param.name}"] = (
            hints.get(param.name, Any),
            pydantic.Field(default, alias=param.name, description=docs.get(param.name)),
        )
    config = pydantic.ConfigDict(extra="forbid")
    return pydantic.create_model(f"{func.__name__}_arguments", __config__=config, **fields)


# Keywords whose values are data, not subschemas: a "title" inside them is not pydantic's.
_LITERAL_KEYWORDS = ("default", "enum", "const", "examples")


def _strip_titles(schema: Any, in_names: bool = False) -> Any:
    """Drop pydantic's generated "title" keys (noise for the model), not properties named so."""
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if in_names:  # a map of name → subschema, e.g. "properties" or "$defs"
        return {key: _strip_titles(value) for key, value in schema.items()}
    return {
        key: value
        if key in _LITERAL_KEYWORDS
        else _strip_titles(value, in_names=key in ("properties", "$defs", "patternProperties"))
        for key, value in schema.items()
        if key != "title"
    }


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
