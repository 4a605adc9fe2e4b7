"""Errors raised by the client.

InteractionsError
├── MissingAPIKeyError            no key given and GEMINI_API_KEY unset (raised at first call)
├── APIConnectionError            the request did not get an answer
│   └── APITimeoutError
├── APIResponseValidationError    a 2xx body that is not what the API documents
├── APIStatusError                a 4xx/5xx answer: status_code, body, code, status, request_id
│   ├── BadRequestError           400
│   ├── AuthenticationError       401
│   ├── PermissionDeniedError     403
│   ├── NotFoundError             404
│   ├── ConflictError             409
│   ├── UnprocessableEntityError  422
│   ├── RateLimitError            429
│   └── InternalServerError       5xx
└── StreamError                   an `error` event ended a stream that a helper waited on;
                                  `.partial` holds the interaction received so far
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .types import Interaction

REQUEST_ID_HEADERS = ("x-request-id", "x-goog-request-id", "request-id")


class InteractionsError(Exception):
    """Base of every error this client raises."""


class MissingAPIKeyError(InteractionsError, ValueError):
    """No API key: pass `api_key=` or set GEMINI_API_KEY."""


class APIConnectionError(InteractionsError):
    """The request failed before an HTTP answer arrived."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None):
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, *, request: httpx.Request | None = None):
        super().__init__("Request timed out.", request=request)


class APIResponseValidationError(InteractionsError):
    """A successful answer whose body could not be parsed."""

    def __init__(self, message: str, *, response: httpx.Response | None = None):
        super().__init__(message)
        self.response = response


class APIStatusError(InteractionsError):
    """The API answered with an error status."""

    def __init__(self, message: str, *, response: httpx.Response, body: Any) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        self.code: int | str | None = error.get("code")
        self.status: str | None = error.get("status")
        self.message: str = str(error.get("message") or message)
        self.details: list[Any] = list(error.get("details") or [])
        self.request_id: str | None = next(
            (response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), None
        )


class BadRequestError(APIStatusError):
    """400: the request is malformed or invalid."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid credentials."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such interaction (or it was not stored, or has expired)."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429: quota or rate limit exceeded."""


class InternalServerError(APIStatusError):
    """5xx."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def make_status_error(response: httpx.Response) -> APIStatusError:
    """Map an error response to its exception; the body must already be read."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text or None
    if response.status_code >= 500:
        cls: type[APIStatusError] = InternalServerError
    else:
        cls = _STATUS_CLASSES.get(response.status_code, APIStatusError)
    return cls(f"Error code: {response.status_code} - {body}", response=response, body=body)


class StreamError(InteractionsError):
    """A stream ended with an `error` event; `.partial` keeps what was received."""

    def __init__(self, error: Any, partial: Interaction | None) -> None:
        self.code: int | str | None = getattr(error, "code", None)
        self.message: str = str(getattr(error, "message", None) or "stream error")
        super().__init__(f"Stream error {self.code}: {self.message}")
        self.error = error
        self.partial = partial


class ContinuationError(InteractionsError):
    """Automatic continuation could not make progress; `.partial` holds the merged hops."""

    def __init__(self, message: str, partial: Interaction | None) -> None:
        super().__init__(message)
        self.partial = partial


def from_transport_error(exc: httpx.TransportError) -> APIConnectionError:
    """The client's error for a low-level httpx failure."""
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:
        request = None
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {exc!r}", request=request)
