"""Rolling restarts: with answers streaming on two workers, restart one and then the other
(SIGTERM, wait, start). Every answer completes, and what the pages saw is what was saved."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg

from tests.harness.cluster import Cluster

from .test_workers import Tab, open_tab, rebuild, saved_turn, start


def worker_of(database: str, turn: int) -> str:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT worker FROM chatapp_turn WHERE id = %s", (turn,)).fetchone()
    assert row is not None
    return str(row[0])


async def streaming(worker: Any, cookie: str, prompts: list[str]) -> list[tuple[int, int, str]]:
    """Start one answer per prompt on `worker`, each from its own tab, and let them stream."""
    started = []
    for prompt in prompts:
        tab = await open_tab(worker, cookie)
        conversation, turn = await start(tab, prompt)
        await tab.until(lambda f, turn=turn: f["type"] == "delta" and f["turn"] == turn)
        await tab.ws.close()
        started.append((conversation, turn, prompt))
    return started


async def follow_to_the_end(
    survivor: Any, cookie: str, answers: list[tuple[int, int, str]], database: str
) -> None:
    """The pages reconnect to the survivor: each answer ends there, as it was saved."""
    tabs: list[tuple[Tab, int]] = []
    for conversation, turn, _ in answers:
        tab = await open_tab(survivor, cookie)
        await tab.send({"type": "subscribe", "conversation": conversation})
        tabs.append((tab, turn))
    for tab, turn in tabs:
        final = await tab.final(turn, timeout=60)
        assert final["turn"]["status"] == "completed", final["turn"].get("error")
        status, answer, _ = saved_turn(database, turn)
        assert status == "completed" and answer
        seen = rebuild(tab.frames, turn)
        assert not seen or seen == answer  # only the final snapshot, or the stream to its end
        await tab.ws.close()


async def test_restarting_both_workers_one_after_the_other_loses_no_answer(
    cluster: Cluster, session_cookie: str, database: str
) -> None:
    # The first worker has no grace: it hands every running answer over. The second has
    # plenty: its answers finish there before it exits.
    first, second = cluster.start(CHAT_SHUTDOWN_GRACE_SECONDS="0"), cluster.start()
    for round_, (leaving, staying) in enumerate([(first, second), (second, None)]):
        if staying is None:
            staying = cluster.start()  # the restarted first worker
        prompts = [f"[[sim:slow]] round {round_} answer {n}" for n in range(3)]
        on_leaving = await streaming(leaving, session_cookie, prompts)
        on_staying = await streaming(staying, session_cookie, [f"round {round_} elsewhere"])
        before = {turn: worker_of(database, turn) for _, turn, _ in on_leaving}

        exit_code = await asyncio.to_thread(cluster.terminate, leaving)
        assert exit_code == 0, leaving.tail()
        with contextlib.suppress(ValueError):
            cluster.workers.remove(leaving)

        await follow_to_the_end(staying, session_cookie, [*on_leaving, *on_staying], database)
        moved = {t for t in before if worker_of(database, t) != before[t]}
        if round_ == 0:
            assert moved == set(before), "an answer was not handed over"
            assert "handed over 3 answer(s)" in leaving.log(), leaving.tail()
        else:
            assert not moved, "an answer was handed over although it had time to finish"
