"""Request-side objects: tools, generation config, response formats, environments, agents.

Every request parameter also accepts a plain dict of the same shape; these models are for
callers who want types. Unknown tool types pass through untouched.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._base import WireModel


class FunctionTool(WireModel):
    type: Literal["function"] = "function"
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    short_description: str | None = None
    defer_loading: bool | None = None


class GoogleSearchTool(WireModel):
    type: Literal["google_search"] = "google_search"
    search_types: list[str] | None = None


class UrlContextTool(WireModel):
    type: Literal["url_context"] = "url_context"


class CodeExecutionTool(WireModel):
    type: Literal["code_execution"] = "code_execution"


class FileSearchTool(WireModel):
    type: Literal["file_search"] = "file_search"
    file_search_store_names: list[str] | None = None
    metadata_filter: str | None = None
    top_k: int | None = None


class GoogleMapsTool(WireModel):
    type: Literal["google_maps"] = "google_maps"
    enable_widget: bool | None = None
    latitude: float | None = None
    longitude: float | None = None


class AllowedTools(WireModel):
    mode: str | None = None
    tools: list[str] | None = None


class McpServerTool(WireModel):
    type: Literal["mcp_server"] = "mcp_server"
    name: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[AllowedTools] | None = None


class ComputerUseTool(WireModel):
    type: Literal["computer_use"] = "computer_use"
    environment: str | None = None
    excluded_predefined_functions: list[str] | None = None
    disabled_safety_policies: list[str] | None = None
    enable_prompt_injection_detection: bool | None = None


class RetrievalTool(WireModel):
    type: Literal["retrieval"] = "retrieval"
    retrieval_types: list[str] | None = None
    vertex_ai_search_config: dict[str, Any] | None = None
    rag_store_config: dict[str, Any] | None = None
    exa_ai_search_config: dict[str, Any] | None = None
    parallel_ai_search_config: dict[str, Any] | None = None


class ToolSearchTool(WireModel):
    type: Literal["tool_search"] = "tool_search"
    execution: str | None = None
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolChoiceConfig(WireModel):
    allowed_tools: AllowedTools | None = None


class ImageConfig(WireModel):
    aspect_ratio: str | None = None
    image_size: str | None = None


class GenerationConfig(WireModel):
    max_output_tokens: int | None = None
    thinking_level: str | None = None
    thinking_summaries: str | None = None
    tool_choice: str | ToolChoiceConfig | None = None
    temperature: float | None = None
    """Deprecated in this revision."""
    top_p: float | None = None
    """Deprecated in this revision."""
    seed: int | None = None
    stop_sequences: list[str] | None = None
    image_config: ImageConfig | None = None
    speech_config: Any = None
    transcription_config: Any = None
    video_config: dict[str, Any] | None = None


class TextResponseFormat(WireModel):
    type: Literal["text"] = "text"
    mime_type: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class ImageResponseFormat(WireModel):
    type: Literal["image"] = "image"
    aspect_ratio: str | None = None
    image_size: str | None = None
    mime_type: str | None = None
    delivery: str | None = None


class AudioResponseFormat(WireModel):
    type: Literal["audio"] = "audio"
    mime_type: str | None = None
    sample_rate: int | None = None
    bit_rate: int | None = None
    delivery: str | None = None


class VideoResponseFormat(WireModel):
    type: Literal["video"] = "video"
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: str | None = None
    delivery: str | None = None
    gcs_uri: str | None = None


class EnvironmentSource(WireModel):
    type: str | None = None
    source: str | None = None
    target: str | None = None
    content: str | None = None
    encoding: str | None = None


class Environment(WireModel):
    type: Literal["remote"] = "remote"
    environment_id: str | None = None
    sources: list[EnvironmentSource] | None = None
    env: dict[str, Any] | None = None
    network: Any = None


class DeepResearchAgentConfig(WireModel):
    type: Literal["deep-research"] = "deep-research"
    thinking_summaries: str | None = None
    visualization: str | None = None
    collaborative_planning: bool | None = None
    enable_bigquery_tool: bool | None = None


class AntigravityAgentConfig(WireModel):
    type: Literal["antigravity"] = "antigravity"
    model: str | None = None
    max_total_tokens: int | None = None


class DynamicAgentConfig(WireModel):
    type: Literal["dynamic"] = "dynamic"


class SafetySetting(WireModel):
    type: str
    threshold: str
    method: str | None = None


class WebhookConfig(WireModel):
    uris: list[str] | None = None
    user_metadata: dict[str, Any] | None = None
