"""Upstream faults, injected in the simulator, as the chat's websocket and database see them.

Each failing turn must end `failed` with a clear, retryable message in its `error`, keep the
part of the answer that had arrived, and a Retry must then produce the whole answer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from chatapp.models import Turn
from interactions_client.simulator import Fault

from .helpers import active_turns, creates, is_final, send, text_of

pytestmark = pytest.mark.django_db(transaction=True)

# The simulator's stream of a short answer: created, status, the thought step (start, signature,
# stop), the answer's step.start, then text deltas. After 12 events six deltas have arrived.
MID_ANSWER = 12


def stamp_requests(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str]]:
    """Record when each API request reached the simulator: (monotonic time, method path)."""
    stamps: list[tuple[float, str]] = []
    original = simulator.app._record

    def record(request: Any) -> None:
        stamps.append((time.monotonic(), f"{request.method} {request.path}"))
        original(request)

    monkeypatch.setattr(simulator.app, "_record", record)
    return stamps


async def finish(sock: Any, turn_id: int, timeout: float = 15) -> dict[str, Any]:
    frame = await sock.until(is_final(turn_id), timeout)
    return frame["turn"]


async def retry(sock: Any, turn_id: int) -> dict[str, Any]:
    """Press Retry: the turn is announced empty again, then runs to its end."""
    await sock.send({"type": "retry", "turn": turn_id})
    reset = await sock.until(lambda f: f["type"] == "turn" and f.get("reset"))
    assert reset["turn"]["id"] == turn_id and reset["turn"]["status"] == "queued"
    assert reset["turn"]["error"] is None
    return await finish(sock, turn_id)


async def assert_failed_then_retried(
    sock: Any, final: dict[str, Any], code: str, words: str, *, partial: bool
) -> None:
    """`final`: the turn's last frame. Checks the failure, then presses Retry."""
    turn_id = final["id"]
    turn = await Turn.objects.aget(pk=turn_id)
    assert turn.status == final["status"] == "failed"
    assert turn.error["code"] == code and turn.error["retryable"] is True
    assert words in turn.error["message"]
    assert turn.heartbeat is None and turn.finished is not None
    assert turn.error["message"] in final["html"] and 'data-action="retry"' in final["html"]
    kept = text_of(turn)
    if partial:
        assert kept.startswith("*Offline simulator"), "the part that arrived was not kept"
        assert turn.answer_text == kept.strip()
    else:
        assert kept == ""

    again = await retry(sock, turn_id)
    assert again["status"] == "completed" and again["error"] is None
    await turn.arefresh_from_db()
    assert turn.status == "completed" and turn.error is None
    full = text_of(turn)
    # The simulator answers the same request with the same text: what was kept is its start.
    assert full.startswith(kept) and len(full) > len(kept)
    assert "Based on" in full or "render as Markdown" in full
    assert await active_turns() == []


@pytest.mark.parametrize("how", ["queued fault", "prompt directive"])
async def test_a_429_is_retried_no_earlier_than_its_retry_after(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    stamps = stamp_requests(upstream, monkeypatch)
    prompt = "Tell me about rate limits"
    if how == "queued fault":
        upstream.app.faults.push(Fault(kind="status", status=429, retry_after=1, route="create"))
    else:
        prompt = "[[sim:429]] " + prompt  # the simulator sends Retry-After: 1 with it
    sock = await connect(alice)
    created = await send(sock, prompt)
    final = await finish(sock, created["turn"]["id"])

    assert final["status"] == "completed" and final["error"] is None
    attempts = [t for t, what in stamps if what == "POST /v1/interactions"]
    assert len(attempts) == 2, "one refused attempt, then one retry"
    waited = attempts[1] - attempts[0]
    assert 1.0 <= waited < 5.0, f"retried after {waited:.3f}s, the hint was Retry-After: 1"
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert "Tell me about rate limits" in text_of(turn)


async def test_a_500_then_success_completes_the_answer(
    connect: Any, alice: Any, upstream: Any
) -> None:
    upstream.app.faults.push(Fault(kind="status", status=500, route="create"))
    sock = await connect(alice)
    created = await send(sock, "Tell me about servers")
    final = await finish(sock, created["turn"]["id"])
    assert final["status"] == "completed" and final["error"] is None
    assert len(creates(upstream)) == 2
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert "Tell me about servers" in text_of(turn) and turn.usage["total_tokens"] > 0


async def test_a_503_storm_fails_clearly_and_retry_works_once_it_is_over(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.UPSTREAM_MAX_RETRIES = 2
    # Every attempt of the first try fails (short hints keep the test quick).
    upstream.app.faults.push(
        Fault(kind="status", status=503, retry_after_ms=50, times=3, route="create")
    )
    sock = await connect(alice)
    created = await send(sock, "Tell me about storms")
    final = await finish(sock, created["turn"]["id"])
    assert len(creates(upstream)) == 3, "the first try and its two retries"
    assert upstream.app.faults.pending() == []
    await assert_failed_then_retried(sock, final, "upstream", "503", partial=False)
    assert len(creates(upstream)) == 4


async def test_a_hung_upstream_times_out_with_a_clear_error(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.UPSTREAM_READ_TIMEOUT_SECONDS = 1
    upstream.app.faults.push(Fault(kind="hang", seconds=30, route="create"))
    sock = await connect(alice)
    started = time.monotonic()
    created = await send(sock, "Tell me about silence")
    final = await finish(sock, created["turn"]["id"], timeout=10)
    assert 1.0 <= time.monotonic() - started < 8
    await assert_failed_then_retried(
        sock, final, "timeout", "did not answer in time", partial=False
    )


async def test_an_error_event_mid_stream_keeps_the_partial_answer(
    connect: Any, alice: Any, upstream: Any
) -> None:
    upstream.app.faults.push(Fault(kind="error_event", after_events=MID_ANSWER, route="create"))
    sock = await connect(alice)
    created = await send(sock, "Tell me about errors")
    final = await finish(sock, created["turn"]["id"])
    await assert_failed_then_retried(
        sock, final, "stream", "Gemini stopped with an error", partial=True
    )
    deltas = [f for f in sock.frames if f["type"] == "delta" and f["delta"]["type"] == "text"]
    assert deltas, "the partial answer was streamed before the error"


async def test_a_connection_dropped_mid_stream_keeps_the_partial_answer(
    connect: Any, alice: Any, upstream: Any
) -> None:
    upstream.app.faults.push(Fault(kind="drop", after_events=MID_ANSWER, route="create"))
    sock = await connect(alice)
    created = await send(sock, "Tell me about cables")
    final = await finish(sock, created["turn"]["id"])
    await assert_failed_then_retried(
        sock, final, "connection", "connection to Gemini was lost", partial=True
    )
