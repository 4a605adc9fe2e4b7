"""A small typed client for Gemini's Interactions API (revision 2026-05-20).

Mirrors the google-genai SDK as its quickstart uses it::

    from interactions_client import Client

    client = Client()  # GEMINI_API_KEY, GOOGLE_GEMINI_BASE_URL
    interaction = client.interactions.create(model="gemini-3.5-flash", input="Hello")
    print(interaction.output_text)

`client.files` (the Files API: resumable uploads streamed from disk) and
`client.file_search_stores` (stores, documents, operations for the `file_search` tool)
follow the same pattern, as do `client.triggers` (agent interactions on a cron schedule) and
`client.webhooks` (endpoints notified when background work ends; check each delivery with
`verify_webhook`). This package imports nothing from Django;
`interactions_client.simulator` is an offline server of the same API for development and
tests.
"""

from __future__ import annotations

from . import types
from ._accumulate import Accumulator, accumulate, apply_delta
from ._client import AsyncClient, Client, CreateParams
from ._continuation import sum_usage
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContinuationError,
    InteractionsError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)
from ._file_search_stores import OperationError
from ._files import FileProcessingError
from ._sse import EventDecoder, LineDecoder, ServerSentEvent, SSEDecoder
from ._streaming import AsyncStream, Stream
from ._version import API_REVISION, __version__
from ._webhook_signature import ReplayGuard, WebhookVerificationError, verify_webhook
from .types import Interaction, StreamEvent

__all__ = [
    "API_REVISION",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Accumulator",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "ContinuationError",
    "CreateParams",
    "EventDecoder",
    "FileProcessingError",
    "Interaction",
    "InteractionsError",
    "InternalServerError",
    "LineDecoder",
    "MissingAPIKeyError",
    "NotFoundError",
    "OperationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReplayGuard",
    "SSEDecoder",
    "ServerSentEvent",
    "Stream",
    "StreamError",
    "StreamEvent",
    "UnprocessableEntityError",
    "WebhookVerificationError",
    "__version__",
    "accumulate",
    "apply_delta",
    "sum_usage",
    "types",
    "verify_webhook",
]
