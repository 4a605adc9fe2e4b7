"""The tool registry: schemas from type hints, the built-ins, CHAT_TOOLS and the runner.

The hostile tools below are loaded through CHAT_TOOLS by the tests, so tool processes import
this module: no models at import time (they would make each process set up Django).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatapp import tool_functions, tool_runner, tools
from chatapp import upstream as upstream_clients
from chatapp.tool_builtins import calculator, current_datetime
from chatapp.tool_functions import Tool
from chatapp.tools import function_result_step, run_tool
from interactions_client.simulator import tools as simulated_model
from tests.app import sample_tools

SAMPLE = "tests.app.sample_tools"
HOSTILE = "tests.app.test_tools"
BUILTINS = ["current_datetime", "calculator"]
TEAM = ["lookup_order", "explode", "wait_for_release", "async_echo", "odd_result"]


@pytest.fixture
def team_tools(settings: Any) -> Any:
    settings.CHAT_TOOLS = [f"{SAMPLE}.{name}" for name in TEAM]
    return settings


def run_team_tool(name: str, arguments: Any) -> Any:
    return run_tool(name, arguments, enabled=TEAM + BUILTINS)


# --- hostile tools (what a prompt can make a careless tool do) ---


def hog(digits: int) -> int:
    """The calculator's round() before its guard: 10**digits built in one C call."""
    return round(1, -digits)


def spin() -> None:
    """Loops forever in Python."""
    while True:
        pass


def hoard(step_mb: int = 16) -> None:
    """Allocates without end."""
    held = []
    while True:
        held.append(bytearray(step_mb * 1024 * 1024))


def snooze(seconds: float) -> str:
    """Sleeps, then answers."""
    time.sleep(seconds)
    return "rested"


def secret() -> str:
    """A tool that must run only where it is enabled."""
    return "the launch codes"


@asynccontextmanager
async def loop_watch() -> AsyncIterator[Callable[[], float]]:
    """Measures the event loop's worst stall: how late a 50 ms sleep wakes up."""
    worst = 0.0

    async def tick() -> None:
        nonlocal worst
        while True:
            start = time.monotonic()
            await asyncio.sleep(0.05)
            worst = max(worst, time.monotonic() - start - 0.05)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.1)
    try:
        yield lambda: worst
    finally:
        ticker.cancel()


def never_blocked(worst: float, elapsed: float) -> bool:
    """Whether the loop's worst stall is far shorter than the call it lived through.

    A call run on the loop itself stalls it for about the call's whole length; a stall of at
    most half of it (or of 0.5 s for a quick call) is the machine's own noise, which grows with
    its load as the call's length does.
    """
    return worst < max(elapsed / 2, 0.5)


# --- schemas derived from the signature ---


def test_schema_from_type_hints_defaults_and_docstring() -> None:
    tool = Tool.from_function(sample_tools.lookup_order)
    assert tool.name == "lookup_order"
    assert tool.description == "Look up an order in the shop."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "order_id": {"type": "integer", "description": "The order number."},
            "status": {
                "type": "string",
                "enum": ["open", "shipped", "cancelled"],
                "description": "Only return the order if it has this status.",
            },
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Labels to match, all of them (continued on a second line).",
            },
            "note": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "A free-text note.",
            },
            "include_items": {"type": "boolean", "default": False},
            "weight_kg": {"type": "number", "default": 1.5},
        },
        "required": ["order_id", "status", "tags"],
    }
    assert tool.declaration() == {
        "type": "function",
        "name": "lookup_order",
        "description": "Look up an order in the shop.",
        "parameters": tool.parameters,
    }


