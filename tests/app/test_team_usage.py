"""The team usage page: by person and by model, with cost from the price table, over a
chosen period, summed in the database (a fixed number of queries, however many turns)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from chatapp import team_usage
from chatapp.models import ArchivedUsage, Conversation, ModelPrice, Turn

pytestmark = pytest.mark.django_db
TODAY = timezone.now().astimezone(UTC).date()


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def spend(owner: Any, model: str, tokens: int, day: date = TODAY, **fields: Any) -> Turn:
    """A finished answer this server ran: a quarter of its tokens input, the rest output."""
    when = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    conversation = Conversation.objects.create(owner=owner, model=model)
    return Turn.objects.create(
        conversation=conversation,
        model=model,
        status="completed",
        worker=fields.pop("worker", "w1"),
        created=when,
        finished=when,
        usage={
            "total_input_tokens": tokens // 4,
            "total_output_tokens": tokens - tokens // 4,
            "total_tokens": tokens,
        },
    )


def test_usage_by_person_and_model_with_cost(alice: Any, bob: Any) -> None:
    spend(alice, "gemini-3.5-flash", 4_000_000)  # 1M in at $0.5, 3M out at $3: $9.50
    spend(alice, "gemini-3.5-flash", 400_000)  # $0.95
    spend(bob, "gemini-3.5-flash", 400_000)  # $0.95
    spend(bob, "home-made-model", 1000)  # no price
    spend(bob, "gemini-3.5-flash", 999, worker="")  # imported: never counted
    spend(alice, "gemini-3.5-flash", 4_000_000, day=TODAY - timedelta(days=40))  # too old
    ArchivedUsage.objects.create(
        user=bob, day=TODAY, messages=2, input_tokens=10, output_tokens=20, total_tokens=30
    )
    data = team_usage.report(TODAY - timedelta(days=6), TODAY)
    people = {line.label: line for line in data.people}
    assert people["alice"].total_tokens == 4_400_000 and people["alice"].messages == 2
    assert people["alice"].cost == Decimal("10.45")
    assert people["bob"].total_tokens == 400_000 + 1000 + 30 and people["bob"].messages == 4
    assert people["bob"].cost == Decimal("0.95") and people["bob"].unpriced_tokens == 1030
    models = {line.label: line for line in data.models}
    assert models["Gemini 3.5 Flash"].total_tokens == 4_800_000
    assert models["home-made-model"].cost == 0 and models["home-made-model"].unpriced_tokens
    assert models["Deleted conversations and replaced answers"].total_tokens == 30
    assert data.total.cost == Decimal("11.40") and data.total.total_tokens == 4_801_030
    assert len(data.tokens_per_day) == 7 and data.tokens_per_day[TODAY] == 4_801_030
    assert data.cost_per_day[TODAY] == Decimal("11.40")
    # The admins' price table is what counts.
    ModelPrice.objects.create(model="home-made-model", input=1000, output=1000, cached_input=0)
    again = team_usage.report(TODAY - timedelta(days=6), TODAY)
    assert again.total.cost == Decimal("12.40")


def test_the_report_costs_the_same_queries_for_many_turns(
    alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        spend(alice if n % 2 else bob, "gemini-3.5-flash", 1000 + n, day=TODAY - timedelta(n % 5))
    # By person and model, messages, archived, per day (two), names, the price table.
    with django_assert_max_num_queries(7):
        data = team_usage.report(TODAY - timedelta(days=29), TODAY)
    assert data.total.messages == 30


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (TODAY - timedelta(days=29), TODAY)),
        ({"days": "7"}, (TODAY - timedelta(days=6), TODAY)),
        ({"days": "90"}, (TODAY - timedelta(days=89), TODAY)),
        ({"from": "2026-01-05", "to": "2026-01-09"}, (date(2026, 1, 5), date(2026, 1, 9))),
        ({"from": "2026-01-09", "to": "2026-01-05"}, (date(2025, 12, 7), date(2026, 1, 5))),
        ({"from": "garbage"}, (TODAY - timedelta(days=29), TODAY)),
        ({"from": "2000-01-01", "to": "2001-12-31"}, (date(2000, 12, 31), date(2001, 12, 31))),
        ({"to": "2999-01-01"}, (TODAY - timedelta(days=29), TODAY)),
    ],
)
def test_the_period_a_page_asks_for(query: dict[str, str], expected: tuple[date, date]) -> None:
    assert team_usage.period(query, TODAY) == expected


def test_the_usage_page_shows_tables_charts_and_totals(boss_client: Client, alice: Any) -> None:
    spend(alice, "gemini-3.5-flash", 4_000_000)
    html = boss_client.get("/team/usage/?days=7").content.decode()
    assert 'id="by-person"' in html and 'id="by-model"' in html and html.count("<svg") == 2
    assert "$9.50" in html and "4,000,000" in html and 'aria-current="true"' in html
    assert "Cost per day, US dollars" in html
    custom = boss_client.get(f"/team/usage/?from={TODAY - timedelta(days=2)}&to={TODAY}")
    assert custom.status_code == 200 and 'value="' + TODAY.isoformat() in custom.content.decode()
    past = boss_client.get("/team/usage/?from=2020-01-01&to=2020-01-31").content.decode()
    assert "No usage in this period." in past


@pytest.fixture
def boss_client(db: Any) -> Client:
    from django.contrib.auth import get_user_model

    boss = get_user_model().objects.create_user("boss", password="pw-boss-123", is_staff=True)
    client = Client()
    client.force_login(boss)
    return client


@pytest.mark.django_db(transaction=True)
async def test_prices_are_read_from_async_code_too() -> None:
    """The relay and consumers run on the event loop, where the ORM refuses to run: a cold
    price cache is filled from a thread of its own."""
    from chatapp import catalogue

    await ModelPrice.objects.acreate(model="m-async", input=1, output=1, cached_input=1)
    cache.clear()
    usage = {"total_input_tokens": 500_000, "total_output_tokens": 500_000}
    assert catalogue.cost("m-async", usage) == Decimal(1)
    assert catalogue.cost("m-async", usage) == Decimal(1)  # from the cache this time


def test_the_usage_page_narrows_to_one_person_by_name(
    boss_client: Client, alice: Any, bob: Any
) -> None:
    spend(alice, "gemini-3.5-flash", 4_000_000)
    spend(bob, "gemini-2.5-flash", 123_456)
    everyone = boss_client.get("/team/usage/?days=7").content.decode()
    assert "person=alice" in everyone and "123,456" in everyone
    html = boss_client.get("/team/usage/?days=7&person=alice").content.decode()
    assert "Usage and cost of alice" in html and "Gemini 3.5 Flash" in html
    assert "123,456" not in html and "Gemini 2.5 Flash" not in html
    assert 'href="?days=30&amp;person=alice"' in html  # the presets keep the person
    unknown = boss_client.get("/team/usage/?days=7&person=nobody").content.decode()
    assert "There is nobody with that username" in unknown and "123,456" in unknown


def test_the_usage_csv_has_a_row_per_person_and_model(boss_client: Client, alice: Any) -> None:
    from django.contrib.auth import get_user_model

    spend(alice, "gemini-3.5-flash", 4_000_000)
    spend(alice, "home-made-model", 1000)
    sly = get_user_model().objects.create_user("=cmd", password="pw-sly-123")
    spend(sly, "gemini-3.5-flash", 400_000)
    response = boss_client.get("/team/usage.csv?days=7")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="usage-')
    rows = [line.split(",") for line in response.content.decode().splitlines()]
    assert rows[0] == [
        "person",
        "model_id",
        "model",
        "messages",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cost_usd",
    ]
    assert ["'=cmd", "gemini-3.5-flash", "Gemini 3.5 Flash", "1"] == rows[1][:4]
    assert rows[2] == [
        "alice",
        "gemini-3.5-flash",
        "Gemini 3.5 Flash",
        "1",
        "1000000",
        "3000000",
        "4000000",
        "9.500000",
    ]
    assert rows[3][:2] == ["alice", "home-made-model"] and rows[3][-1] == ""
    assert Client().get("/team/usage.csv").status_code == 302
