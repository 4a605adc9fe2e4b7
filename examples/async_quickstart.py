"""Every quickstart capability with `AsyncClient`: the same calls, awaited.

Run all of them: `python examples/async_quickstart.py` (GEMINI_API_KEY and, for the simulator,
GOOGLE_GEMINI_BASE_URL set). Each function returns what it printed, for the tests.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from interactions_client import AsyncClient

MODEL = "gemini-3.5-flash"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name"}},
        "required": ["location"],
    },
}


def get_current_temperature(location: str) -> dict[str, str]:
    return {"location": location, "temperature": "22", "unit": "celsius"}


async def text(client: AsyncClient) -> str:
    interaction = await client.interactions.create(
        model=MODEL, input="Explain how AI works in a few words"
    )
    return interaction.output_text


async def streaming(client: AsyncClient) -> list[Any]:
    stream = await client.interactions.create(
        model=MODEL, input="Explain how AI works", stream=True
    )
    async with stream:
        return [event async for event in stream]


async def stateful_chat(client: AsyncClient) -> tuple[str, str]:
    first = await client.interactions.create(model=MODEL, input="I have 2 dogs in my house.")
    second = await client.interactions.create(
        model=MODEL, input="How many paws are in my house?", previous_interaction_id=first.id
    )
    return first.output_text, second.output_text


async def stateless_chat(client: AsyncClient) -> tuple[str, str]:
    history: list[dict[str, Any]] = [
        {"type": "user_input", "content": [{"type": "text", "text": "I have 2 dogs in my house."}]}
    ]
    first = await client.interactions.create(model=MODEL, store=False, input=history)
    history.extend(step.model_dump() for step in first.steps)
    history.append(
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "How many paws are in my house?"}],
        }
    )
    second = await client.interactions.create(model=MODEL, store=False, input=history)
    return first.steps[-1].content[0].text, second.steps[-1].content[0].text


async def multimodal(client: AsyncClient) -> str:
    image_b64 = base64.b64encode(Path(__file__).with_name("sample.jpg").read_bytes()).decode()
    interaction = await client.interactions.create(
        model=MODEL,
        input=[
            {"type": "text", "text": "Compare this local image and this remote audio file."},
            {"type": "image", "data": image_b64, "mime_type": "image/jpeg"},
            {
                "type": "audio",
                "uri": "https://storage.googleapis.com/generativeai-downloads/data/sample.mp3",
                "mime_type": "audio/mp3",
            },
        ],
    )
    return interaction.output_text


async def image_generation(client: AsyncClient) -> bytes:
    interaction = await client.interactions.create(
        model="gemini-3.1-flash-image",
        input="Generate an image of a futuristic city skyline at sunset",
    )
    return base64.b64decode(interaction.output_image.data)


async def structured_output(client: AsyncClient, schema: dict[str, Any]) -> str:
    interaction = await client.interactions.create(
        model=MODEL,
        input="Give me a recipe for banana bread",
        response_format={"type": "text", "mime_type": "application/json", "schema": schema},
    )
    return interaction.output_text


async def google_search(client: AsyncClient) -> tuple[str, list[tuple[str, str]]]:
    interaction = await client.interactions.create(
        model=MODEL, input="Who won the euro 2024?", tools=[{"type": "google_search"}]
    )
    citations = []
    for step in interaction.steps:
        if step.type == "model_output":
            for block in step.content:
                if block.type == "text" and block.annotations:
                    citations += [
                        (a.title, a.url) for a in block.annotations if a.type == "url_citation"
                    ]
    return interaction.output_text, citations


async def function_calling(client: AsyncClient) -> tuple[list[str], str]:
    calls: list[str] = []
    user_input: Any = "What is the temperature in London?"
    previous_id = None
    while True:
        interaction = await client.interactions.create(
            model=MODEL, input=user_input, tools=[WEATHER_TOOL], previous_interaction_id=previous_id
        )
        results = []
        for step in interaction.steps:
            if step.type == "function_call":
                result = get_current_temperature(**step.arguments)
                calls.append(f"{step.name}({step.arguments})")
                results.append(
                    {
                        "type": "function_result",
                        "name": step.name,
                        "call_id": step.id,
                        "result": [{"type": "text", "text": json.dumps(result)}],
                    }
                )
        if not results:
            return calls, interaction.output_text
        user_input, previous_id = results, interaction.id


async def function_calling_stateless(client: AsyncClient) -> tuple[list[str], str]:
    calls: list[str] = []
    history: list[dict[str, Any]] = [
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "What is the temperature in London?"}],
        }
    ]
    while True:
        interaction = await client.interactions.create(
            model=MODEL, store=False, input=history, tools=[WEATHER_TOOL]
        )
        called = False
        for step in interaction.steps:
            history.append(step.model_dump())
            if step.type == "function_call":
                called = True
                result = get_current_temperature(**step.arguments)
                calls.append(f"{step.name}({step.arguments})")
                history.append(
                    {
                        "type": "function_result",
                        "name": step.name,
                        "call_id": step.id,
                        "result": [{"type": "text", "text": json.dumps(result)}],
                    }
                )
        if not called:
            return calls, interaction.output_text


async def managed_agent(client: AsyncClient) -> tuple[str | None, str]:
    interaction = await client.interactions.create(
        agent="antigravity-preview-05-2026",
        input="Write a Python script that prints the first 20 Fibonacci numbers.",
        environment="remote",
    )
    return interaction.environment_id, interaction.output_text


async def background(client: AsyncClient, poll_seconds: float = 1.0) -> tuple[str, str, str]:
    started = await client.interactions.create(
        model=MODEL,
        input="Write a detailed analysis of the impact of AI on modern healthcare.",
        background=True,
    )
    result = await client.interactions.wait(started.id, poll_interval=poll_seconds)
    return started.status, result.status, result.output_text


async def main() -> None:
    async with AsyncClient() as client:
        print(await text(client))
        for event in await streaming(client):
            print(event)
        print(await stateful_chat(client))
        print(await stateless_chat(client))
        print(await multimodal(client))
        print(len(await image_generation(client)), "bytes of image")
        print(
            await structured_output(
                client, {"type": "object", "properties": {"name": {"type": "string"}}}
            )
        )
        print(await google_search(client))
        print(await function_calling(client))
        print(await function_calling_stateless(client))
        print(await managed_agent(client))
        print(await background(client))


if __name__ == "__main__":
    asyncio.run(main())
