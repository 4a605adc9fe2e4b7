"""My usage: a person sees their own usage and what their limits leave them, no one else's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chatapp.models import Conversation, Turn, UserLimits

pytestmark = pytest.mark.django_db


def answered(owner: Any, tokens: int) -> None:
    conversation = Conversation.objects.create(owner=owner, title="t", model="m")
    Turn.objects.create(
        conversation=conversation,
        model="m",
        status="completed",
        worker="relay.x",
        finished=timezone.now(),
        usage={
            "total_input_tokens": tokens // 2,
            "total_output_tokens": tokens // 2,
            "total_tokens": tokens,
        },
    )


def test_my_usage_shows_my_tokens_and_what_the_limit_leaves(alice: Any, bob: Any) -> None:
    answered(alice, 1200)
    answered(bob, 987_654)  # someone else's never shows
    UserLimits.objects.create(user=alice, tokens_per_day=5000, messages_per_minute=7)
    page = Client()
    page.force_login(alice)
    html = page.get("/usage/").content.decode()
    assert "1,200" in html and "of 5,000" in html and "3,800 left" in html
    assert 'aria-valuenow="24"' in html and ">7<" in html
    assert "987,654" not in html and "<svg" in html


def test_without_limits_the_page_says_so(alice: Any) -> None:
    page = Client()
    page.force_login(alice)
    html = page.get("/usage/").content.decode()
    assert "No daily limit" in html and "No messages in the last 30 days" in html
    assert Client().get("/usage/").status_code == 302  # signed-in people only
