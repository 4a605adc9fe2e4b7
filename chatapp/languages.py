"""Which language a person reads: their own choice (Preferences.language), else their browser's.

Pages: Django's LocaleMiddleware picks the browser's language (Accept-Language), then
`PreferredLanguageMiddleware`, after authentication, puts the person's own choice over it.
Anonymous pages (sign-in, share links) follow the browser. The websocket follows the same two
rules at connect. What runs without a request (a generation resumed after a restart, a scheduled
prompt) speaks its owner's choice, or the socket's that started it, through `as_owner`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils import formats, translation
from django.utils.translation.trans_real import parse_accept_lang_header

from .preference_models import Preferences

T = TypeVar("T")


def grouped(value: int | float) -> str:
    """A figure with the digits grouped as the current language writes them (1,000 / 1.000)."""
    return formats.number_format(value, force_grouping=True)


def supported(code: str | None) -> str | None:
    """`code` if it is one of settings.LANGUAGES (or a regional variant of one), else None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def preferred(user_id: int) -> str | None:
    """The language a person chose, or None when they follow their browser."""
    return _chosen(Preferences.objects.filter(user_id=user_id))


def preferred_by_owner_of(conversation_id: int) -> str | None:
    """The language the owner of a conversation chose, or None."""
    return _chosen(Preferences.objects.filter(user__conversations=conversation_id))


def _chosen(preferences: QuerySet[Preferences]) -> str | None:
    return supported(preferences.values_list("language", flat=True).first())


def from_accept_language(header: str) -> str:
    """The first supported language of an Accept-Language header, else the site's default."""
    for code, _quality in parse_accept_lang_header(header):
        if code != "*" and (found := supported(code)):
            return found
    return settings.LANGUAGE_CODE


def for_socket(user_id: int, headers: Iterable[tuple[bytes, bytes]]) -> str:
    """A websocket's language: the person's choice, else the browser's at the handshake."""
    accept = dict(headers).get(b"accept-language", b"").decode("latin-1")
    return preferred(user_id) or from_accept_language(accept)


# The language chosen for the work running in this context (a socket's frame, a generation).
_speaking: ContextVar[str | None] = ContextVar("speaking", default=None)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Translate in `language` here, and in the tasks started from here."""
    token = _speaking.set(language)
    try:
        with translation.override(language):
            yield
    finally:
        _speaking.reset(token)


async def as_owner(conversation_id: int, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` in the language of the socket that started it; without one (a scheduled
    prompt, a turn resumed after a restart), in the language its owner chose, else the site's.
    The socket's language needs no query, so a message still reaches the upstream quickly."""
    language = _speaking.get()
    if language is None:
        chosen = await sync_to_async(preferred_by_owner_of)(conversation_id)
        language = chosen or settings.LANGUAGE_CODE
    with speaking(language):
        return await work


class PreferredLanguageMiddleware:
    """A signed-in person's own choice of language, over the browser's (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        language = supported(Preferences.shown_to(request).get("language"))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
