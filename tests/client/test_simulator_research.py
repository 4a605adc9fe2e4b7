"""The simulator's Deep Research agent: a plan first with collaborative planning, edited or
confirmed in the next turn, then a background run with thought summaries as progress and a
report with url citations; it can be cancelled, and it refuses to run in the foreground."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import interactions_client as ic
from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.types import (
    DeepResearchAgentConfig,
    GoogleSearchCallStep,
    ModelOutputStep,
    ThoughtStep,
    UrlCitation,
    UrlContextResultStep,
)

AGENT = "deep-research-preview-04-2026"
PLANNING = DeepResearchAgentConfig(collaborative_planning=True, thinking_summaries="auto")


@pytest.fixture(scope="module")
def client() -> Iterator[ic.Client]:
    config = SimulatorConfig(background_seconds=0.3)
    with serve(config) as sim, ic.Client(api_key="test-key", base_url=sim.base_url) as client:
        yield client


def run(client: ic.Client, **params: Any) -> ic.Interaction:
    started = client.interactions.create(agent=AGENT, background=True, **params)
    assert started.status in ("queued", "in_progress")
    return client.interactions.wait(started.id, poll_interval=0.05, timeout=10)


def generated(interaction: ic.Interaction) -> list[Any]:
    """The steps the agent made (a get also returns the input steps)."""
    return [s for s in interaction.steps or [] if s.type != "user_input"]


def output(interaction: ic.Interaction) -> ModelOutputStep:
    step = (interaction.steps or [])[-1]
    assert isinstance(step, ModelOutputStep)
    return step


def test_plan_edit_confirm_then_cited_report(client: ic.Client) -> None:
    question = "How do heat pumps perform in cold climates?"
    plan = run(client, input=question, agent_config=PLANNING)
    assert plan.status == "completed"
    steps = generated(plan)
    assert [s.type for s in steps] == ["thought", "model_output"]
    assert isinstance(steps[0], ThoughtStep) and steps[0].summary
    assert "## Research plan" in plan.output_text and question in plan.output_text
    assert not any(isinstance(s, GoogleSearchCallStep) for s in plan.steps or [])

    edited = run(
        client,
        input="Also compare running costs in Norway",
        previous_interaction_id=plan.id,
        agent_config=PLANNING,
    )
    assert "## Research plan" in edited.output_text
    assert "Also compare running costs in Norway" in edited.output_text

    report = run(
        client,
        input="Looks good, go ahead",
        previous_interaction_id=edited.id,
        agent_config=PLANNING,
    )
    kinds = [s.type for s in generated(report)]
    assert kinds[0] == "thought" and kinds[-1] == "model_output"
    assert {"google_search_call", "google_search_result", "url_context_call"} <= set(kinds)
    summaries = [s for s in report.steps or [] if isinstance(s, ThoughtStep) and s.summary]
    assert len(summaries) >= 3
    text = report.output_text
    assert "# Report: " + question in text and "running costs in Norway" in text
    notes = output(report).content[0].annotations or []  # type: ignore[union-attr]
    assert len(notes) == 3 and all(isinstance(n, UrlCitation) for n in notes)
    read = [s for s in report.steps or [] if isinstance(s, UrlContextResultStep)][0]
    assert {n.url for n in notes} == {r.url for r in read.result or []}
    encoded = text.encode()
    assert all(encoded[n.start_index : n.end_index] for n in notes)  # type: ignore[misc]


def test_without_collaborative_planning_it_researches_at_once(client: ic.Client) -> None:
    config = DeepResearchAgentConfig(thinking_summaries="none")
    report = run(client, input="History of the bicycle", agent_config=config)
    assert "# Report: History of the bicycle" in report.output_text
    assert all(
        not s.summary for s in report.steps or [] if isinstance(s, ThoughtStep)
    )  # summaries only when asked for


def test_progress_streams_as_thought_summaries_before_the_report(client: ic.Client) -> None:
    started = client.interactions.create(
        agent=AGENT,
        background=True,
        input="Ocean acidification",
        agent_config=DeepResearchAgentConfig(thinking_summaries="auto"),
    )
    order = []
    with client.interactions.get(started.id, stream=True) as stream:
        for event in stream:
            delta = getattr(event, "delta", None)
            if delta is not None and delta.type in ("thought_summary", "text"):
                order.append(delta.type)
        folded = stream.interaction
    assert order.index("thought_summary") < order.index("text")
    assert folded.status == "completed" and "# Report" in folded.output_text


def test_a_running_research_can_be_cancelled(client: ic.Client) -> None:
    started = client.interactions.create(
        agent=AGENT, background=True, input="Slow topic", agent_config={"type": "deep-research"}
    )
    cancelled = client.interactions.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert client.interactions.get(started.id).status == "cancelled"


def test_foreground_deep_research_is_refused(client: ic.Client) -> None:
    with pytest.raises(ic.BadRequestError, match="background"):
        client.interactions.create(agent=AGENT, input="Anything")
