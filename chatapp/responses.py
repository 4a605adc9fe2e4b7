"""HTTP glue shared by the views: the one error shape, content negotiation, body limits.

Every JSON error a page receives has one shape:

    {"error": "the message", "errors": {"<field>": ["the message", ...]}, "field": "<path>"}

`errors` is keyed like a Django form's (static/js/http.js shows them all); `error` is the
message on its own (static/js/attachments.js shows it); `field`, when present, is where in a
document the error is (an import's `turns[2].created`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_protect

from .user_errors import UserError

# The key of errors that belong to no one field (Django's NON_FIELD_ERRORS).
NO_FIELD = "__all__"

View = Callable[..., HttpResponse]


def error_body(message: str, key: str = NO_FIELD, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "errors": {key: [message]}}
    if field is not None:
        body["field"] = field
    return body


def error_response(
    message: str, status: int = 400, *, key: str = NO_FIELD, field: str | None = None
) -> JsonResponse:
    return JsonResponse(error_body(message, key, field), status=status)


def user_error_response(error: UserError, key: str = NO_FIELD) -> JsonResponse:
    return error_response(error.message, error.status, key=key, field=error.field)


def form_error_response(form: forms.BaseForm) -> JsonResponse:
    """A form's errors, every message also joined in `error`."""
    messages = [str(m) for field_errors in form.errors.values() for m in field_errors]
    return JsonResponse({"error": " ".join(messages), "errors": form.errors}, status=400)


def wants_json(request: HttpRequest) -> bool:
    """A page's script asks for JSON; a plain form post gets a redirect instead."""
    return "application/json" in request.headers.get("Accept", "")


def base_url(request: HttpRequest) -> str:
    root: str = request.build_absolute_uri("/")
    return root.rstrip("/")


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def size_checked_then_csrf(limit: Callable[[], int], refusal: Callable[[], str]) -> Any:
    """For views that take a file: refuse a body over `limit()` bytes (413, field `file`),
    then check the CSRF token.

    The CSRF middleware would read and parse the whole body to find the token first, so the
    view is `csrf_exempt` and the check runs here, after the size (Django's documented
    pattern for upload handlers). Under Daphne a bigger body is refused before it is even
    read (chatapp.daphne_tuning); this covers other servers and words the refusal.
    """

    def decorate(view: View) -> View:
        protected = csrf_protect(view)

        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if declared_length(request) > limit():
                return error_response(refusal(), 413, key="file", field="file")
            return protected(request, *args, **kwargs)

        return checked

    return decorate