def test_titles_are_stripped_but_a_parameter_named_title_stays() -> None:
    def rename(title: str, schema: dict[str, int], json: bool = True) -> None:
        """Names that would clash with pydantic's BaseModel attributes."""

    params = Tool.from_function(rename).parameters
    assert set(params["properties"]) == {"title", "schema", "json"}
    assert "title" not in params and "title" not in params["properties"]["title"]
    assert params["properties"]["schema"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


def test_strip_titles_leaves_data_alone() -> None:
    schema = {
        "title": "Model",
        "properties": {"title": {"title": "Title", "default": {"title": "kept"}, "enum": []}},
        "$defs": {"Item": {"title": "Item", "const": {"title": "kept"}}},
    }
    assert tool_functions._strip_titles(schema) == {
        "properties": {"title": {"default": {"title": "kept"}, "enum": []}},
        "$defs": {"Item": {"const": {"title": "kept"}}},
    }


def test_a_function_without_docstring_or_parameters() -> None:
    def ping() -> str:
        return "pong"

    tool = Tool.from_function(ping)
    assert tool.description == ""
    assert tool.parameters == {"type": "object", "properties": {}}


def test_variadic_parameters_are_refused() -> None:
    def spread(*values: int) -> int:
        return sum(values)

    with pytest.raises(TypeError, match="named parameters"):
        Tool.from_function(spread)


# --- built-ins ---


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("-(3 - 5)", 2),
        ("+4", 4),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(pi, 3)", 3.142),
        ("round(123456, -2)", 123500),
        ("log(8, 2)", 3.0),
        ("floor(2.7) + ceil(2.1)", 5),
        ("1e3 + 0.5", 1000.5),
        ("2 ** -1", 0.5),
    ],
)
def test_calculator(expression: str, result: float) -> None:
    assert calculator(expression) == {"expression": expression, "result": result}


def test_calculator_trigonometry() -> None:
    assert math.isclose(calculator("sin(pi / 2) + cos(0)")["result"], 2.0)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "unsupported"),
        ("().__class__", "unsupported"),
        ("9**9**9", "too large"),
        ("'a'*10**9", "only numbers"),
        ("os", "unknown name 'os'"),
        ("lambda: 1", "unsupported"),
        ("[x for x in (1, 2)]", "unsupported"),
        ("sqrt.__call__(4)", "unsupported"),
        ("round(2.5, ndigits=1)", "unsupported"),
        ("True + 1", "only numbers"),
        ("2 ^ 3", "use \\*\\*"),
        ("1j * 2", "only numbers"),
        ("10 ** 99 * 10 ** 99", "too large"),
        ("12345 ** 100", "too large"),
        ("exp(1000)", "range"),  # OverflowError from math, reported as such
        ("1 +", "not a valid"),
        ("1" * 501, "longer than"),
        ("round(1, -10**8)", "at most 1000 digits"),
    ],
)
def test_calculator_refuses(expression: str, reason: str) -> None:
    with pytest.raises((ValueError, OverflowError), match=reason):
        calculator(expression)


def test_calculator_errors_are_results() -> None:
    assert asyncio.run(run_team_tool("calculator", {"expression": "1/0"})) == (
        "ZeroDivisionError: division by zero",
        True,
    )
    result, is_error = asyncio.run(run_team_tool("calculator", {"expression": "sqrt(-1)"}))
    assert is_error and result == "ValueError: math domain error"


def test_current_datetime_in_a_zone() -> None:
    now = current_datetime("Asia/Kolkata")
    assert now["timezone"] == "Asia/Kolkata"
    assert now["utc_offset"] == "+05:30"
    parsed = datetime.fromisoformat(now["datetime"])
    assert parsed.strftime("%A") == now["weekday"]
    assert now["date"] == parsed.date().isoformat()
    assert now["time"] == parsed.strftime("%H:%M:%S")
    assert current_datetime()["utc_offset"] == "+00:00"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", ""])
def test_current_datetime_unknown_zone(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        current_datetime(zone)


async def test_current_datetime_bad_zone_is_an_error_result() -> None:
    result, is_error = await run_team_tool("current_datetime", {"timezone": "Nowhere/City"})
    assert is_error
    assert result.startswith("ValueError: unknown time zone 'Nowhere/City'")


# --- the registry ---


def test_builtins_are_always_available(settings: Any) -> None:
    settings.CHAT_TOOLS = []
    assert [t.name for t in tools.available()] == ["current_datetime", "calculator"]


def test_chat_tools_loads_functions_by_dotted_path(team_tools: Any) -> None:
    names = list(tools.registry())
    assert names[:3] == ["current_datetime", "calculator", "lookup_order"]
    assert tools.registry()["lookup_order"].func is sample_tools.lookup_order
    first = tools.registry()
    assert tools.registry() is first  # cached per value of CHAT_TOOLS
    tools.registry.cache_clear()  # type: ignore[attr-defined]
    assert tools.registry() is not first and list(tools.registry()) == names
    assert [d["name"] for d in tools.declarations(["calculator", "gone", "explode"])] == [
        "calculator",
        "explode",
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.app.no_such_module.tool", "cannot import 'tests.app.no_such_module.tool'"),
        (f"{SAMPLE}.missing", f"cannot import '{SAMPLE}.missing'"),
        ("notdotted", "cannot import 'notdotted'"),
        (f"{SAMPLE}.not_a_function", "is not a function"),
        (f"{SAMPLE}.calculator", "a tool named 'calculator' exists"),
        (f"{SAMPLE}.needs_socket", f"'{SAMPLE}.needs_socket' is not a usable tool"),
    ],
)
def test_bad_chat_tools_path(settings: Any, path: str, message: str) -> None:
    settings.CHAT_TOOLS = [path]
    with pytest.raises(ImproperlyConfigured, match=message):
        tools.registry()


