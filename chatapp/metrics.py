"""Prometheus metrics of this worker: sockets, generations, latency, throughput, errors.

Each Daphne worker keeps its own registry; scrape every worker (not the load balancer).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

OPEN_SOCKETS = Gauge("chat_open_sockets", "Websockets open on this worker")
ACTIVE_GENERATIONS = Gauge("chat_active_generations", "Generations running on this worker")
FIRST_DELTA_SECONDS = Histogram(
    "chat_time_to_first_delta_seconds",
    "From starting a generation to its first streamed delta",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
DELTAS = Counter("chat_deltas_total", "Deltas relayed to browsers (rate() gives deltas per second)")
GENERATIONS = Counter("chat_generations_total", "Finished generations by outcome", ["outcome"])
UPSTREAM_ERRORS = Counter(
    "chat_upstream_errors_total", "Errors from the Gemini API by HTTP status", ["status"]
)
SOCKET_OVERFLOWS = Counter(
    "chat_socket_overflows_total", "Sockets that fell so far behind that they had to resync"
)
MERGED_DELTAS = Counter(
    "chat_merged_deltas_total", "Text deltas sent inside another frame because a socket lagged"
)
STREAM_ERRORS = Counter(
    "chat_stream_errors_total", "Failed reads or writes of the frame streams in Redis"
)


def metrics(request: HttpRequest) -> HttpResponse:
    """The text exposition, for a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`.

    Without METRICS_TOKEN it is a 404 (open only with DEBUG on, for development): the figures
    tell an outsider how busy the team is and which errors the upstream returns.
    """
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(sent, f"Bearer {token}".encode()):
            return HttpResponse(status=404)
    elif not settings.DEBUG:
        return HttpResponse(status=404)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
