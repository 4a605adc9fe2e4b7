"""A stopping worker drains: no new sockets, answers finish in the grace period or are
handed over to the other workers with everything saved so far (chatapp.shutdown)."""

from __future__ import annotations

from typing import Any

import pytest

from chatapp import shutdown, workers
from chatapp.models import Turn

from .test_consumers import start_chat

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def not_draining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutdown, "_draining", False)


async def test_a_stopping_worker_takes_no_new_socket(connect: Any, alice: Any) -> None:
    shutdown._draining = True
    refused = await connect(alice)
    assert not refused.connected


async def test_answers_that_finish_within_the_grace_period_end_here(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, "a short answer")
    await shutdown.drain(grace=30)
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert turn.status == "completed" and turn.worker == await workers.channel()


async def test_answers_still_running_after_the_grace_period_are_handed_over(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []

    async def ask_all() -> None:
        asked.append(True)

    monkeypatch.setattr(workers, "ask_all_to_recover", ask_all)
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:slow]] a long answer")
    await sock.until(lambda f: f["type"] == "step")  # a finished step is being saved
    generation = workers.running(created["turn"]["id"])
    assert generation is not None
    await shutdown.drain(grace=0)
    assert generation.task is not None and generation.task.done()
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    # Still active, owned by nobody, with no heartbeat: the next recovery pass takes it.
    assert turn.status in Turn.ACTIVE and turn.worker == "" and turn.heartbeat is None
    assert turn.steps and turn.last_event_id  # what was streamed so far stayed saved
    assert asked == [True]
