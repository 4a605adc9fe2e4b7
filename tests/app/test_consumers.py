"""The chat websocket and relay against the simulator on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db.models import QuerySet

from chatapp import delivery, relay, workers
from chatapp import upstream as upstream_clients
from chatapp.models import Conversation, Turn
from interactions_client.simulator import Fault

pytestmark = pytest.mark.django_db(transaction=True)


def is_type(kind: str) -> Any:
    return lambda f: f["type"] == kind


def text_of(turn: Turn) -> str:
    return "".join(
        item.get("text", "")
        for step in turn.steps
        if step.get("type") == "model_output"
        for item in step.get("content") or []
    )


async def start_chat(
    sock: Any, text: str, conversation: int | None = None, parent: int | None = None
) -> dict:
    await sock.send({"type": "send", "conversation": conversation, "parent": parent, "text": text})
    return await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)


async def test_it_refuses_anonymous_users(connect: Any) -> None:
    sock = await connect(None)
    assert not sock.connected and sock.close_code == 4401


async def test_it_refuses_foreign_origins(connect: Any, alice: Any) -> None:
    sock = await connect(alice, origin=b"https://evil.example")
    assert not sock.connected


async def test_a_message_streams_deltas_then_steps_then_the_final_turn(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    original = QuerySet.aupdate

    async def counting_aupdate(self: QuerySet, **kwargs: Any) -> int:
        if self.model is Turn:
            writes.append(",".join(sorted(kwargs)))
        return await original(self, **kwargs)

    monkeypatch.setattr(QuerySet, "aupdate", counting_aupdate)
    sock = await connect(alice)
    await sock.send(
        {"type": "send", "conversation": None, "parent": None, "text": "Explain how AI works"}
    )
    created = await sock.until(is_type("conversation"))
    assert created["conversation"]["title"] == "Explain how AI works"
    first = await sock.until(is_type("turn"))
    assert first["seq"] == 0 and first["turn"]["status"] == "queued"
    final = await sock.until_final()
    deltas = [f for f in sock.frames if f["type"] == "delta"]
    steps = [f for f in sock.frames if f["type"] == "step"]
    # A delta frame covers seqs from..seq (consecutive deltas merge when the socket lags).
    covered = [
        seq
        for f in sock.frames
        if f["type"] in ("status", "delta", "step")
        for seq in range(f.get("from", f["seq"]), f["seq"] + 1)
    ]
    relayed = sum(d["seq"] - d.get("from", d["seq"]) + 1 for d in deltas)
    assert relayed >= 3 and steps
    assert next(f for f in sock.frames if f["type"] == "status")["status"] == "in_progress"
    assert covered == list(range(1, len(covered) + 1))
    assert final["seq"] == covered[-1] + 1
    streamed = "".join(d["delta"]["text"] for d in deltas if d["delta"]["type"] == "text")
    turn = await Turn.objects.aget(pk=first["turn"]["id"])
    assert turn.status == "completed" and turn.interaction_id.startswith("v1_")
    assert streamed == text_of(turn)
    assert "Explain how AI works" in streamed
    assert final["turn"]["status"] == "completed" and final["turn"]["usage"]["total_tokens"] > 0
    assert "Explain how AI works" in final["turn"]["html"]
    # Written once per finished step and at the end, never per delta.
    step_writes = [w for w in writes if "last_event_id" in w and "status" not in w]
    assert len(step_writes) == len(steps)
    assert len(writes) < relayed


async def test_two_tabs_see_the_same_live_stream(connect: Any, alice: Any, upstream: Any) -> None:
    first = await connect(alice)
    await first.send(
        {"type": "send", "conversation": None, "parent": None, "text": "[[sim:slow]] hello there"}
    )
    conversation = (await first.until(is_type("conversation")))["conversation"]["id"]
    second = await connect(alice)
    await second.send({"type": "subscribe", "conversation": conversation})
    await first.until_final()
    await second.until_final()
    texts = []
    for sock in (first, second):
        texts.append("".join(f["delta"]["text"] for f in sock.frames if f["type"] == "delta"))
    assert texts[1] and texts[0].endswith(texts[1][-20:])


async def test_a_tab_that_reconnects_mid_stream_loses_and_repeats_nothing(
    connect: Any, alice: Any, upstream: Any
) -> None:
    first = await connect(alice)
    await first.send(
        {"type": "send", "conversation": None, "parent": None, "text": "[[sim:slow]] count for me"}
    )
    conversation = (await first.until(is_type("conversation")))["conversation"]["id"]
    await first.until(lambda f: f["type"] == "delta" and f["seq"] >= 4)
    await first.close()  # the tab is closed; the generation goes on

    again = await connect(alice)
    await again.send({"type": "subscribe", "conversation": conversation})
    snapshot = await again.until(lambda f: f["type"] == "turn")
    assert snapshot["turn"]["status"] == "in_progress" and snapshot["seq"] >= 4
    # Rebuild the text as the page does: the snapshot, then frames newer than it.
    live = {v["index"]: v.get("text", "") for v in snapshot["turn"]["steps"] if v.get("live")}
    finished = {v["index"] for v in snapshot["turn"]["steps"] if not v.get("live")}
    known = snapshot["seq"]
    final = await again.until_final()
    for frame in again.frames[1:]:
        if frame["type"] == "delta" and frame["seq"] > known:
            assert frame["seq"] == known + 1
            if frame["delta"]["type"] == "text":  # not a thought summary still streaming
                live[frame["index"]] = live.get(frame["index"], "") + frame["delta"]["text"]
            known = frame["seq"]
        elif frame["type"] == "step" and frame["seq"] > known:
            assert frame["seq"] == known + 1
            known = frame["seq"]
    turn = await Turn.objects.aget(pk=final["turn"]["id"])
    output_index = next(i for i, s in enumerate(turn.steps) if s["type"] == "model_output")
    assert output_index not in finished
    assert live[output_index] == text_of(turn)


async def test_stop_keeps_what_was_received(connect: Any, alice: Any, upstream: Any) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:slow]] write slowly")
    await sock.until(lambda f: f["type"] == "delta" and f["delta"]["type"] == "text")
    await sock.send({"type": "stop", "turn": created["turn"]["id"]})
    final = await sock.until_final()
    assert final["turn"]["status"] == "stopped"
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert turn.status == "stopped" and text_of(turn)
    assert "Retry" in final["turn"]["html"]


async def test_regenerate_and_edit_add_siblings(connect: Any, alice: Any, upstream: Any) -> None:
    sock = await connect(alice)
    first = await start_chat(sock, "I have 2 dogs.")
    conversation = first["turn"]["conversation"]
    await sock.until_final()
    second = await start_chat(sock, "How many paws?", conversation, first["turn"]["id"])
    await sock.until_final()

    await sock.send({"type": "regenerate", "turn": second["turn"]["id"]})
    regenerated = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    await sock.until_final()
    await sock.send({"type": "edit", "turn": second["turn"]["id"], "text": "How many legs?"})
    edited = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    final = await sock.until_final()

    ids = [second["turn"]["id"], regenerated["turn"]["id"], edited["turn"]["id"]]
    assert final["turn"]["siblings"] == ids and final["turn"]["sibling_index"] == 2
    # The edit is the question's second version; the regeneration was its first one's answer.
    versions = final["turn"]["versions"]
    assert versions["question"] == {"index": 1, "count": 2, "prev": ids[1], "next": None}
    assert versions["answer"]["count"] == 1
    assert "2/2" in final["turn"]["html"] and "Versions of this answer" not in final["turn"]["html"]
    turns = {t.pk: t async for t in Turn.objects.filter(pk__in=ids)}
    assert {t.parent_id for t in turns.values()} == {first["turn"]["id"]}
    assert (
        turns[ids[1]].user_text == "How many paws?" and turns[ids[2]].user_text == "How many legs?"
    )
    # The branch remembers the first turn, through the upstream chain.
    assert "I have 2 dogs." in text_of(turns[ids[2]])
    conv = await Conversation.objects.aget(pk=conversation)
    assert conv.current_turn_id == ids[2]


async def test_stateless_mode_sends_the_whole_branch(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conversation = await Conversation.objects.acreate(
        owner=alice, model="gemini-3.5-flash", stateless=True
    )
    sock = await connect(alice)
    first = await start_chat(sock, "I have 2 dogs in my house.", conversation.pk)
    await sock.until_final()
    await start_chat(sock, "How many paws?", conversation.pk, first["turn"]["id"])
    final = await sock.until_final()
    creates = [
        r
        for r in upstream.app.requests
        if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]
    body = creates[-1]["json"]
    assert body["store"] is False and "previous_interaction_id" not in body
    first_turn = await Turn.objects.aget(pk=first["turn"]["id"])
    assert body["input"] == [
        {"type": "user_input", "content": [{"type": "text", "text": "I have 2 dogs in my house."}]},
        *first_turn.steps,
        {"type": "user_input", "content": [{"type": "text", "text": "How many paws?"}]},
    ]
    assert final["turn"]["status"] == "completed"
    assert "I have 2 dogs in my house." in final["turn"]["html"]


async def test_an_expired_chain_is_replayed_from_local_history(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    first = await start_chat(sock, "Remember the word avocado.")
    await sock.until_final()
    turn = await Turn.objects.aget(pk=first["turn"]["id"])
    upstream.app.store.clear()  # the upstream forgot it
    await start_chat(sock, "Which word?", turn.conversation_id, turn.pk)
    final = await sock.until_final()
    assert final["turn"]["status"] == "completed" and final["turn"]["error"] is None
    creates = [
        r["json"]
        for r in upstream.app.requests
        if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]
    assert creates[-2]["previous_interaction_id"] == turn.interaction_id
    assert "previous_interaction_id" not in creates[-1]
    assert creates[-1]["input"][0]["content"][0]["text"] == "Remember the word avocado."
    assert "Remember the word avocado." in final["turn"]["html"]


async def test_upstream_errors_show_a_message_and_retry_works(
    connect: Any, alice: Any, upstream: Any
) -> None:
    upstream.app.faults.push(Fault(kind="status", status=503, times=10, route="create"))
    sock = await connect(alice)
    created = await start_chat(sock, "hello")
    final = await sock.until_final(timeout=20)
    assert final["turn"]["status"] == "failed"
    assert final["turn"]["error"]["retryable"] is True
    assert "503" in final["turn"]["error"]["message"]
    upstream.app.faults.clear()
    await sock.send({"type": "retry", "turn": created["turn"]["id"]})
    final = await sock.until_final(created["turn"]["id"])
    assert final["turn"]["status"] == "completed" and final["turn"]["error"] is None


async def test_a_silent_upstream_times_out_with_a_clear_message(
    connect: Any, alice: Any, upstream: Any, settings: Any
) -> None:
    settings.UPSTREAM_READ_TIMEOUT_SECONDS = 1
    settings.UPSTREAM_MAX_RETRIES = 0
    upstream.app.faults.push(Fault(kind="hang", seconds=30, route="create"))
    sock = await connect(alice)
    await start_chat(sock, "hello?")
    final = await sock.until_final(timeout=10)
    assert final["turn"]["status"] == "failed"
    assert final["turn"]["error"] == {
        "code": "timeout",
        "message": "Gemini did not answer in time.",
        "retryable": True,
    }
    assert "Retry" in final["turn"]["html"]


async def test_an_error_mid_stream_keeps_the_partial_answer(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:error]] tell me something")
    final = await sock.until_final()
    assert final["turn"]["status"] == "failed"
    assert "error" in final["turn"]["error"]["message"].lower()
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert turn.steps  # what arrived before the error is kept


async def test_a_second_message_while_one_is_running_is_refused(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:slow]] long one")
    await sock.send(
        {
            "type": "send",
            "conversation": created["turn"]["conversation"],
            "parent": created["turn"]["id"],
            "text": "again",
        }
    )
    error = await sock.until(is_type("error"))
    assert error["code"] == "busy"
    await sock.until_final()
    assert await Turn.objects.filter(conversation_id=created["turn"]["conversation"]).acount() == 1


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "unknown_type"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "send", "text": 5}', "invalid"),
        ('{"type": "send", "text": "hi", "extra": 1}', "invalid"),
        ('{"type": "stop", "turn": "1; DROP TABLE"}', "invalid"),
        ('{"type": "send", "text": "' + "x" * 1_100_000 + '"}', "too_large"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_usable(
    connect: Any, alice: Any, upstream: Any, raw: str, code: str
) -> None:
    sock = await connect(alice)
    await sock.comm.send_to(text_data=raw)
    error = await sock.receive()
    assert error["type"] == "error" and error["code"] == code
    conversation = await Conversation.objects.acreate(owner=alice, model="gemini-3.5-flash")
    await sock.send({"type": "subscribe", "conversation": conversation.pk})
    assert await sock.comm.receive_nothing(timeout=0.2)


async def test_another_users_conversation_is_not_found(
    connect: Any, alice: Any, bob: Any, upstream: Any
) -> None:
    mine = await Conversation.objects.acreate(owner=alice, model="gemini-3.5-flash")
    turn = await Turn.objects.acreate(
        conversation=mine, model="m", user_text="secret", status="completed"
    )
    sock = await connect(bob)
    for frame in (
        {"type": "subscribe", "conversation": mine.pk},
        {"type": "send", "conversation": mine.pk, "text": "hi"},
        {"type": "stop", "turn": turn.pk},
        {"type": "regenerate", "turn": turn.pk},
        {"type": "edit", "turn": turn.pk, "text": "x"},
        {"type": "retry", "turn": turn.pk},
        {"type": "select", "conversation": mine.pk, "turn": turn.pk},
    ):
        await sock.send(frame)
        error = await sock.receive()
        assert error["type"] == "error" and error["code"] == "not_found", frame
    assert await Turn.objects.filter(conversation=mine).acount() == 1


async def test_generation_goes_on_without_any_socket(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:slow]] keep going")
    await sock.close()
    generation = workers.running(created["turn"]["id"])
    assert generation is not None and generation.task is not None
    await asyncio.wait_for(generation.task, 10)
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    assert turn.status == "completed" and text_of(turn)


async def test_a_conversation_made_from_settings_is_named_by_its_first_message(
    connect: Any, alice: Any, upstream: Any
) -> None:
    conversation = await Conversation.objects.acreate(owner=alice, model="gemini-3.5-flash")
    sock = await connect(alice)
    await start_chat(sock, "Plan a trip to Lisbon\nwith details", conversation.pk)
    renamed = next(f for f in sock.frames if f["type"] == "conversation")
    assert renamed["conversation"]["title"] == "Plan a trip to Lisbon"
    await conversation.arefresh_from_db()
    assert conversation.title == "Plan a trip to Lisbon"
    await sock.until_final()


async def test_each_generation_is_measured_and_logged_without_its_text(
    connect: Any, alice: Any, upstream: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from chatapp import metrics

    deltas_before = metrics.DELTAS._value.get()
    sock = await connect(alice)
    assert metrics.OPEN_SOCKETS._value.get() >= 1
    with caplog.at_level("INFO", logger="chatapp.relay"):
        created = await start_chat(sock, "a secret plan about avocados")
        await sock.until_final()
    record = next(r for r in caplog.records if getattr(r, "event", None) == "generation")
    assert record.turn == created["turn"]["id"] and record.user == alice.pk
    assert record.outcome == "completed" and record.tokens > 0 and record.duration_ms >= 0
    assert "avocados" not in str(vars(record))
    assert metrics.DELTAS._value.get() > deltas_before


async def test_a_stream_that_ends_without_a_final_status_is_not_called_complete(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interactions_client.types import parse_event

    async def cut_short(self: Any, stream: Any) -> None:
        # The upstream closes the stream cleanly after the first step: no interaction.completed.
        self.acc.feed(
            parse_event(
                {
                    "event_type": "interaction.created",
                    "interaction": {"id": "v1_cut", "status": "in_progress"},
                }
            )
        )
        self.acc.feed(
            parse_event(
                {
                    "event_type": "step.start",
                    "index": 0,
                    "step": {"type": "model_output", "content": []},
                }
            )
        )
        await stream.close()

    monkeypatch.setattr(relay.Generation, "_consume", cut_short)
    sock = await connect(alice)
    await start_chat(sock, "hello")
    final = await sock.until_final()
    assert final["turn"]["status"] == "failed"
    assert final["turn"]["error"]["code"] == "interrupted" and final["turn"]["error"]["retryable"]


async def test_a_message_reaches_the_upstream_within_three_database_hops(
    connect: Any, alice: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Turn set-up queues behind the one database thread: keep its hops few (at most 3)."""
    from asgiref.sync import SyncToAsync

    sock = await connect(alice)
    created = await start_chat(sock, "first message")
    await sock.until_final()
    hops: list[str] = []
    at_request: list[int] = []
    executor = SyncToAsync.single_thread_executor  # the one database thread
    original_submit = executor.submit
    original_client = upstream_clients.client

    def counting_submit(fn: Any, *args: Any, **kwargs: Any) -> Any:
        # Names only: the repr of a queryset argument would run its query here.
        target = getattr(args[-1], "func", None) if args else None
        hops.append(getattr(target, "__qualname__", type(fn).__name__))
        return original_submit(fn, *args, **kwargs)

    class Recording:
        def __init__(self, real: Any) -> None:
            self.real = real

        async def create(self, **params: Any) -> Any:
            at_request.append(len(hops))
            return await self.real.create(**params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    def recording_client(key: int = 0) -> Any:
        real = original_client(key)
        return type("C", (), {"interactions": Recording(real.interactions)})()

    monkeypatch.setattr(executor, "submit", counting_submit)
    monkeypatch.setattr(upstream_clients, "client", recording_client)
    turn = created["turn"]
    await sock.send(
        {"type": "send", "conversation": turn["conversation"], "parent": turn["id"], "text": "more"}
    )
    await sock.until_final()
    assert hops, "the count sees the database thread"
    assert at_request and at_request[0] <= 3, f"hops before the request: {hops[: at_request[0]]}"


async def test_an_answer_continued_over_several_calls_streams_as_one_block(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    created = await start_chat(sock, "[[sim:long]] the history of tea")
    final = await sock.until_final()
    turn = await Turn.objects.aget(pk=created["turn"]["id"])
    outputs = [i for i, s in enumerate(turn.steps) if s["type"] == "model_output"]
    assert len(outputs) >= 3, "the simulator answered in several hops"
    deltas = [f for f in sock.frames if f["type"] == "delta" and f["delta"]["type"] == "text"]
    steps = [f for f in sock.frames if f["type"] == "step"]
    assert {f["index"] for f in deltas} == {outputs[0]}
    assert {f["index"] for f in steps if f["index"] >= outputs[0]} == {outputs[0]}
    assert "".join(f["delta"]["text"] for f in deltas) == text_of(turn)
    blocks = [v for v in final["turn"]["steps"] if v["type"] == "model_output"]
    assert len(blocks) == 1 and final["turn"]["html"].count('class="step"') == 2


async def test_an_80000_character_cjk_message_is_answered_in_frames_any_client_takes(
    connect: Any, alice: Any, upstream: Any
) -> None:
    text = "漢字かな交じり文" * 10_000  # 80,000 characters, 240 KB of UTF-8
    sock = await connect(alice)
    await sock.send({"type": "send", "conversation": None, "parent": None, "text": text})
    final = await sock.until_final(timeout=30)
    assert final["turn"]["status"] == "completed" and text in final["turn"]["user_text"]
    # Every message on the wire stays small; long frames came as chunks, joined in order.
    assert max(sock.sizes) <= delivery.CHUNK_CHARS + 1024
    assert sock.chunks > 0


async def test_nul_and_lone_surrogates_in_a_message_never_reach_the_database_as_errors(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    await sock.comm.send_to(text_data='{"type": "send", "text": "a \\ud800 b"}')
    refused = await sock.receive()
    assert refused["type"] == "error" and refused["code"] == "invalid"
    await sock.comm.send_to(text_data='{"type": "send", "text": "a\\u0000b"}')
    final = await sock.until_final()
    turn = await Turn.objects.aget(pk=final["turn"]["id"])
    assert turn.user_text == "ab" and turn.status == "completed"