async def test_misconfigured_tools_give_an_error_result(settings: Any) -> None:
    settings.CHAT_TOOLS = ["tests.app.no_such_module.tool"]
    result, is_error = await run_team_tool("calculator", {"expression": "1"})
    assert is_error and "cannot import" in result


# --- running calls ---


async def test_run_tool_validates_and_calls(team_tools: Any) -> None:
    result, is_error = await run_team_tool(
        "lookup_order", {"order_id": "42", "status": "open", "tags": ["a"]}
    )
    assert not is_error
    assert result == {
        "order_id": 42,
        "status": "open",
        "tags": ["a"],
        "note": None,
        "include_items": False,
        "weight_kg": 1.5,
        "placed": "2026-05-20",
    }


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "order_id: Field required"),
        ({"order_id": "x", "status": "open", "tags": []}, "order_id: Input should be a valid"),
        ({"order_id": 1, "status": "lost", "tags": []}, "status: Input should be 'open'"),
        ({"order_id": 1, "status": "open", "tags": "a"}, "tags: Input should be a valid list"),
        (
            {"order_id": 1, "status": "open", "tags": [], "color": "red"},
            "color: Extra inputs are not permitted",
        ),
        ("not an object", "Input should be a valid dictionary"),
    ],
)
async def test_run_tool_invalid_arguments(team_tools: Any, arguments: Any, expected: str) -> None:
    result, is_error = await run_team_tool("lookup_order", arguments)
    assert is_error
    assert result.startswith("invalid arguments for lookup_order: ")
    assert expected in result


async def test_run_tool_unknown_tool() -> None:
    result, is_error = await run_team_tool("rm_rf", {})
    assert is_error and result.startswith("unknown tool 'rm_rf'")


async def test_run_tool_exception_becomes_an_error_result(team_tools: Any) -> None:
    assert await run_team_tool("explode", {"reason": "x"}) == ("RuntimeError: boom: x", True)


async def test_run_tool_timeout(team_tools: Any) -> None:
    team_tools.TOOL_TIMEOUT_SECONDS = 0.1
    result, is_error = await run_team_tool("wait_for_release", {})
    assert (result, is_error) == ("wait_for_release timed out after 0.1 s", True)


async def test_run_tool_async_function_and_none_arguments(team_tools: Any) -> None:
    assert await run_team_tool("async_echo", {"text": "hi"}) == (["hi", "hi"], False)
    result, is_error = await run_team_tool("current_datetime", None)
    assert not is_error and result["timezone"] == "UTC"


async def test_run_tool_result_not_json_becomes_a_string(team_tools: Any) -> None:
    assert await run_team_tool("odd_result", {}) == ("{1, 2}", False)


# --- only the conversation's tools run ---


