"""The throttles count in the shared cache (Redis); while it is away they let requests
through, logged, instead of failing every sign-in and shared page with a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from chatapp import limits

pytestmark = pytest.mark.django_db


class CacheAway:
    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379")

        return fail


@pytest.fixture
def cache_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "cache", CacheAway())


def test_the_throttles_let_requests_through_while_the_cache_is_away(cache_away: None) -> None:
    assert limits.minute_budget_wait("share-view", "203.0.113.9", 1, 60) == 0
    assert limits.wait_seconds("alice", "203.0.113.9") == 0
    limits.record_failure("alice", "203.0.113.9")  # nothing raised
    limits.clear_failures("alice", "203.0.113.9")


def test_signing_in_works_while_the_cache_is_away(cache_away: None, client: Client) -> None:
    get_user_model().objects.create_user("alice", password="a-long-pass-phrase")
    wrong = client.post("/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and not wrong.wsgi_request.user.is_authenticated
    right = client.post("/login/", {"username": "alice", "password": "a-long-pass-phrase"})
    assert right.status_code == 302


def test_other_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def get_many(self, keys: Any) -> Any:
            raise TypeError("a bug, not an outage")

    monkeypatch.setattr(limits, "cache", Broken())
    with pytest.raises(TypeError):
        limits.wait_seconds("alice", "203.0.113.9")
