"""Every quickstart example, run with our client against the simulator on loopback."""

from __future__ import annotations

import asyncio
import io
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import BaseModel, Field

from interactions_client import AsyncClient
from interactions_client.simulator import SimulatorConfig, serve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
import async_quickstart as aq  # noqa: E402


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    with serve(SimulatorConfig(background_seconds=0.3)) as server:
        yield server


@pytest.fixture
def run_example(
    simulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    monkeypatch.setenv("GEMINI_API_KEY", "example-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", simulator.base_url)
    monkeypatch.setenv("EXAMPLE_OUTPUT_DIR", str(tmp_path))
    monkeypatch.setenv("EXAMPLE_POLL_SECONDS", "0.1")

    def run(name: str) -> str:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        return capsys.readouterr().out

    return run


def test_text(run_example: Any) -> None:
    out = run_example("01_text.py")
    assert "Explain how AI works in a few words" in out
    assert "simulator" in out.lower()


def test_streaming(run_example: Any) -> None:
    out = run_example("02_streaming.py")
    for event_type in (
        "interaction.created",
        "step.start",
        "step.delta",
        "step.stop",
        "interaction.completed",
    ):
        assert event_type in out
    assert (
        out.index("interaction.created")
        < out.index("step.delta")
        < out.index("interaction.completed")
    )


def test_stateful_chat_remembers_the_first_turn(run_example: Any) -> None:
    out = run_example("03_stateful_chat.py")
    second = out.split("Response 2:", 1)[1]
    assert "How many paws are in my house?" in second
    assert "I have 2 dogs in my house." in second


def test_stateless_chat_replays_the_history(run_example: Any, simulator: Any) -> None:
    out = run_example("04_stateless_chat.py")
    second = out.split("Response 2:", 1)[1]
    assert "I have 2 dogs in my house." in second
    # The second request carried the first answer's steps, thought signature included.
    body = simulator.app.requests[-1]["json"]
    assert body["store"] is False
    assert [s["type"] for s in body["input"]][:3] == ["user_input", "thought", "model_output"]
    assert body["input"][1]["signature"]


def test_multimodal_names_each_attachment(run_example: Any) -> None:
    out = run_example("05_multimodal.py")
    size = (EXAMPLES / "sample.jpg").stat().st_size
    assert "image/jpeg" in out and str(size) in out
    assert "audio/mp3" in out and "sample.mp3" in out


def test_image_generation_saves_a_real_png(run_example: Any, tmp_path: Path) -> None:
    run_example("06_image_generation.py")
    with Image.open(tmp_path / "generated_image.png") as image:
        assert image.format == "PNG" and image.size[0] > 0


def test_structured_output_validates(run_example: Any) -> None:
    out = run_example("07_structured_output.py")
    assert "recipe_name=" in out and "ingredients=[" in out


def test_google_search_prints_citations(run_example: Any) -> None:
    out = run_example("08_google_search.py")
    assert "Citations:" in out
    assert "](https://" in out


@pytest.mark.parametrize("name", ["09_function_calling.py", "10_function_calling_stateless.py"])
def test_function_calling_loops_to_a_final_answer(run_example: Any, name: str) -> None:
    out = run_example(name)
    assert "Called get_current_temperature({'location': 'London'})" in out
    final = out.rsplit("→", 1)[1]
    assert "22" in final and "celsius" in final


def test_managed_agent(run_example: Any) -> None:
    out = run_example("11_managed_agent.py")
    assert "Environment: env_" in out
    assert "Environment: None" not in out


def test_background_task_is_polled_to_completion(run_example: Any) -> None:
    out = run_example("12_background.py")
    assert "Status: in_progress" in out
    assert "Status: completed" in out and "Result:" in out


# --- the same capabilities with AsyncClient ---


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: list[str] = Field(description="List of ingredients.")
    prep_time_minutes: int | None = Field(description="Prep time in minutes.")


def run_async(simulator: Any, name: str, *args: Any) -> Any:
    async def go() -> Any:
        async with AsyncClient(api_key="example-key", base_url=simulator.base_url) as client:
            return await getattr(aq, name)(client, *args)

    return asyncio.run(go())


def test_async_text_and_streaming(simulator: Any) -> None:
    assert "Explain how AI works in a few words" in run_async(simulator, "text")
    events = run_async(simulator, "streaming")
    assert events[0].event_type == "interaction.created"
    assert events[-1].event_type == "interaction.completed"
    assert all(e.event_id for e in events)


def test_async_chats_remember_history(simulator: Any) -> None:
    for name in ("stateful_chat", "stateless_chat"):
        _, second = run_async(simulator, name)
        assert "I have 2 dogs in my house." in second, name


def test_async_multimodal_and_image(simulator: Any) -> None:
    assert "image/jpeg" in run_async(simulator, "multimodal")
    png = run_async(simulator, "image_generation")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"


def test_async_structured_output(simulator: Any) -> None:
    recipe = Recipe.model_validate_json(
        run_async(simulator, "structured_output", Recipe.model_json_schema())
    )
    assert recipe.ingredients


def test_async_search_citations(simulator: Any) -> None:
    text, citations = run_async(simulator, "google_search")
    assert citations and all(url.startswith("https://") for _, url in citations)


def test_async_function_calling(simulator: Any) -> None:
    for name in ("function_calling", "function_calling_stateless"):
        calls, final = run_async(simulator, name)
        assert calls == ["get_current_temperature({'location': 'London'})"], name
        assert "22" in final


def test_async_agent_and_background(simulator: Any) -> None:
    environment_id, text = run_async(simulator, "managed_agent")
    assert environment_id and environment_id.startswith("env_") and text
    started, finished, text = run_async(simulator, "background", 0.1)
    assert started in ("queued", "in_progress") and finished == "completed" and text