async def test_only_enabled_tools_run(team_tools: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    original = tool_runner.ToolPool.run

    async def spy(pool: tool_runner.ToolPool, name: str, *args: Any) -> tuple[Any, bool]:
        ran.append(name)
        return await original(pool, name, *args)

    monkeypatch.setattr(tool_runner.ToolPool, "run", spy)
    enabled = ["calculator", "gone_from_chat_tools"]
    assert await run_tool("lookup_order", {"order_id": 1}, enabled=enabled) == (
        "unknown tool 'lookup_order' (available: calculator)",
        True,
    )
    assert await run_tool("current_datetime", {}, enabled=enabled) == (
        "unknown tool 'current_datetime' (available: calculator)",
        True,
    )
    assert await run_tool("calculator", {"expression": "1"}, enabled=[]) == (
        "unknown tool 'calculator' (no tools are enabled)",
        True,
    )
    assert ran == []
    assert await run_tool("calculator", {"expression": "6*7"}, enabled=enabled) == (
        {"expression": "6*7", "result": 42},
        False,
    )
    assert ran == ["calculator"]


# --- every call in a tool process, under limits ---


@pytest.fixture
def hostile_tools(settings: Any) -> Any:
    settings.CHAT_TOOLS = [f"{HOSTILE}.{name}" for name in ("hog", "spin", "hoard", "snooze")]
    settings.TOOL_CPU_SECONDS = 1
    settings.TOOL_MEMORY_MB = 128
    settings.TOOL_TIMEOUT_SECONDS = 15
    return settings


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        ("calculator", {"expression": "round(1, -10**8)"}, "ValueError: round() takes at most"),
        ("hog", {"digits": 10**8}, "hog used more than 1 s of CPU time"),
        ("spin", {}, "spin used more than 1 s of CPU time"),
        ("hoard", {}, "hoard ran out of memory (limit 128 MB)"),
    ],
)
async def test_a_hostile_call_never_stalls_the_worker(
    hostile_tools: Any, name: str, arguments: Any, error: str
) -> None:
    enabled = ["calculator", "hog", "spin", "hoard"]
    async with loop_watch() as worst:
        started = time.monotonic()
        result, is_error = await run_tool(name, arguments, enabled=enabled)
        elapsed = time.monotonic() - started
    assert is_error and result.startswith(error)
    assert elapsed < hostile_tools.TOOL_TIMEOUT_SECONDS
    assert never_blocked(worst(), elapsed)
    # The worker goes on: the killed process was replaced.
    assert await run_tool("calculator", {"expression": "2*3"}, enabled=enabled) == (
        {"expression": "2*3", "result": 6},
        False,
    )


async def test_a_call_past_the_wall_clock_is_killed(hostile_tools: Any) -> None:
    hostile_tools.TOOL_TIMEOUT_SECONDS = 0.5
    pool = tool_runner.pool()
    async with loop_watch() as worst:
        started = time.monotonic()
        result = await run_tool("snooze", {"seconds": 60}, enabled=["snooze"])
        elapsed = time.monotonic() - started
    assert result == ("snooze timed out after 0.5 s", True)
    assert elapsed < 1.5 and never_blocked(worst(), elapsed)
    assert len(pool.pids()) == pool.size  # a fresh process took the killed one's place


async def test_calls_beyond_the_pool_wait_their_turn(hostile_tools: Any) -> None:
    pool = tool_runner.ToolPool(2)
    limits = tool_runner.Limits(wall_seconds=10, cpu_seconds=5, memory_mb=128)
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            *(pool.run("snooze", f"{HOSTILE}.snooze", {"seconds": 0.3}, limits) for _ in range(3))
        )
        elapsed = time.monotonic() - started
        assert results == [("rested", False)] * 3
        assert elapsed >= 0.6  # two at once, then the third
        assert len(pool.pids()) == 2
    finally:
        pool.close()


async def test_a_cancelled_call_kills_its_process(hostile_tools: Any) -> None:
    pool = tool_runner.ToolPool(1)
    limits = tool_runner.Limits(wall_seconds=10, cpu_seconds=5, memory_mb=128)
    try:
        assert await pool.run("snooze", f"{HOSTILE}.snooze", {"seconds": 0}, limits) == (
            "rested",
            False,
        )
        [first] = pool.pids()
        call = asyncio.create_task(pool.run("snooze", f"{HOSTILE}.snooze", {"seconds": 60}, limits))
        await asyncio.sleep(0.3)
        call.cancel()  # Stop, while the tool runs
        with pytest.raises(asyncio.CancelledError):
            await call
        assert pool.pids() != [first]
        assert await pool.run("snooze", f"{HOSTILE}.snooze", {"seconds": 0}, limits) == (
            "rested",
            False,
        )
    finally:
        pool.close()


# --- through the websocket: the model's calls, the conversation's tools ---


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, dict[str, Any]], None]:
    """Make the simulated model call one function with given arguments, declared or not."""

    def call(name: str, arguments: dict[str, Any]) -> None:
        function = {"type": "function", "name": name}
        monkeypatch.setattr(simulated_model, "choose_function", lambda body, prompt: function)
        monkeypatch.setattr(simulated_model, "function_arguments", lambda tool, prompt: arguments)

    return call


def sent_to_model(upstream: Any) -> list[dict[str, Any]]:
    return [
        r["json"]
        for r in upstream.app.requests
        if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]


async def chat(sock: Any, text: str, conversation: int) -> dict[str, Any]:
    await sock.send({"type": "send", "conversation": conversation, "parent": None, "text": text})
    created = await sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    final = await sock.until_final(created["turn"]["id"], timeout=30)
    return dict(final["turn"])


