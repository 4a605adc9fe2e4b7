"""Fault injection: queued faults (pushed in-process or over HTTP) and prompt directives."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from dataclasses import dataclass
from typing import Any, Literal

from .errors import DEFAULT_MESSAGES, ApiError, bad_request

FaultKind = Literal["status", "hang", "error_event", "drop"]
KINDS = ("status", "hang", "error_event", "drop")
ROUTES = ("create", "get", "cancel", "delete", "upload", "files", "any")


@dataclass
class Fault:
    """One queued fault; fires on the next ``times`` matching requests.

    ``route``: ``create`` | ``get`` | ``cancel`` | ``delete`` | ``upload`` (resumable starts
    and chunks; a ``drop`` keeps half of the chunk, then cuts the connection) | ``files``
    (the other Files API and file search store calls) | ``any``.
    ``stream``: only streaming (True) / only unary (False) requests; ``None`` = both.
    ``match``: only requests whose raw body or path contains this substring (for Files API
    and store routes: the path, its query string and an ``x-goog-upload-command: …`` line).
    """

    kind: FaultKind = "status"
    status: int = 500
    retry_after: float | None = None
    retry_after_ms: int | None = None
    times: int = 1
    route: str = "create"
    after_events: int = 3
    seconds: float = 3600.0
    message: str | None = None
    stream: bool | None = None
    match: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if self.route not in ROUTES:
            raise ValueError(f"unknown fault route {self.route!r}; expected one of {ROUTES}")
        if self.times < 1:
            raise ValueError("times must be >= 1")

    @classmethod
    def from_json(cls, data: object) -> Fault:
        if not isinstance(data, dict):
            raise bad_request("A fault must be a JSON object.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise bad_request(f"Unknown fault fields: {sorted(unknown)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Invalid fault: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def matches(self, route: str, streaming: bool, haystack: str) -> bool:
        if self.route not in ("any", route):
            return False
        if self.kind == "error_event" and route != "create":
            return False  # only a generating request can fail its interaction
        if self.stream is not None and self.stream != streaming:
            return False
        return self.match is None or self.match in haystack

    def error(self) -> ApiError:
        headers: list[tuple[str, str]] = []
        if self.retry_after is not None:
            headers.append(("retry-after", _seconds(self.retry_after)))
        if self.retry_after_ms is not None:
            headers.append(("retry-after-ms", str(self.retry_after_ms)))
        message = self.message or DEFAULT_MESSAGES.get(self.status, "Simulated failure.")
        return ApiError(self.status, message, headers=headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class FaultQueue:
    """Thread-safe: tests push from their thread while the server thread consumes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def push(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, route: str, streaming: bool, haystack: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(route, streaming, haystack):
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[i]
                    return dataclasses.replace(fault, times=1)
        return None


# Directives that fire only on the first attempt of a given request body, so that a
# client's retry (same body) succeeds.
ONCE_DIRECTIVES = ("429", "500", "503", "hang", "error", "drop")


class DirectiveMemory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fired: set[tuple[str, str]] = set()

    def first_time(self, directive: str, body: bytes) -> bool:
        key = (directive, hashlib.sha256(body).hexdigest())
        with self._lock:
            if key in self._fired:
                return False
            self._fired.add(key)
            return True

    def clear(self) -> None:
        with self._lock:
            self._fired.clear()


def directive_fault(directive: str, retry_after: float, hang_seconds: float) -> Fault | None:
    """The queued-fault equivalent of a prompt directive (``None`` for content directives)."""
    if directive in ("429", "503"):
        return Fault(kind="status", status=int(directive), retry_after=retry_after)
    if directive == "500":
        return Fault(kind="status", status=500)
    if directive == "hang":
        return Fault(kind="hang", seconds=hang_seconds)
    if directive == "error":
        return Fault(kind="error_event", after_events=6)
    if directive == "drop":
        return Fault(kind="drop", after_events=6)
    return None
