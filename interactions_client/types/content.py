"""Content items (`content[]`) and the annotations carried by text."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from ._base import WireModel, open_union

# --- annotations on text; start/end are UTF-8 byte offsets, end exclusive ---


class UrlCitation(WireModel):
    type: Literal["url_citation"] = "url_citation"
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class FileCitation(WireModel):
    type: Literal["file_citation"] = "file_citation"
    document_uri: str | None = None
    file_name: str | None = None
    source: str | None = None
    page_number: int | None = None
    media_id: str | None = None
    custom_metadata: dict[str, Any] | None = None
    start_index: int | None = None
    end_index: int | None = None


class ReviewSnippet(WireModel):
    review_id: str | None = None
    title: str | None = None
    url: str | None = None


class PlaceCitation(WireModel):
    type: Literal["place_citation"] = "place_citation"
    place_id: str | None = None
    name: str | None = None
    url: str | None = None
    review_snippets: list[ReviewSnippet] | None = None
    start_index: int | None = None
    end_index: int | None = None


class SpeechMetadata(WireModel):
    type: Literal["speech_metadata"] = "speech_metadata"
    speaker: str | None = None
    style: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class WordInfo(WireModel):
    type: Literal["word_info"] = "word_info"
    text: str | None = None
    speaker: str | None = None
    start_offset: str | None = None
    end_offset: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class UnknownAnnotation(WireModel):
    """An annotation type this client does not know; every field is kept."""

    type: str


Annotation = Annotated[
    UrlCitation | FileCitation | PlaceCitation | SpeechMetadata | WordInfo | UnknownAnnotation,
    BeforeValidator(
        open_union(
            [UrlCitation, FileCitation, PlaceCitation, SpeechMetadata, WordInfo],
            UnknownAnnotation,
        )
    ),
]

# --- content ---


class TextContent(WireModel):
    type: Literal["text"] = "text"
    text: str = ""
    annotations: list[Annotation] | None = None


class _MediaContent(WireModel):
    data: str | None = None
    """Base64-encoded bytes."""
    uri: str | None = None
    mime_type: str | None = None


class ImageContent(_MediaContent):
    type: Literal["image"] = "image"
    resolution: str | None = None


class AudioContent(_MediaContent):
    type: Literal["audio"] = "audio"
    sample_rate: int | None = None
    channels: int | None = None
    processing: Any = None


class VideoContent(_MediaContent):
    type: Literal["video"] = "video"
    resolution: str | None = None
    name: str | None = None
    processing: Any = None


class DocumentContent(_MediaContent):
    type: Literal["document"] = "document"
    resolution: str | None = None
    processing: Any = None


class UnknownContent(WireModel):
    """A content type this client does not know; every field is kept."""

    type: str


CONTENT_VARIANTS: list[type[WireModel]] = [
    TextContent,
    ImageContent,
    AudioContent,
    VideoContent,
    DocumentContent,
]

Content = Annotated[
    TextContent | ImageContent | AudioContent | VideoContent | DocumentContent | UnknownContent,
    BeforeValidator(open_union(CONTENT_VARIANTS, UnknownContent)),
]