@pytest.mark.django_db(transaction=True)
async def test_the_model_cannot_call_a_tool_the_conversation_did_not_enable(
    connect: Any,
    alice: Any,
    upstream: Any,
    settings: Any,
    model_calls: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CHAT_TOOLS = [f"{HOSTILE}.secret"]
    ran: list[str] = []
    original = tool_runner.ToolPool.run

    async def spy(pool: tool_runner.ToolPool, name: str, *args: Any) -> tuple[Any, bool]:
        ran.append(name)
        return await original(pool, name, *args)

    monkeypatch.setattr(tool_runner.ToolPool, "run", spy)
    from chatapp.models import Conversation, Turn

    conv = await Conversation.objects.acreate(
        owner=alice, model="gemini-3.5-flash", tools=["calculator"]
    )
    model_calls("secret", {})
    sock = await connect(alice)
    turn = await chat(sock, "Tell me the secret", conv.pk)
    assert turn["status"] == "completed"
    first, second = sent_to_model(upstream)
    assert [tool["name"] for tool in first["tools"]] == ["calculator"]
    [answer] = second["input"]
    assert answer["type"] == "function_result" and answer["name"] == "secret"
    assert answer["is_error"] is True
    assert answer["result"] == [
        {"type": "text", "text": "unknown tool 'secret' (available: calculator)"}
    ]
    assert ran == []
    saved = await Turn.objects.aget(pk=turn["id"])
    assert "launch codes" not in str(saved.steps)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "arguments", "timeout", "error"),
    [
        ("calculator", {"expression": "round(1, -10**8)"}, 15, "ValueError: round() takes at"),
        ("hog", {"digits": 10**8}, 15, "hog used more than 1 s of CPU time"),
        ("snooze", {"seconds": 60}, 2, "snooze timed out after 2 s"),
    ],
)
async def test_a_hostile_tool_call_leaves_the_worker_answering(
    connect: Any,
    alice: Any,
    upstream: Any,
    hostile_tools: Any,
    model_calls: Any,
    name: str,
    arguments: dict[str, Any],
    timeout: int,
    error: str,
) -> None:
    from chatapp.models import Conversation

    hostile_tools.TOOL_TIMEOUT_SECONDS = timeout
    conv = await Conversation.objects.acreate(owner=alice, model="gemini-3.5-flash", tools=[name])
    model_calls(name, arguments)
    sock = await connect(alice)
    # A running worker has its upstream clients; building one loads the CA bundle in the
    # loop (0.5 s), which is not what this test measures.
    upstream_clients.client()
    async with loop_watch() as worst:
        started = time.monotonic()
        turn = await chat(sock, "Round one", conv.pk)
        elapsed = time.monotonic() - started
    assert turn["status"] == "completed"
    assert never_blocked(worst(), elapsed)
    assert elapsed < timeout + 3
    [answer] = sent_to_model(upstream)[1]["input"]
    assert answer["is_error"] is True and answer["result"][0]["text"].startswith(error)


# --- the function_result step ---

CALL = {"type": "function_call", "id": "call_1", "name": "calculator", "arguments": {}}


def test_function_result_step_sends_objects_as_json_in_a_text_block() -> None:
    # The documented form (the quickstart's): a list of content blocks.
    assert function_result_step(CALL, {"result": 3}, False) == {
        "type": "function_result",
        "call_id": "call_1",
        "name": "calculator",
        "result": [{"type": "text", "text": '{"result": 3}'}],
    }


@pytest.mark.parametrize(
    ("result", "sent"),
    [("plain text", "plain text"), (["a", "b"], '["a", "b"]'), (3.5, "3.5"), (None, "null")],
)
def test_function_result_step_sends_the_rest_as_text(result: Any, sent: str) -> None:
    assert function_result_step(CALL, result, False)["result"] == [{"type": "text", "text": sent}]


def test_function_result_step_error() -> None:
    step = function_result_step(CALL, "ValueError: nope", True)
    assert step["is_error"] is True
    assert step["result"] == [{"type": "text", "text": "ValueError: nope"}]


def test_literal_and_optional_list_schema() -> None:
    def pick(mode: Literal[1, 2], items: list[int] | None = None) -> None:
        """Pick.

        Args:
            mode: One or two.
        """

    params = Tool.from_function(pick).parameters
    assert params["properties"]["mode"] == {
        "enum": [1, 2],
        "type": "integer",
        "description": "One or two.",
    }
    assert params["properties"]["items"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "integer"},
    }
    assert params["required"] == ["mode"]
