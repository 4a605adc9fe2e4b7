"""The conversation list: pinned on top, then Today, Yesterday, Previous 7 and 30 days and
months; a search shows the matching text as an escaped snippet with the match marked."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chatapp.models import Conversation, Turn
from chatapp.sidebar import date_group, snippet

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


@pytest.mark.parametrize(
    ("days_ago", "group"),
    [
        (0, "Today"),
        (1, "Yesterday"),
        (2, "Previous 7 days"),
        (7, "Previous 7 days"),
        (8, "Previous 30 days"),
        (30, "Previous 30 days"),
    ],
)
def test_recent_dates_are_grouped(days_ago: int, group: str) -> None:
    today = date(2026, 12, 4)
    assert date_group(at(today - timedelta(days=days_ago)), today) == group


def test_older_dates_are_grouped_by_month() -> None:
    today = date(2026, 12, 4)
    assert date_group(at(date(2026, 9, 15)), today) == "September"
    assert date_group(at(date(2025, 12, 30)), today) == "December 2025"


def headings(html: str) -> list[str]:
    return re.findall(r'<li class="conv-group">([^<]*)</li>', html)


def test_the_list_has_pinned_on_top_then_date_groups_each_once(
    alice_client: Client, alice: Any
) -> None:
    now = timezone.now()
    for title, age, pinned in [
        ("today chat", 0, False),
        ("another today", 0, False),
        ("yesterday chat", 1, False),
        ("week chat", 4, False),
        ("month chat", 20, False),
        ("old pinned", 200, True),
        ("old chat", 400, False),
    ]:
        Conversation.objects.create(
            owner=alice, title=title, model="m", pinned=pinned, updated=now - timedelta(days=age)
        )
    html = alice_client.get("/sidebar/").content.decode()
    groups = headings(html)
    assert groups[:5] == ["Pinned", "Today", "Yesterday", "Previous 7 days", "Previous 30 days"]
    assert len(groups) == 6 and re.fullmatch(r"\w+ \d{4}", groups[5])
    assert html.index("old pinned") < html.index("today chat") < html.index("old chat")


def test_a_next_page_does_not_repeat_the_heading_it_continues(
    alice_client: Client, alice: Any
) -> None:
    now = timezone.now()
    for i in range(55):
        Conversation.objects.create(
            owner=alice, title=f"c{i}", model="m", updated=now - timedelta(minutes=i)
        )
    assert headings(alice_client.get("/sidebar/").content.decode()) == ["Today"]
    assert headings(alice_client.get("/sidebar/?page=2").content.decode()) == []


def test_a_snippet_escapes_everything_but_its_mark() -> None:
    shown = snippet('before <img src=x onerror="alert(1)"> the Avocado <b>after</b>', "avocado")
    assert shown is not None
    assert "<img" not in shown and "<b>" not in shown
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in shown
    assert "<mark>Avocado</mark>" in shown and "&lt;b&gt;after&lt;/b&gt;" in shown
    assert snippet("nothing here", "avocado") is None
    # A query that looks like markup is text too.
    assert str(snippet("a <mark> b", "<mark>")) == "a <mark>&lt;mark&gt;</mark> b"


def test_search_results_show_the_matching_text(alice_client: Client, alice: Any) -> None:
    chat = Conversation.objects.create(owner=alice, title="<script>x</script> plans", model="m")
    Turn.objects.create(
        conversation=chat,
        model="m",
        status="completed",
        user_text="What about the <i>avocado</i> harvest this year?",
        answer_text="It was good.",
    )
    html = alice_client.get("/sidebar/?q=avocado").content.decode()
    assert '<span class="conv-snippet">' in html
    assert "&lt;i&gt;<mark>avocado</mark>&lt;/i&gt; harvest" in html
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt; plans" in html
    # A title match is highlighted in the title itself.
    titled = alice_client.get("/sidebar/?q=plans").content.decode()
    assert "&lt;/script&gt; <mark>plans</mark>" in titled and "conv-snippet" not in titled
    # A long title is shown whole, not cut around the match.
    chat.title = "Plans " + "and more words " * 10 + "at the end"
    chat.save()
    titled = alice_client.get("/sidebar/?q=plans").content.decode()
    assert "<mark>Plans</mark> and more" in titled and "at the end</span>" in titled
