"""The simulator's `google_maps` tool: call/result steps with places, the widget token when
asked for, `place_citation` annotations on the answer, and the location the tool carries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import interactions_client as ic
from interactions_client.simulator import serve
from interactions_client.types import (
    GoogleMapsCallStep,
    GoogleMapsResultStep,
    GoogleMapsTool,
    PlaceCitation,
)

MODEL = "gemini-3.5-flash"


@pytest.fixture(scope="module")
def client() -> Iterator[ic.Client]:
    with serve() as sim, ic.Client(api_key="test-key", base_url=sim.base_url) as client:
        yield client


def maps_of(interaction: ic.Interaction) -> tuple[GoogleMapsCallStep, GoogleMapsResultStep]:
    steps = interaction.steps or []
    calls = [s for s in steps if isinstance(s, GoogleMapsCallStep)]
    results = [s for s in steps if isinstance(s, GoogleMapsResultStep)]
    assert len(calls) == len(results) == 1, [s.type for s in steps]
    return calls[0], results[0]


def test_places_steps_widget_and_place_citations(client: ic.Client) -> None:
    tool = GoogleMapsTool(enable_widget=True, latitude=38.7223, longitude=-9.1393)
    interaction = client.interactions.create(
        model=MODEL, input="Quiet cafés to work from nearby?", tools=[tool]
    )
    call, result = maps_of(interaction)
    assert call.arguments and call.arguments.queries == ["Quiet cafés to work from nearby"]
    assert result.call_id == call.id and result.result
    item = result.result[0]
    assert item.widget_context_token and item.widget_context_token.startswith("widgetcontent/")
    places = item.places or []
    assert len(places) == 3
    assert all(p.place_id and p.place_id.startswith("places/") and p.url for p in places)
    assert all(p.review_snippets and p.review_snippets[0].review_id for p in places)
    text = interaction.output_text or ""
    assert "near 38.7223, -9.1393" in text
    outputs = [s for s in interaction.steps or [] if s.type == "model_output"]
    notes = outputs[-1].content[0].annotations  # type: ignore[union-attr]
    assert [n.place_id for n in notes] == [p.place_id for p in places]
    encoded = text.encode()
    for note, place in zip(notes, places, strict=True):
        assert isinstance(note, PlaceCitation)
        cited = encoded[note.start_index : note.end_index].decode()
        assert cited.startswith(place.name or "?")


def test_same_query_same_places_and_no_widget_unless_asked(client: ic.Client) -> None:
    first = client.interactions.create(
        model=MODEL, input="Bookshops in Porto", tools=[{"type": "google_maps"}]
    )
    again = client.interactions.create(
        model=MODEL, input="Bookshops in Porto", tools=[{"type": "google_maps"}]
    )
    _call, result = maps_of(first)
    assert result.result and result.result[0].widget_context_token is None
    assert maps_of(again)[1].result == result.result


def test_streamed_maps_answer_folds_with_its_citations(client: ic.Client) -> None:
    with client.interactions.create(
        model=MODEL, input="Gardens in Kyoto", tools=[GoogleMapsTool()], stream=True
    ) as stream:
        for _event in stream:
            pass
        folded = stream.interaction
    _call, result = maps_of(folded)
    notes = [
        n
        for s in folded.steps or []
        if s.type == "model_output"
        for c in s.content or []
        for n in c.annotations or []
    ]  # type: ignore[union-attr]
    assert len(notes) == 3 and all(isinstance(n, PlaceCitation) for n in notes)


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "google_maps", "latitude": 10.0},
        {"type": "google_maps", "latitude": 99, "longitude": 0},
    ],
)
def test_half_or_impossible_location_is_a_bad_request(client: ic.Client, tool: dict) -> None:
    with pytest.raises(ic.BadRequestError, match="google_maps"):
        client.interactions.create(model=MODEL, input="Parks", tools=[tool])
