"""A scheduled prompt fires exactly once on a two-worker deployment, with no browser open."""

from __future__ import annotations

import time

import psycopg

from tests.harness.cluster import Cluster

MAKE = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from chatapp.models import Conversation, Schedule
owner = get_user_model().objects.create_user("scheduler", password="a-long-pass-phrase")
conversation = Conversation.objects.create(owner=owner, title="Daily", model="gemini-3.5-flash")
Schedule.objects.create(
    conversation=conversation, prompt="Good morning: anything new?", kind="daily",
    at=timezone.now() - timedelta(minutes=1), time_zone="Europe/Rome",
    next_run=timezone.now(),
)
print(conversation.pk)
"""


def test_a_due_prompt_runs_exactly_once_across_workers(cluster: Cluster, database: str) -> None:
    assert len(cluster.workers) >= 2  # both look for due prompts every second
    conversation = int(cluster.workers[0].manage("shell", "-c", MAKE).strip().splitlines()[-1])
    deadline = time.monotonic() + 60
    rows: list[tuple[str, str]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(database) as conn:
            rows = conn.execute(
                "SELECT status, user_text FROM chatapp_turn WHERE conversation_id = %s",
                (conversation,),
            ).fetchall()
        if rows and rows[0][0] == "completed":
            break
        time.sleep(0.5)
    time.sleep(3)  # several more passes of both workers
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT status, user_text FROM chatapp_turn WHERE conversation_id = %s",
            (conversation,),
        ).fetchall()
        unseen, next_run = conn.execute(
            "SELECT c.unseen, s.next_run > now() + interval '12 hours' FROM chatapp_conversation c "
            "JOIN chatapp_schedule s ON s.conversation_id = c.id WHERE c.id = %s",
            (conversation,),
        ).fetchone()
    assert rows == [("completed", "Good morning: anything new?")]
    assert unseen and next_run  # marked new; the next run is tomorrow's
