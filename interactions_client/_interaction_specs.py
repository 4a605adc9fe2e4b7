"""Request specs and result parsing for `client.interactions`, shared by its sync and async
twins in `_interactions.py`: the `create` parameters, the request each method sends, and the
merge of a continued answer's hops into one interaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import httpx

from . import _continuation
from ._accumulate import Accumulator
from ._request import RequestSpec, bool_param, create_body, parse_interaction
from .types import Interaction

RUNNING_STATUSES = frozenset({"queued", "in_progress"})


class CreateParams(TypedDict, total=False):
    """Keyword arguments of `interactions.create` besides `stream` and `accumulator`; see the
    API reference for each field. Open fields are `object`, not `Any`, so a call that unpacks
    a `CreateParams` still picks the right overload."""

    model: str
    agent: str
    input: object
    previous_interaction_id: str
    store: bool
    background: bool
    tools: object
    tool_choice: object
    response_format: object
    response_mime_type: str
    response_modalities: list[str]
    generation_config: object
    system_instruction: str
    safety_settings: object
    service_tier: str
    webhook_config: object
    environment: object
    agent_config: object
    continuation_token: str
    cached_content: str
    labels: dict[str, str]
    # Client options, not sent as such.
    automatic_continuation: bool | None
    extra_body: Mapping[str, object] | None
    extra_headers: Mapping[str, str] | None
    timeout: float | httpx.Timeout | None


class InteractionsBase:
    """Request specs and result parsing for the interactions resource."""

    @staticmethod
    def _create_spec(body: dict[str, Any], params: CreateParams) -> RequestSpec:
        return RequestSpec(
            "POST",
            "interactions",
            json=body,
            stream=bool(body.get("stream")),
            # A create whose answer was lost may have created an interaction.
            idempotent=False,
            headers=dict(params.get("extra_headers") or {}),
            timeout=params.get("timeout"),
        )

    @staticmethod
    def _split(
        params: CreateParams, stream: bool, accumulator: Accumulator | None
    ) -> tuple[dict[str, Any], bool]:
        _stream_only(stream is True, accumulator=accumulator)
        options = {"automatic_continuation", "extra_body", "extra_headers", "timeout"}
        fields = {k: v for k, v in params.items() if k not in options}
        fields["stream"] = stream  # NOT_GIVEN (not sent) unless the caller passed it
        body = create_body(fields, params.get("extra_body"))
        return body, _continuation.enabled(body, params.get("automatic_continuation"))

    @staticmethod
    def _get_spec(
        interaction_id: str,
        stream: bool,
        last_event_id: str | None,
        include_input: bool | None,
        timeout: float | httpx.Timeout | None,
        accumulator: Accumulator | None,
    ) -> RequestSpec:
        _stream_only(stream, last_event_id=last_event_id, accumulator=accumulator)
        params: dict[str, Any] = {}
        if include_input is not None:
            params["include_input"] = bool_param(include_input)
        if last_event_id is not None:
            params["last_event_id"] = last_event_id
        params["stream"] = bool_param(stream)
        return RequestSpec(
            "GET",
            f"interactions/{_id(interaction_id)}",
            params=params,
            stream=stream,
            timeout=timeout,
        )

    @staticmethod
    def _cancel_spec(interaction_id: str) -> RequestSpec:
        return RequestSpec("POST", f"interactions/{_id(interaction_id)}/cancel")

    @staticmethod
    def _delete_spec(interaction_id: str) -> RequestSpec:
        return RequestSpec("DELETE", f"interactions/{_id(interaction_id)}")

    @staticmethod
    def _merge(hops: list[Any], response: httpx.Response | None) -> Interaction:
        interaction = parse_interaction(_continuation.merge_hops(hops), response)
        if len(hops) > 1:
            interaction._continuation_ids = [str(h.get("id")) for h in hops]
        return interaction


def _stream_only(stream: bool, **options: object) -> None:
    for name, value in options.items():
        if value is not None and not stream:
            raise ValueError(f"{name} needs stream=True")


def _id(interaction_id: str) -> str:
    if not interaction_id or "/" in interaction_id:
        raise ValueError(f"not an interaction id: {interaction_id!r}")
    return interaction_id


def next_poll(interval: float, max_interval: float) -> float:
    return min(interval * 1.5, max_interval)
