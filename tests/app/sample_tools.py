"""Functions that tests load as team tools through CHAT_TOOLS."""

from __future__ import annotations

import socket
import threading
from datetime import date
from typing import Literal

# Set by a test once it has seen the timeout, so the worker thread ends with the test.
release = threading.Event()


def lookup_order(
    order_id: int,
    status: Literal["open", "shipped", "cancelled"],
    tags: list[str],
    note: str | None = None,
    include_items: bool = False,
    weight_kg: float = 1.5,
) -> dict[str, object]:
    """Look up an order in the shop.

    Longer explanation that is not part of the description.

    Args:
        order_id: The order number.
        status (str): Only return the order if it has this status.
        tags: Labels to match, all of them
            (continued on a second line).
        note: A free-text note.

    Returns:
        The order.
    """
    return {
        "order_id": order_id,
        "status": status,
        "tags": tags,
        "note": note,
        "include_items": include_items,
        "weight_kg": weight_kg,
        "placed": date(2026, 5, 20),  # not JSON: the runner turns it into a string
    }


def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


def wait_for_release(seconds: float = 10.0) -> str:
    """Blocks until the test releases it."""
    release.wait(seconds)
    return "released"


async def async_echo(text: str) -> list[str]:
    """Echo, from a coroutine."""
    return [text, text]


def odd_result() -> object:
    """Returns something JSON cannot hold."""
    return {1, 2}


def calculator(expression: str) -> str:
    """Clashes with the built-in of the same name."""
    return expression


def needs_socket(sock: socket.socket) -> None:
    """A parameter type with no JSON schema."""


not_a_function = 42
