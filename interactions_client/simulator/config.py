"""Simulator settings (one frozen dataclass, shared by the app, the engine and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimulatorConfig:
    """Knobs of the offline simulator; defaults suit tests (fast, no pacing)."""

    #: When set, only this ``x-goog-api-key`` is accepted (others get 403).
    api_key: str | None = None
    #: Streaming pace; one "token" is one delta event. ``None`` = as fast as possible.
    tokens_per_second: float | None = None
    #: Simulated work time of a ``background: true`` interaction.
    background_seconds: float = 1.0
    #: A background interaction reports ``queued`` for this long before ``in_progress``.
    queued_seconds: float = 0.0
    #: Answers longer than this (characters) stop at ``requires_continuation``.
    hop_chars: int = 1500
    #: Delay per delta for prompts carrying ``[[sim:slow]]``.
    slow_seconds_per_token: float = 0.1
    #: How long ``[[sim:hang]]`` keeps the request open before answering.
    hang_seconds: float = 3600.0
    #: ``Retry-After`` (seconds) sent with prompt-triggered 429/503 faults.
    directive_retry_after: float = 1.0
    #: Cap of ``app.requests`` (oldest entries are dropped first).
    max_recorded_requests: int = 500
    #: HMAC key for thought signatures / continuation tokens; random per app when ``None``.
    secret: bytes | None = None
    #: Where uploaded files are kept; a fresh temporary directory when ``None``.
    files_dir: str | None = None
    #: Files API files are deleted this long after their creation (the API keeps them 48 h).
    file_ttl_seconds: float = 48 * 3600.0
    #: A video stays ``PROCESSING`` this long after its upload; other files are ready at once.
    video_processing_seconds: float = 0.5
    #: Non-video files stay ``PROCESSING`` this long (0: ``ACTIVE`` as soon as uploaded).
    file_processing_seconds: float = 0.0
    #: Indexing time of a file search store document (its operation is not done before).
    document_processing_seconds: float = 0.2
    #: How long the ``mcp_server`` tool waits for an MCP server's answer.
    mcp_timeout_seconds: float = 10.0
