"""Function results sent back to the simulator, in every form the SDK allows for `result`.

Each form goes through our client to the in-process simulator; the real SDK's model of a
`function_result` step is the judge of which forms are allowed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import interactions_client as ic
from interactions_client.simulator import SimulatorConfig, create_app

MODEL = "gemini-3.5-flash"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}
PNG = "iVBORw0KGgo="  # 8 bytes

# (result, what the answer quotes for it)
ACCEPTED = [
    pytest.param("sunny, 22 °C", "“sunny, 22 °C”", id="string"),
    pytest.param({"temp": 22, "unit": "C"}, '“{"temp": 22, "unit": "C"}”', id="object"),
    pytest.param({}, "“{}”", id="empty-object"),
    pytest.param(
        [{"type": "text", "text": '{"temp": 22}'}], '“{"temp": 22}”', id="quickstart-text-block"
    ),
    pytest.param(
        [
            {"type": "text", "text": "chart:"},
            {"type": "image", "data": PNG, "mime_type": "image/png"},
            {"type": "document", "uri": "gs://b/report.pdf", "mime_type": "application/pdf"},
        ],
        "“chart: [image (image/png, 8 bytes inline)] [document (application/pdf) at "
        "gs://b/report.pdf]”",
        id="content-blocks",
    ),
    pytest.param(
        [{"type": "function", "name": "get_forecast", "description": "Days ahead."}],
        "“[function `get_forecast`]”",
        id="function-block",
    ),
    pytest.param([{"type": "hologram", "beam": 3}], "“[hologram item]”", id="unknown-block"),
    pytest.param([], "“(nothing)”", id="empty-list"),
]
REFUSED = [
    pytest.param(None, id="null"),
    pytest.param(22, id="number"),
    pytest.param(True, id="boolean"),
    pytest.param(["sunny"], id="list-of-strings"),
    pytest.param([{"text": "no type"}], id="block-without-type"),
    pytest.param([{"type": "text", "text": 22}], id="text-block-without-text"),
    pytest.param([{"type": "image", "data": 8}], id="image-block-with-bad-data"),
    pytest.param([[{"type": "text", "text": "x"}]], id="nested-list"),
]


@pytest.fixture()
async def client() -> AsyncIterator[ic.AsyncClient]:
    app = create_app(SimulatorConfig(secret=b"s" * 32))
    transport = httpx.ASGITransport(app=app)
    async with ic.AsyncClient(
        api_key="k", base_url="http://sim", transport=transport, max_retries=0
    ) as client:
        yield client


async def answer(client: ic.AsyncClient, result: Any, **extra: Any) -> ic.Interaction:
    first = await client.interactions.create(
        model=MODEL, input="Weather in London?", tools=[WEATHER]
    )
    call = first.steps[-1]
    assert first.status == "requires_action" and call.type == "function_call"
    step = {"type": "function_result", "call_id": call.id, "name": call.name, "result": result}
    return await client.interactions.create(
        model=MODEL,
        previous_interaction_id=first.id,
        tools=[WEATHER],
        input=[{**step, **extra}],
    )


def sdk_allows(result: Any) -> bool:
    genai_types = pytest.importorskip("google.genai._gaos.types.interactions.functionresultstep")
    try:
        genai_types.FunctionResultStep.model_validate(
            {"type": "function_result", "call_id": "c", "result": result}
        )
    except ValueError:  # pydantic's ValidationError
        return False
    return True


@pytest.mark.parametrize(("result", "quoted"), ACCEPTED)
async def test_every_form_the_sdk_allows_gets_an_answer_quoting_it(
    client: ic.AsyncClient, result: Any, quoted: str
) -> None:
    assert sdk_allows(result)
    final = await answer(client, result)
    assert final.status == "completed"
    assert f"- `get_weather` returned: {quoted}" in final.output_text


async def test_an_error_result_is_quoted_as_an_error(client: ic.AsyncClient) -> None:
    final = await answer(client, [{"type": "text", "text": "ValueError: no"}], is_error=True)
    assert "`get_weather` returned (reported as an error): “ValueError: no”" in final.output_text


@pytest.mark.parametrize("result", REFUSED)
async def test_a_malformed_result_is_refused(client: ic.AsyncClient, result: Any) -> None:
    assert not sdk_allows(result)
    with pytest.raises(ic.BadRequestError, match="Invalid"):
        await answer(client, result)


async def test_a_missing_result_is_refused(client: ic.AsyncClient) -> None:
    first = await client.interactions.create(model=MODEL, input="Weather?", tools=[WEATHER])
    step = {"type": "function_result", "call_id": first.steps[-1].id}
    with pytest.raises(ic.BadRequestError, match="need a 'result'"):
        await client.interactions.create(
            model=MODEL, previous_interaction_id=first.id, input=[step]
        )
