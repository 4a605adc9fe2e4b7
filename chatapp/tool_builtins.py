"""The built-in tools: always there, for any conversation that switches them on.

Each is a plain function; its docstring and type hints are its declaration
(`chatapp.tool_functions`). They run in a tool process like any other tool.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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
            _check_digits(args[1])
        return _checked(_FUNCTIONS[node.func.id](*args))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        raise ValueError("use ** for powers (^ is not supported)")
    if isinstance(node, ast.Name):
        raise ValueError(f"unknown name {node.id!r}")
    raise ValueError(f"unsupported syntax: {type(node).__name__}")


def _check_digits(digits: int | float) -> None:
    if not isinstance(digits, int):
        raise ValueError("round() takes a whole number of digits")
    # round(1, -10**7) builds 10**(10**7) in one C call: 10.7 s of CPU.
    if abs(digits) > _MAX_EXPONENT:
        raise ValueError(f"round() takes at most {_MAX_EXPONENT} digits")


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
