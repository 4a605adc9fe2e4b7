"""Building requests and reading responses: the one implementation sync and async share."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ._errors import APIResponseValidationError
from .types import Interaction, WireModel
from .types.content import CONTENT_VARIANTS

M = TypeVar("M", bound=BaseModel)
NOT_GIVEN: Any = object()
"""Marks a parameter the caller did not pass, so it is not sent (None is sent as null)."""

_CONTENT_TYPES = frozenset(str(cls.model_fields["type"].default) for cls in CONTENT_VARIANTS)


@dataclass
class RequestSpec:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None
    stream: bool = False
    idempotent: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | httpx.Timeout | None = None
    #: Raw body (an upload chunk, streamed) instead of `json`.
    content: bytes | Iterator[bytes] | AsyncIterator[bytes] | None = None
    #: `upload/{version}/{path}` (the media endpoints) instead of `{version}/{path}`.
    upload: bool = False
    #: A URL the server handed out (an upload session); `path` is then ignored.
    url: str | None = None
    #: False when the caller runs its own recovery (upload chunks resume from the
    #: server's offset instead of being re-sent blindly).
    retry: bool = True


def to_json(value: Any) -> Any:
    """Plain JSON for a parameter given as models, dicts, lists or scalars."""
    if isinstance(value, WireModel):
        return value.model_dump(mode="json")
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True, by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def normalize_input(value: Any) -> Any:
    """A list of content items is one user turn: wrap it in a `user_input` step, as the SDK
    does; items that carry only `text` get their `"type": "text"`."""
    value = to_json(value)
    if not isinstance(value, list) or not value:
        return value
    if not all(isinstance(item, dict) for item in value):
        return value
    if all(item.get("type") in _CONTENT_TYPES or set(item) == {"text"} for item in value):
        content = [item if "type" in item else {"type": "text", **item} for item in value]
        return [{"type": "user_input", "content": content}]
    return value


def create_body(params: dict[str, Any], extra_body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON body of a create call from its keyword arguments (NOT_GIVEN ones dropped)."""
    given = {k: v for k, v in params.items() if v is not NOT_GIVEN}
    tool_choice = given.pop("tool_choice", NOT_GIVEN)
    if ("model" in given) == ("agent" in given):
        raise ValueError("pass exactly one of `model` or `agent`")
    if "agent" in given and "generation_config" in given:
        raise ValueError("`generation_config` applies to model interactions, not agents")
    if "model" in given and "agent_config" in given:
        raise ValueError("`agent_config` applies to agent interactions, not models")
    body: dict[str, Any] = {}
    for key, value in given.items():
        body[key] = normalize_input(value) if key == "input" else to_json(value)
    if tool_choice is not NOT_GIVEN:
        # The API reads tool_choice inside generation_config.
        config = dict(body.get("generation_config") or {})
        config["tool_choice"] = to_json(tool_choice)
        body["generation_config"] = config
    if extra_body:
        body.update(to_json(dict(extra_body)))
    return body


def parse_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise APIResponseValidationError(
            f"expected JSON from {response.request.url}, got {response.text[:200]!r}",
            response=response,
        ) from exc


def parse_interaction(data: Any, response: httpx.Response | None = None) -> Interaction:
    try:
        return Interaction.model_validate(data)
    except ValidationError as exc:
        raise APIResponseValidationError(f"invalid interaction: {exc}", response=response) from exc


def parse_model(model: type[M], data: Any, response: httpx.Response | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        name = model.__name__
        raise APIResponseValidationError(f"invalid {name}: {exc}", response=response) from exc


def bool_param(value: bool) -> str:
    return "true" if value else "false"
