"""Deltas carried by `step.delta` events, tagged by `type`.

Media and text deltas are named after the content they add; tool deltas after the step they
fill; `arguments_delta`, `text_annotation_delta`, `thought_summary` and `thought_signature`
are delta-only names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from ._base import WireModel, open_union
from .content import Annotation, Content
from .steps import (
    CodeExecutionArguments,
    FileSearchResultItem,
    GoogleMapsResultItem,
    GoogleSearchResultItem,
    QueriesArguments,
    ToolSearchArguments,
    UrlContextArguments,
    UrlContextResultItem,
)


class TextDelta(WireModel):
    type: Literal["text"] = "text"
    text: str = ""


class TextAnnotationDelta(WireModel):
    type: Literal["text_annotation_delta"] = "text_annotation_delta"
    annotations: list[Annotation] | None = None


class _MediaDelta(WireModel):
    data: str | None = None
    uri: str | None = None
    mime_type: str | None = None


class ImageDelta(_MediaDelta):
    type: Literal["image"] = "image"
    resolution: str | None = None


class AudioDelta(_MediaDelta):
    type: Literal["audio"] = "audio"
    sample_rate: int | None = None
    channels: int | None = None


class VideoDelta(_MediaDelta):
    type: Literal["video"] = "video"
    resolution: str | None = None


class DocumentDelta(_MediaDelta):
    type: Literal["document"] = "document"


class ThoughtSummaryDelta(WireModel):
    type: Literal["thought_summary"] = "thought_summary"
    content: Content | None = None


class ThoughtSignatureDelta(WireModel):
    type: Literal["thought_signature"] = "thought_signature"
    signature: str | None = None


class ArgumentsDelta(WireModel):
    type: Literal["arguments_delta"] = "arguments_delta"
    arguments: str = ""
    """A fragment of the JSON-encoded arguments of a function call."""


class FunctionResultDelta(WireModel):
    type: Literal["function_result"] = "function_result"
    result: Any = None
    name: str | None = None
    is_error: bool | None = None


class _Signed(WireModel):
    signature: str | None = None


class _SignedResult(_Signed):
    is_error: bool | None = None


class CodeExecutionCallDelta(_Signed):
    type: Literal["code_execution_call"] = "code_execution_call"
    arguments: CodeExecutionArguments | None = None


class CodeExecutionResultDelta(_SignedResult):
    type: Literal["code_execution_result"] = "code_execution_result"
    result: Any = None


class GoogleSearchCallDelta(_Signed):
    type: Literal["google_search_call"] = "google_search_call"
    arguments: QueriesArguments | None = None


class GoogleSearchResultDelta(_SignedResult):
    type: Literal["google_search_result"] = "google_search_result"
    result: list[GoogleSearchResultItem] | None = None


class UrlContextCallDelta(_Signed):
    type: Literal["url_context_call"] = "url_context_call"
    arguments: UrlContextArguments | None = None


class UrlContextResultDelta(_SignedResult):
    type: Literal["url_context_result"] = "url_context_result"
    result: list[UrlContextResultItem] | None = None


class GoogleMapsCallDelta(_Signed):
    type: Literal["google_maps_call"] = "google_maps_call"
    arguments: QueriesArguments | None = None


class GoogleMapsResultDelta(_SignedResult):
    type: Literal["google_maps_result"] = "google_maps_result"
    result: list[GoogleMapsResultItem] | None = None


class FileSearchCallDelta(_Signed):
    type: Literal["file_search_call"] = "file_search_call"


class FileSearchResultDelta(_SignedResult):
    type: Literal["file_search_result"] = "file_search_result"
    result: list[FileSearchResultItem] | None = None


class McpServerToolCallDelta(WireModel):
    type: Literal["mcp_server_tool_call"] = "mcp_server_tool_call"
    name: str | None = None
    server_name: str | None = None
    arguments: dict[str, Any] | None = None


class McpServerToolResultDelta(WireModel):
    type: Literal["mcp_server_tool_result"] = "mcp_server_tool_result"
    result: Any = None
    name: str | None = None
    server_name: str | None = None


class RetrievalCallDelta(_Signed):
    type: Literal["retrieval_call"] = "retrieval_call"
    arguments: QueriesArguments | None = None
    retrieval_type: str | None = None


class RetrievalResultDelta(_SignedResult):
    type: Literal["retrieval_result"] = "retrieval_result"


class ToolSearchCallDelta(_Signed):
    type: Literal["tool_search_call"] = "tool_search_call"
    arguments: ToolSearchArguments | None = None


class ToolSearchResultDelta(_Signed):
    type: Literal["tool_search_result"] = "tool_search_result"
    result: list[dict[str, Any]] | None = None


class ProcessingCallDelta(_Signed):
    type: Literal["processing_call"] = "processing_call"


class ProcessingResultDelta(_Signed):
    type: Literal["processing_result"] = "processing_result"


class UnknownDelta(WireModel):
    """A delta type this client does not know; every field is kept."""

    type: str


DELTA_VARIANTS: list[type[WireModel]] = [
    TextDelta,
    TextAnnotationDelta,
    ImageDelta,
    AudioDelta,
    VideoDelta,
    DocumentDelta,
    ThoughtSummaryDelta,
    ThoughtSignatureDelta,
    ArgumentsDelta,
    FunctionResultDelta,
    CodeExecutionCallDelta,
    CodeExecutionResultDelta,
    GoogleSearchCallDelta,
    GoogleSearchResultDelta,
    UrlContextCallDelta,
    UrlContextResultDelta,
    GoogleMapsCallDelta,
    GoogleMapsResultDelta,
    FileSearchCallDelta,
    FileSearchResultDelta,
    McpServerToolCallDelta,
    McpServerToolResultDelta,
    RetrievalCallDelta,
    RetrievalResultDelta,
    ToolSearchCallDelta,
    ToolSearchResultDelta,
    ProcessingCallDelta,
    ProcessingResultDelta,
]

Delta = Annotated[
    TextDelta
    | TextAnnotationDelta
    | ImageDelta
    | AudioDelta
    | VideoDelta
    | DocumentDelta
    | ThoughtSummaryDelta
    | ThoughtSignatureDelta
    | ArgumentsDelta
    | FunctionResultDelta
    | CodeExecutionCallDelta
    | CodeExecutionResultDelta
    | GoogleSearchCallDelta
    | GoogleSearchResultDelta
    | UrlContextCallDelta
    | UrlContextResultDelta
    | GoogleMapsCallDelta
    | GoogleMapsResultDelta
    | FileSearchCallDelta
    | FileSearchResultDelta
    | McpServerToolCallDelta
    | McpServerToolResultDelta
    | RetrievalCallDelta
    | RetrievalResultDelta
    | ToolSearchCallDelta
    | ToolSearchResultDelta
    | ProcessingCallDelta
    | ProcessingResultDelta
    | UnknownDelta,
    BeforeValidator(open_union(DELTA_VARIANTS, UnknownDelta)),
]
