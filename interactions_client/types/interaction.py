"""The Interaction resource, its usage and errors, and the SDK's convenience properties."""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr

from ._base import WireModel
from .content import AudioContent, ImageContent, TextContent, VideoContent
from .steps import ModelOutputStep, Step, ThoughtStep, UserInputStep

# Every status of this revision; the field stays an open string for newer ones.
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "incomplete", "budget_exceeded"})
STATUSES = TERMINAL_STATUSES | {"queued", "in_progress", "requires_action", "requires_continuation"}


class ModalityTokens(WireModel):
    modality: str | None = None
    tokens: int | None = None


class GroundingToolCount(WireModel):
    type: str | None = None
    count: int | None = None


class Usage(WireModel):
    total_input_tokens: int | None = None
    total_output_tokens: int | None = None
    total_thought_tokens: int | None = None
    total_cached_tokens: int | None = None
    total_tool_use_tokens: int | None = None
    total_tokens: int | None = None
    initial_input_tokens: int | None = None
    input_tokens_by_modality: list[ModalityTokens] | None = None
    output_tokens_by_modality: list[ModalityTokens] | None = None
    cached_tokens_by_modality: list[ModalityTokens] | None = None
    tool_use_tokens_by_modality: list[ModalityTokens] | None = None
    grounding_tool_count: list[GroundingToolCount] | None = None


class InteractionError(WireModel):
    """An error recorded on an interaction (`errors[]`) or sent as a stream `error` event.

    `code` is a string in the SDK's schema but an integer in Google's standard error body.
    """

    code: int | str | None = None
    message: str | None = None
    status: str | None = None
    details: list[Any] | None = None


class Interaction(WireModel):
    id: str | None = None
    status: str | None = None
    object: str | None = None
    created: str | None = None
    updated: str | None = None
    model: str | None = None
    agent: str | None = None
    agent_config: dict[str, Any] | None = None
    steps: list[Step] = Field(default_factory=list)
    usage: Usage | None = None
    previous_interaction_id: str | None = None
    continuation_token: str | None = None
    input: Any = None
    errors: list[InteractionError] | None = None
    environment_id: str | None = None
    # Echoes of the request; kept open.
    system_instruction: str | None = None
    tools: list[dict[str, Any]] | None = None
    generation_config: dict[str, Any] | None = None
    response_format: Any = None
    environment: Any = None

    _continuation_ids: list[str] = PrivateAttr(default_factory=list)

    @property
    def continuation_ids(self) -> list[str]:
        """Ids of every interaction folded into this one, when there are several: the hops
        automatic continuation chained, or the calls of a turn folded with `begin_round`."""
        return list(self._continuation_ids)

    @property
    def error(self) -> InteractionError | None:
        """The first recorded error, if any."""
        return self.errors[0] if self.errors else None

    @property
    def output_text(self) -> str:
        """The trailing run of model text since the last user input, as the SDK computes it."""
        collected: list[str] = []
        for step in reversed(self.steps):
            if isinstance(step, UserInputStep):
                break
            if isinstance(step, ThoughtStep):
                continue
            if not isinstance(step, ModelOutputStep):
                if collected:
                    break
                continue
            for item in reversed(step.content or []):
                if isinstance(item, TextContent):
                    collected.append(item.text)
                elif collected:
                    return "".join(reversed(collected))
        return "".join(reversed(collected))

    def _last_output(self, kind: type[WireModel]) -> Any:
        for step in reversed(self.steps):
            if isinstance(step, UserInputStep):
                return None
            if isinstance(step, ModelOutputStep):
                for item in reversed(step.content or []):
                    if isinstance(item, kind):
                        return item
        return None

    @property
    def output_image(self) -> ImageContent | None:
        """The most recent generated image since the last user input."""
        result: ImageContent | None = self._last_output(ImageContent)
        return result

    @property
    def output_audio(self) -> AudioContent | None:
        result: AudioContent | None = self._last_output(AudioContent)
        return result

    @property
    def output_video(self) -> VideoContent | None:
        result: VideoContent | None = self._last_output(VideoContent)
        return result
