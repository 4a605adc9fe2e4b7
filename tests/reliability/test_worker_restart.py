"""A worker killed mid-stream (SIGKILL) and a new one started on the same database.

The new worker's recovery loop finds the turn left `in_progress` and takes it over. With the
built-in simulator (no GEMINI_API_KEY) the upstream lived inside the dead worker, so the
answer is lost there: the turn must end `failed`, retryable, and Retry must work. With a
standalone simulator process as upstream the interaction outlives the worker: the new worker
re-attaches to its stream and completes the answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.accounts import query, sign_up
from tests.harness.servers import LiveServer, kill, run_server
from tests.harness.simulator import run_simulator
from tests.harness.sockets import LiveSocket

pytestmark = pytest.mark.live

RECOVERY = {"CHAT_RECOVERY_INTERVAL_SECONDS": "1", "CHAT_RECOVERY_STALE_SECONDS": "1"}
PROMPT = "Tell me about the rivers of Europe"


def start_and_kill(server: LiveServer, session: str) -> tuple[int, int, str]:
    """Send a message, let a few deltas stream, then SIGKILL the worker.

    Returns (conversation id, turn id, the text streamed before the kill)."""
    sock = LiveSocket(server, session)
    sock.send({"type": "send", "conversation": None, "text": PROMPT})
    conversation = sock.until(lambda f: f["type"] == "conversation")["conversation"]["id"]
    turn = sock.until(lambda f: f["type"] == "turn")["turn"]["id"]
    sock.until(lambda f: f["type"] == "delta" and f["delta"]["type"] == "text")
    sock.until(lambda f: f["type"] == "delta" and f["delta"]["type"] == "text")
    kill(server)
    sock.close()
    streamed = "".join(
        f["delta"]["text"]
        for f in sock.frames
        if f["type"] == "delta" and f["delta"]["type"] == "text"
    )
    return conversation, turn, streamed


def turn_row(server: LiveServer, turn_id: int) -> dict[str, Any]:
    """The turn's saved fields, and `active`: how many turns of the database still run."""
    fields = "status", "error", "steps", "answer_text", "interaction_id", "worker"
    row = f"Turn.objects.filter(pk={turn_id}).values{fields}.get()"
    active = "Turn.objects.filter(status__in=Turn.ACTIVE).count()"
    return query(server, f"{{**{row}, 'active': {active}}}")  # type: ignore[no-any-return]


def test_a_killed_worker_with_the_built_in_simulator_fails_the_turn_retryably(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    with run_server(var, SIMULATOR_TOKENS_PER_SECOND="5") as first:
        session = sign_up(first, "alice")
        conversation, turn_id, streamed = start_and_kill(first, session)
        assert streamed
    before = turn_row(first, turn_id)
    assert before["status"] == "in_progress", "the dead worker left it running"

    with run_server(var, SIMULATOR_TOKENS_PER_SECOND="40", **RECOVERY) as second:
        sock = LiveSocket(second, session)
        sock.send({"type": "subscribe", "conversation": conversation})
        final = sock.until_final(turn_id)
        assert final["status"] == "failed"
        assert final["error"]["retryable"] is True and final["error"]["message"]
        assert 'data-action="retry"' in final["html"]

        sock.send({"type": "retry", "turn": turn_id})
        # The recovery's final frame may arrive twice (live, and in the subscribe snapshot):
        # the retry's own frames start with the turn announced anew at seq 0.
        sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0 and f["turn"]["id"] == turn_id)
        again = sock.until_final(turn_id)
        assert again["status"] == "completed" and again["error"] is None
        row = turn_row(second, turn_id)
        assert row["status"] == "completed" and PROMPT in row["answer_text"]
        assert row["worker"] != before["worker"] and row["active"] == 0


def test_a_killed_worker_is_taken_over_and_the_answer_completed_from_the_upstream(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    with run_simulator(tmp_path, "--tokens-per-second", "5") as simulator:
        upstream = {"GEMINI_API_KEY": "test", "GOOGLE_GEMINI_BASE_URL": simulator.url}
        with run_server(var, **upstream) as first:
            session = sign_up(first, "alice")
            conversation, turn_id, streamed = start_and_kill(first, session)
        before = turn_row(first, turn_id)
        assert before["status"] == "in_progress" and before["interaction_id"]

        with run_server(var, **upstream, **RECOVERY) as second:
            sock = LiveSocket(second, session)
            sock.send({"type": "subscribe", "conversation": conversation})
            final = sock.until_final(turn_id)
            assert final["status"] == "completed" and final["error"] is None
            row = turn_row(second, turn_id)
        assert row["worker"] != before["worker"], "the new worker took the turn over"
        assert row["active"] == 0, "no turn is left running"

        # The saved answer is the upstream's whole answer, not only what streamed before.
        stored = simulator.get(f"/v1/interactions/{row['interaction_id']}", api_key="test")
        assert stored["status"] == "completed"
        upstream_steps = [s for s in stored["steps"] if s["type"] != "user_input"]
        assert row["steps"] == upstream_steps
        answer = "".join(
            i["text"] for s in upstream_steps if s["type"] == "model_output" for i in s["content"]
        )
        assert row["answer_text"] == answer.strip()
        assert streamed in row["answer_text"] and len(row["answer_text"]) > len(streamed)
        assert PROMPT in row["answer_text"]
