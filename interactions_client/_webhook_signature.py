"""Checking a webhook delivery before trusting it: `verify_webhook`.

Deliveries follow Standard Webhooks: headers `webhook-id`, `webhook-timestamp` (Unix
seconds) and `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256>` entries, one per
live secret while a rotation overlaps) over `{id}.{timestamp}.{raw body}`, keyed with the
base64 part of the `whsec_…` secret. A delivery older (or newer) than `tolerance` seconds is
refused, so a captured one cannot be replayed later; within that window a `ReplayGuard`
refuses a `webhook-id` seen before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import ValidationError

from ._errors import InteractionsError
from .types.automation import WebhookEvent

DEFAULT_TOLERANCE = 300.0


class WebhookVerificationError(InteractionsError):
    """The delivery is not authentic, too old, or a replay: answer it with 400 and drop it."""


class SeenIds(Protocol):
    def remember(self, message_id: str, until: float) -> bool:
        """Record `message_id` until `until` (Unix time); False when it was already there."""
        ...


class ReplayGuard:
    """`SeenIds` in this process's memory (several workers need a shared store instead,
    e.g. a database row per id)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def remember(self, message_id: str, until: float) -> bool:
        now = time.time()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            if message_id in self._seen:
                return False
            self._seen[message_id] = until
            return True


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,…` signature entry of one delivery (what the API sends)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    seen: SeenIds | None = None,
    now: float | None = None,
) -> WebhookEvent:
    """The event of an authentic delivery; `WebhookVerificationError` otherwise.

    `body` must be the raw request body (re-serialized JSON does not verify). `secret` may
    list several secrets (during a rotation). With `seen`, a delivery id already accepted is
    refused as a replay.
    """
    raw = body.encode() if isinstance(body, str) else body
    lower = {k.lower(): v for k, v in headers.items()}
    message_id, stamp_text = lower.get("webhook-id"), lower.get("webhook-timestamp")
    sent = lower.get("webhook-signature")
    if not message_id or not stamp_text or not sent:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    try:
        stamp = int(stamp_text)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    expected = {signature(s, message_id, stamp, raw) for s in secrets}
    offered = [entry for entry in sent.split() if entry.startswith("v1,")]
    if not any(hmac.compare_digest(e, o) for e in expected for o in offered):
        raise WebhookVerificationError("webhook signature does not match")
    if seen is not None and not seen.remember(message_id, stamp + tolerance):
        raise WebhookVerificationError(f"webhook {message_id} was already delivered (replay)")
    try:
        event = WebhookEvent.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise WebhookVerificationError(f"webhook body is not an event: {exc}") from exc
    event.webhook_id = message_id
    return event
