"""One JSON object per log line, for log collectors (LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_generations = logging.getLogger("chatapp.relay")


def log_generation(
    conversation: Any,
    turn: int,
    status: str,
    usage: dict[str, Any] | None,
    error: dict[str, Any] | None,
    *,
    duration: float,
    first_delta: float | None,
) -> None:
    """One structured line per generation: who, where, how much, how it ended; no text."""
    from . import metrics

    metrics.GENERATIONS.labels(outcome=status).inc()
    _generations.info(
        "generation finished",
        extra={
            "event": "generation",
            "user": conversation.owner_id,
            "conversation": conversation.pk,
            "turn": turn,
            "model": conversation.model,
            "tokens": (usage or {}).get("total_tokens"),
            "duration_ms": round(duration * 1000),
            "first_delta_ms": None if first_delta is None else round(first_delta * 1000),
            "outcome": status,
            "error": (error or {}).get("code"),
        },
    )
