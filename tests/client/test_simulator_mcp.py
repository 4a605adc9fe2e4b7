"""The simulator's `mcp_server` tool calls a real MCP server (tests/client/mcp_server.py) and
shapes the call and result as `mcp_server_tool_call` / `mcp_server_tool_result` steps; a
server that refuses, fails or is slow becomes an error result inside the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import interactions_client as ic
from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.simulator.server import RunningSimulator
from interactions_client.types import (
    McpServerTool,
    McpServerToolCallStep,
    McpServerToolResultStep,
    ModelOutputStep,
)

from .mcp_server import McpBehaviour, serve_mcp

MODEL = "gemini-3.5-flash"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(mcp_timeout_seconds=0.5)) as running:
        yield running


@pytest.fixture()
def client(sim: RunningSimulator) -> Iterator[ic.Client]:
    with ic.Client(api_key="test-key", base_url=sim.base_url) as client:
        yield client


def mcp_steps(interaction: ic.Interaction) -> tuple[McpServerToolCallStep, McpServerToolResultStep]:
    steps = interaction.steps or []
    calls = [s for s in steps if isinstance(s, McpServerToolCallStep)]
    results = [s for s in steps if isinstance(s, McpServerToolResultStep)]
    assert len(calls) == 1 and len(results) == 1, [s.type for s in steps]
    return calls[0], results[0]


@pytest.mark.parametrize("sse", [False, True], ids=["json", "sse"])
def test_mcp_tool_called_over_streamable_http(client: ic.Client, sse: bool) -> None:
    with serve_mcp(McpBehaviour(token="s3cret", sse=sse)) as (url, server):
        tool = McpServerTool(
            name="weather_server", url=url, headers={"Authorization": "Bearer s3cret"}
        )
        interaction = client.interactions.create(
            model=MODEL, input="What is the weather forecast in Lisbon?", tools=[tool]
        )
    call, result = mcp_steps(interaction)
    assert (call.server_name, call.name, call.arguments) == (
        "weather_server",
        "city_weather",
        {"city": "Lisbon"},
    )
    assert result.call_id == call.id and result.server_name == "weather_server"
    assert result.result == [{"type": "text", "text": "Sunny and 21 °C in Lisbon"}]
    assert not result.is_error
    assert "Sunny and 21 °C in Lisbon" in (interaction.output_text or "")
    methods = [c["message"]["method"] for c in server.calls]
    assert methods == ["initialize", "notifications/initialized", "tools/list", "tools/call"]
    # The credentials went to the MCP server, and its session id came back on every call.
    assert all(c["headers"].get("Authorization") == "Bearer s3cret" for c in server.calls)
    assert all(c["headers"].get("mcp-session-id") for c in server.calls[1:])


def test_allowed_tools_limit_what_the_model_may_call(client: ic.Client) -> None:
    with serve_mcp() as (url, _server):
        tool = {
            "type": "mcp_server",
            "name": "calc",
            "url": url,
            "allowed_tools": [{"mode": "auto", "tools": ["add"]}],
        }
        interaction = client.interactions.create(
            model=MODEL, input="What is the weather in Paris?", tools=[tool]
        )
    call, _result = mcp_steps(interaction)
    assert call.name == "add"


def test_streamed_mcp_steps_fold_like_the_unary_answer(client: ic.Client) -> None:
    with serve_mcp() as (url, _server):
        tool = McpServerTool(name="calc", url=url)
        with client.interactions.create(
            model=MODEL, input="Please add two numbers", tools=[tool], stream=True
        ) as stream:
            for _event in stream:
                pass
            folded = stream.interaction
    call, result = mcp_steps(folded)
    assert call.name == "add" and call.arguments is not None
    assert result.name == "add" and isinstance(result.result, list)
    assert isinstance((folded.steps or [])[-1], ModelOutputStep)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (McpBehaviour(token="right"), "refused the credentials (HTTP 401)"),
        (McpBehaviour(status=503), "answered HTTP 503"),
        (McpBehaviour(delay=2.0), "did not answer in time"),
    ],
    ids=["401", "503", "timeout"],
)
def test_a_refusing_or_slow_server_is_an_error_inside_the_answer(
    client: ic.Client, behaviour: McpBehaviour, reason: str
) -> None:
    with serve_mcp(behaviour) as (url, _server):
        tool = McpServerTool(name="flaky", url=url, headers={"Authorization": "Bearer wrong"})
        interaction = client.interactions.create(model=MODEL, input="Add 2 and 3", tools=[tool])
    assert interaction.status == "completed"
    call, result = mcp_steps(interaction)
    assert call.server_name == "flaky" and result.is_error is True
    assert isinstance(result.result, str) and reason in result.result
    assert "I could not use" in (interaction.output_text or "") and reason in (
        interaction.output_text or ""
    )


def test_a_server_that_is_down_is_an_error_inside_the_answer(client: ic.Client) -> None:
    with serve_mcp() as (url, _server):
        pass  # the port is closed again
    tool = McpServerTool(name="gone", url=url)
    interaction = client.interactions.create(model=MODEL, input="Add 2 and 3", tools=[tool])
    _call, result = mcp_steps(interaction)
    assert result.is_error and "could not connect" in str(result.result)


def test_mcp_tool_without_url_is_a_bad_request(client: ic.Client) -> None:
    with pytest.raises(ic.BadRequestError, match="url"):
        client.interactions.create(
            model=MODEL, input="hi", tools=[{"type": "mcp_server", "name": "x"}]
        )


def test_no_mcp_call_in_a_turn_that_calls_a_function_or_returns_results(
    client: ic.Client,
) -> None:
    function = {
        "type": "function",
        "name": "get_weather",
        "description": "weather forecast for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    with serve_mcp() as (url, server):
        tools = [function, McpServerTool(name="calc", url=url)]
        asked = client.interactions.create(model=MODEL, input="Weather in Rome?", tools=tools)
        assert asked.status == "requires_action"
        call = (asked.steps or [])[-1]
        answered = client.interactions.create(
            model=MODEL,
            previous_interaction_id=asked.id,
            tools=tools,
            input=[{"type": "function_result", "call_id": call.id, "result": "sunny"}],  # type: ignore[union-attr]
        )
    assert answered.status == "completed"
    assert server.calls == []
