"""Steps: the timeline of an interaction (`steps[]`), tagged by `type`.

Every tool call step has an `id`; every result step has the `call_id` of its call.
`signature` values are opaque and must be replayed unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from ._base import WireModel, open_union
from .content import Content, ReviewSnippet


class StepError(WireModel):
    """A per-step failure (`google.rpc.Status`-like)."""

    code: int | str | None = None
    message: str | None = None
    details: list[Any] | None = None


class UserInputStep(WireModel):
    type: Literal["user_input"] = "user_input"
    # The REST docs also send a bare string here.
    content: list[Content] | str | None = None


class ModelOutputStep(WireModel):
    type: Literal["model_output"] = "model_output"
    content: list[Content] | None = None
    error: StepError | None = None


class ThoughtStep(WireModel):
    type: Literal["thought"] = "thought"
    signature: str | None = None
    summary: list[Content] | None = None


class FunctionCallStep(WireModel):
    type: Literal["function_call"] = "function_call"
    id: str | None = None
    name: str | None = None
    arguments: dict[str, Any] | None = None


class FunctionResultStep(WireModel):
    type: Literal["function_result"] = "function_result"
    call_id: str | None = None
    result: Any = None
    """A JSON object, a string, or a list of content items."""
    name: str | None = None
    is_error: bool | None = None


# --- server-side tools: argument and result shapes ---


class CodeExecutionArguments(WireModel):
    code: str | None = None
    language: str | None = None


class QueriesArguments(WireModel):
    queries: list[str] | None = None


class UrlContextArguments(WireModel):
    urls: list[str] | None = None


class ToolSearchArguments(WireModel):
    function_names: list[str] | None = None


class GoogleSearchResultItem(WireModel):
    search_suggestions: str | None = None
    """An HTML and CSS snippet Google's terms require to be shown as provided."""


class UrlContextResultItem(WireModel):
    url: str | None = None
    status: str | None = None


class Place(WireModel):
    name: str | None = None
    place_id: str | None = None
    url: str | None = None
    review_snippets: list[ReviewSnippet] | None = None


class GoogleMapsResultItem(WireModel):
    places: list[Place] | None = None
    widget_context_token: str | None = None
    """Renders the Maps JavaScript widget (`gmp-place-contextual`) Google's terms ask for."""


class FileSearchResultItem(WireModel):
    """One passage `file_search` retrieved. The SDK types this object as open; these
    fields are the ones the simulator sends (after generateContent's `retrievedContext`)."""

    title: str | None = None
    text: str | None = None
    file_search_store: str | None = None
    document_name: str | None = None
    page_number: int | None = None


class _ToolCall(WireModel):
    id: str | None = None
    signature: str | None = None


class _ToolResult(WireModel):
    call_id: str | None = None
    signature: str | None = None
    is_error: bool | None = None


class CodeExecutionCallStep(_ToolCall):
    type: Literal["code_execution_call"] = "code_execution_call"
    arguments: CodeExecutionArguments | None = None


class CodeExecutionResultStep(_ToolResult):
    type: Literal["code_execution_result"] = "code_execution_result"
    result: str | list[Content] | None = None


class GoogleSearchCallStep(_ToolCall):
    type: Literal["google_search_call"] = "google_search_call"
    arguments: QueriesArguments | None = None
    search_type: str | None = None


class GoogleSearchResultStep(_ToolResult):
    type: Literal["google_search_result"] = "google_search_result"
    result: list[GoogleSearchResultItem] | None = None


class UrlContextCallStep(_ToolCall):
    type: Literal["url_context_call"] = "url_context_call"
    arguments: UrlContextArguments | None = None


class UrlContextResultStep(_ToolResult):
    type: Literal["url_context_result"] = "url_context_result"
    result: list[UrlContextResultItem] | None = None


class GoogleMapsCallStep(_ToolCall):
    type: Literal["google_maps_call"] = "google_maps_call"
    arguments: QueriesArguments | None = None


class GoogleMapsResultStep(_ToolResult):
    type: Literal["google_maps_result"] = "google_maps_result"
    result: list[GoogleMapsResultItem] | None = None


class FileSearchCallStep(_ToolCall):
    type: Literal["file_search_call"] = "file_search_call"


class FileSearchResultStep(_ToolResult):
    type: Literal["file_search_result"] = "file_search_result"
    result: list[FileSearchResultItem] | None = None


class McpServerToolCallStep(_ToolCall):
    type: Literal["mcp_server_tool_call"] = "mcp_server_tool_call"
    name: str | None = None
    server_name: str | None = None
    arguments: dict[str, Any] | None = None


class McpServerToolResultStep(_ToolResult):
    """`result` is an object, a string or a list of content items. A server that could not
    be reached or refused gives a string result with `is_error` set."""

    type: Literal["mcp_server_tool_result"] = "mcp_server_tool_result"
    result: Any = None
    name: str | None = None
    server_name: str | None = None


class RetrievalCallStep(_ToolCall):
    type: Literal["retrieval_call"] = "retrieval_call"
    arguments: QueriesArguments | None = None
    retrieval_type: str | None = None


class RetrievalResultStep(_ToolResult):
    type: Literal["retrieval_result"] = "retrieval_result"


class ToolSearchCallStep(_ToolCall):
    type: Literal["tool_search_call"] = "tool_search_call"
    arguments: ToolSearchArguments | None = None


class ToolSearchResultStep(_ToolResult):
    type: Literal["tool_search_result"] = "tool_search_result"
    result: list[dict[str, Any]] | None = None


class ProcessingCallStep(_ToolCall):
    type: Literal["processing_call"] = "processing_call"


class ProcessingResultStep(_ToolResult):
    type: Literal["processing_result"] = "processing_result"


class UnknownStep(WireModel):
    """A step type this client does not know; every field is kept."""

    type: str


STEP_VARIANTS: list[type[WireModel]] = [
    UserInputStep,
    ModelOutputStep,
    ThoughtStep,
    FunctionCallStep,
    FunctionResultStep,
    CodeExecutionCallStep,
    CodeExecutionResultStep,
    GoogleSearchCallStep,
    GoogleSearchResultStep,
    UrlContextCallStep,
    UrlContextResultStep,
    GoogleMapsCallStep,
    GoogleMapsResultStep,
    FileSearchCallStep,
    FileSearchResultStep,
    McpServerToolCallStep,
    McpServerToolResultStep,
    RetrievalCallStep,
    RetrievalResultStep,
    ToolSearchCallStep,
    ToolSearchResultStep,
    ProcessingCallStep,
    ProcessingResultStep,
]

Step = Annotated[
    UserInputStep
    | ModelOutputStep
    | ThoughtStep
    | FunctionCallStep
    | FunctionResultStep
    | CodeExecutionCallStep
    | CodeExecutionResultStep
    | GoogleSearchCallStep
    | GoogleSearchResultStep
    | UrlContextCallStep
    | UrlContextResultStep
    | GoogleMapsCallStep
    | GoogleMapsResultStep
    | FileSearchCallStep
    | FileSearchResultStep
    | McpServerToolCallStep
    | McpServerToolResultStep
    | RetrievalCallStep
    | RetrievalResultStep
    | ToolSearchCallStep
    | ToolSearchResultStep
    | ProcessingCallStep
    | ProcessingResultStep
    | UnknownStep,
    BeforeValidator(open_union(STEP_VARIANTS, UnknownStep)),
]
