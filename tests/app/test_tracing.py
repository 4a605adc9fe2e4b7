"""The spans of one turn: the page's frame, the generation, each HTTP attempt to Gemini and
the final frame reaching the socket, in one trace, with ids and statuses but never text or
keys (chatapp.tracing)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chatapp import delivery, streams, tracing
from chatapp.frames import Frame
from interactions_client.simulator import Fault

from ..reliability.helpers import is_final
from .test_consumers import start_chat

pytestmark = pytest.mark.django_db(transaction=True)
PROMPT = "a secret-looking prompt 7f3a"


class Recorder(InMemorySpanExporter):
    """Keeps spans only while a test of this module listens (the provider is process-wide)."""

    listening = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return super().export(spans) if self.listening else SpanExportResult.SUCCESS


RECORDER = Recorder()


@pytest.fixture
def spans() -> Iterator[Recorder]:
    tracing.configure(RECORDER)
    RECORDER.clear()
    RECORDER.listening = True
    yield RECORDER
    RECORDER.listening = False
    RECORDER.clear()


def named(recorder: Recorder, name: str) -> list[ReadableSpan]:
    return [s for s in recorder.get_finished_spans() if s.name == name]


async def wait_for_span(recorder: Recorder, name: str, timeout: float = 5) -> ReadableSpan:
    for _ in range(int(timeout / 0.05)):
        if found := named(recorder, name):
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {name} span; got {[s.name for s in recorder.get_finished_spans()]}")


async def test_one_trace_from_the_frame_to_the_socket(
    connect: Any, alice: Any, upstream: Any, spans: Recorder
) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, PROMPT)
    await sock.until(is_final(created["turn"]["id"]))
    final = await wait_for_span(spans, "chat.frame.final")

    send = named(spans, "chat.send")[0]
    generation = named(spans, "chat.generation")[0]
    call = named(spans, "gemini.interaction")[0]
    (attempt,) = named(spans, "HTTP POST")
    trace_id = send.context.trace_id
    for span in (generation, call, attempt, final):
        assert span.context.trace_id == trace_id
    assert generation.parent is not None and generation.parent.span_id == send.context.span_id
    assert call.parent is not None and call.parent.span_id == generation.context.span_id
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id

    assert generation.attributes["chat.turn"] == created["turn"]["id"]
    assert generation.attributes["chat.status"] == "completed"
    assert generation.attributes["gen_ai.usage.output_tokens"] > 0
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["url.path"].endswith("/interactions")
    # Ids, models and statuses only: never the message, never the key.
    for span in spans.get_finished_spans():
        for value in (span.attributes or {}).values():
            assert PROMPT not in str(value) and "test-key" not in str(value)


async def test_retries_show_as_attempts_of_one_call(
    connect: Any, alice: Any, upstream: Any, spans: Recorder
) -> None:
    upstream.app.faults.push(Fault(kind="status", status=503, times=1, route="create"))
    sock = await connect(alice)
    created = await start_chat(sock, "retry me")
    await sock.until(is_final(created["turn"]["id"]))
    await wait_for_span(spans, "chat.frame.final")
    (call,) = named(spans, "gemini.interaction")
    attempts = [s for s in named(spans, "HTTP POST") if s.parent.span_id == call.context.span_id]
    statuses = [s.attributes["http.response.status_code"] for s in attempts]
    assert statuses == [503, 200]


@pytest.fixture
def redis_db() -> str:
    subprocess.run(["redis-cli", "-n", "8", "FLUSHDB"], check=True, capture_output=True)
    return "redis://127.0.0.1:6379/8"


@pytest.mark.deploy  # real Redis
async def test_a_final_frame_carries_its_trace_to_another_worker(
    spans: Recorder, redis_db: str
) -> None:
    url = redis_db
    here = streams.Streams(url, "worker-a", delivery._deliver_here)
    there = streams.Streams(url, "worker-b", delivery._deliver_here)
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    tab = delivery.Subscriber("worker-b|tab", send)
    delivery._subscribers.setdefault(777, set()).add(tab)
    try:
        await there.follow(777)
        with tracing.tracer.start_as_current_span("chat.generation") as origin:
            body = {"type": "turn", "seq": 1, "final": True, "turn": {"id": 5}}
            frame = Frame(777, "turn", body, turn=5, seq=1, flags="final")
        here.write(frame)
        delivered = await wait_for_span(spans, "chat.frame.final")
        assert sent
        assert delivered.context.trace_id == origin.get_span_context().trace_id
        assert delivered.parent is not None
        assert delivered.parent.span_id == origin.get_span_context().span_id
    finally:
        delivery._subscribers.get(777, set()).discard(tab)
        tab.close()
        here.close()
        there.close()
