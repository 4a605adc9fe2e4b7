"""Traces of a turn (OpenTelemetry): from the page's frame, through the generation and each
call to Gemini (one span per HTTP attempt, so retries show), to the final frame reaching
each socket, on whichever worker it is connected (the trace context travels with the final
frame through Redis).

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard OTLP variables apply: headers,
protocol, `OTEL_SERVICE_NAME`); without a provider every span here is a no-op. Attributes
carry ids, models, statuses and sizes, never message text, file names or keys.
"""

from __future__ import annotations

import os
from collections.abc import Coroutine
from typing import Any

import httpx
from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

tracer = trace.get_tracer("chatapp")
_configured = False


def configure(exporter: Any = None) -> None:
    """Install the tracer provider once per process: OTLP over HTTP when configured, or the
    given exporter (tests pass an in-memory one)."""
    global _configured
    if _configured or (exporter is None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME", "gemini-team-chat")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def carrier() -> str:
    """The current span as a W3C `traceparent`, for a frame that leaves this worker ("" when
    nothing is traced)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return ""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers.get("traceparent", "")


def parent(traceparent: str) -> context.Context | None:
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


def delivered(traceparent: str, socket: str, conversation: int, turn: int | None) -> None:
    """A final frame reached a socket: a short span under the turn's trace."""
    if not traceparent:
        return
    attributes: dict[str, str | int] = {
        "chat.socket": socket.rsplit("|", 1)[-1][-12:],
        "chat.conversation": conversation,
    }
    if turn is not None:
        attributes["chat.turn"] = turn
    with tracer.start_as_current_span(
        "chat.frame.final", context=parent(traceparent), attributes=attributes
    ):
        pass


async def traced(name: str, work: Coroutine[Any, Any, None], attributes: dict[str, Any]) -> None:
    """Run `work` (a generation's task) inside a span, a child of the frame that started it."""
    with tracer.start_as_current_span(name, attributes=attributes):
        await work


def turn_attributes(turn: Any, *, resume: bool = False) -> dict[str, Any]:
    return {
        "chat.turn": turn.pk,
        "chat.conversation": turn.conversation_id,
        "gen_ai.request.model": turn.model,
        "chat.resumed": resume,
    }


def outcome(status: str, usage: dict[str, Any] | None, error: dict[str, Any] | None) -> None:
    """How the current generation ended: its status, token counts and error code."""
    span = trace.get_current_span()
    span.set_attribute("chat.status", status)
    for key in ("total_input_tokens", "total_output_tokens", "total_thought_tokens"):
        if usage and isinstance(usage.get(key), int):
            span.set_attribute(f"gen_ai.usage.{key.removeprefix('total_')}", usage[key])
    if error:
        span.set_attribute("error.type", str(error.get("code") or error.get("kind") or "error"))
        span.set_status(Status(StatusCode.ERROR))


def set_attributes(span: Span, **values: Any) -> None:
    for key, value in values.items():
        if value is not None and value != "":
            span.set_attribute(key, value)


class TracedTransport(httpx.AsyncBaseTransport):
    """One span per HTTP attempt to Gemini: method, path (never the query), status, error."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = f"HTTP {request.method}"
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("url.path", request.url.path)
            span.set_attribute("server.address", request.url.host)
            try:
                response = await self.inner.handle_async_request(request)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()
