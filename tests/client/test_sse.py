from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from interactions_client import EventDecoder, LineDecoder, ServerSentEvent, SSEDecoder
from interactions_client._sse import iter_events

STREAM = (
    "\ufeff: a comment line\r\n"
    "event: interaction.created\r\n"
    'data: {"event_type":"interaction.created","text":"Grüße, 日本, 🌍"}\r\n'
    "id: evt_1\r\n"
    "\r\n"
    "event: step.delta\n"
    "data: first line\n"
    "data:second line\n"
    "data\n"
    "retry: 2500\n"
    "\n"
    "data: cr only\r"
    "\r"
    "event: ignored-without-data\n"
    "\n"
    "data: last\n\n"
).encode()

EXPECTED = [
    ServerSentEvent(
        "interaction.created",
        '{"event_type":"interaction.created","text":"Grüße, 日本, 🌍"}',
        "evt_1",
        None,
    ),
    ServerSentEvent("step.delta", "first line\nsecond line\n", "evt_1", 2500),
    ServerSentEvent("message", "cr only", "evt_1", 2500),
    ServerSentEvent("message", "last", "evt_1", 2500),
]


def decode_in_chunks(payload: bytes, cuts: list[int]) -> list[ServerSentEvent]:
    points = sorted({c % (len(payload) + 1) for c in cuts})
    chunks, start = [], 0
    for point in points:
        chunks.append(payload[start:point])
        start = point
    chunks.append(payload[start:])
    return list(iter_events(chunks))


def test_it_decodes_the_whole_stream_at_once() -> None:
    assert list(iter_events([STREAM])) == EXPECTED


def test_it_decodes_one_byte_at_a_time() -> None:
    assert list(iter_events([STREAM[i : i + 1] for i in range(len(STREAM))])) == EXPECTED


def test_it_survives_every_single_cut() -> None:
    for cut in range(len(STREAM) + 1):
        assert decode_in_chunks(STREAM, [cut]) == EXPECTED, cut


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_every_chunking_yields_the_same_events(cuts: list[int]) -> None:
    assert decode_in_chunks(STREAM, cuts) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["step.delta", "error", ""]), st.text(min_size=1, max_size=30)),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.lists(st.integers(min_value=0, max_value=2_000), max_size=20),
)
def test_generated_streams_round_trip_under_any_chunking(
    events: list[tuple[str, str]], newline: str, cuts: list[int]
) -> None:
    # Encode arbitrary text as SSE (one data line per text line), then decode it back.
    payload = ""
    expected = []
    for name, text in events:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if name:
            payload += f"event: {name}{newline}"
        payload += "".join(f"data: {line}{newline}" for line in lines)
        payload += newline
        expected.append(ServerSentEvent(name or "message", "\n".join(lines)))
    assert decode_in_chunks(payload.encode(), cuts) == expected


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    decoder = LineDecoder()
    assert list(decoder.feed(b"data: a\r")) == ["data: a"]
    assert list(decoder.feed(b"\ndata: b\r\n")) == ["data: b"]


def test_a_multibyte_character_split_between_chunks_survives() -> None:
    raw = "data: 🌍\n\n".encode()
    decoder = SSEDecoder()
    events = list(decoder.feed(raw[:8])) + list(decoder.feed(raw[8:]))
    assert events == [ServerSentEvent("message", "🌍")]


def test_an_unterminated_event_at_the_end_is_dropped() -> None:
    assert list(iter_events([b"data: complete\n\n", b"data: cut off"])) == [
        ServerSentEvent("message", "complete")
    ]


def test_fields_follow_the_spec() -> None:
    decoder = EventDecoder()
    for line in ["id: with\0null", "retry: 12x", "unknown: field", "data:  two spaces"]:
        assert decoder.feed(line) is None
    assert decoder.feed("") == ServerSentEvent("message", " two spaces", None, None)
