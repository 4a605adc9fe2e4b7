"""What a turn says when its generation fails: a clear message, never the key or a trace."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from interactions_client import (
    Accumulator,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InteractionsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

# Upstream statuses that end a turn, and what the turn shows.
TURN_STATUS = {
    "completed": "completed",
    "incomplete": "incomplete",
    "requires_action": "requires_action",
    "failed": "failed",
    "cancelled": "stopped",
    "budget_exceeded": "incomplete",
}


def outcome(acc: Accumulator) -> tuple[str, dict[str, Any] | None]:
    """How a turn ends after its last call: its status, and the error it shows if any."""
    upstream_status = str(acc.data.get("status"))
    status = TURN_STATUS.get(upstream_status, "failed")
    if acc.error is not None:
        return "failed", error(
            "stream", gettext("Gemini stopped with an error: %s") % acc.error.message
        )
    if upstream_status not in TURN_STATUS:
        # The stream ended without a final status: the answer was cut off, not done.
        return status, error(
            "interrupted", gettext("The answer was interrupted before it finished.")
        )
    if status == "failed":
        return status, error("failed", upstream_failure(acc.data))
    return status, None


class Unrecoverable(InteractionsError):
    """A turn that died before the upstream stored anything to re-attach to."""


class TooManyRounds(InteractionsError):
    """The model kept calling tools past the configured number of rounds."""


def describe(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, Unrecoverable):
        return error("interrupted", gettext("The server restarted before this answer was saved."))
    if isinstance(exc, TooManyRounds):
        rounds = settings.TOOL_MAX_ROUNDS
        message = gettext("Stopped after %(rounds)s rounds of tool calls.") % {"rounds": rounds}
        return error("tool_rounds", message)
    if isinstance(exc, RateLimitError):
        return error("rate_limited", gettext("Gemini is rate-limiting requests right now (429)."))
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return error("auth", gettext("The server's Gemini API key was refused."), retryable=False)
    if isinstance(exc, NotFoundError) and "filesearchstore" in exc.message.lower():
        return error(
            "knowledge_base",
            "A knowledge base this conversation searches was deleted while the answer was "
            "being written. Send the message again to answer without it.",
        )
    if isinstance(exc, BadRequestError):
        return error(
            "bad_request", gettext("Gemini refused the request: %s") % exc.message, retryable=False
        )
    if isinstance(exc, APIStatusError):
        return error("upstream", gettext("Gemini answered with an error (%s).") % exc.status_code)
    if isinstance(exc, APITimeoutError):
        return error("timeout", gettext("Gemini did not answer in time."))
    if isinstance(exc, APIConnectionError):
        return error("connection", gettext("The connection to Gemini was lost."))
    return error("internal", gettext("Something went wrong while generating this answer."))


def error_label(exc: BaseException) -> str:
    """The `status` label of the upstream-errors metric."""
    if isinstance(exc, APIStatusError):
        return str(exc.status_code)
    if isinstance(exc, APITimeoutError):
        return "timeout"
    if isinstance(exc, APIConnectionError):
        return "connection"
    return "other"


def error(code: str, message: str, *, retryable: bool = True) -> dict[str, Any]:
    return {"code": code, "message": message, "retryable": retryable}


def upstream_failure(interaction: dict[str, Any]) -> str:
    """The message of an interaction that ended `failed`."""
    errors = interaction.get("errors") or []
    message = errors[0].get("message") if errors and isinstance(errors[0], dict) else None
    if message:
        return str(gettext("Gemini could not finish this answer: %s") % message)
    return str(gettext("Gemini could not finish this answer."))
