"""Registered webhooks and their signed deliveries (Standard Webhooks, as Gemini's are).

A delivery is a JSON POST ``{"type": event, "timestamp": …, "data": {…}}`` with the headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: one
``v1,<base64 HMAC-SHA256>`` per live secret, space-separated, over
``{webhook-id}.{webhook-timestamp}.{body}`` keyed with the base64 part of the
``whsec_…`` secret. A receiver that does not answer 2xx gets the delivery again, a few
times, with backoff.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from .errors import bad_request, not_found
from .inputs import JSON

EVENTS = frozenset(
    {
        "batch.succeeded",
        "batch.cancelled",
        "batch.expired",
        "batch.failed",
        "interaction.requires_action",
        "interaction.completed",
        "interaction.failed",
        "interaction.cancelled",
        "video.generated",
    }
)
STATES = frozenset({"enabled", "disabled", "disabled_due_to_failed_deliveries"})
#: Interaction status → the webhook event it raises.
STATUS_EVENTS = {
    "completed": "interaction.completed",
    "failed": "interaction.failed",
    "cancelled": "interaction.cancelled",
    "requires_action": "interaction.requires_action",
}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass
class Secret:
    value: str
    expires: datetime | None = None

    def view(self) -> JSON:
        out: JSON = {"truncated_secret": self.value[:10] + "…"}
        if self.expires is not None:
            out["expire_time"] = rfc3339(self.expires)
        return out


@dataclass
class Webhook:
    id: str
    uri: str
    events: list[str]
    name: str | None
    secrets: list[Secret]
    created: datetime
    updated: datetime
    state: str = "enabled"

    def live_secrets(self) -> list[str]:
        now = datetime.now(UTC)
        self.secrets = [s for s in self.secrets if s.expires is None or s.expires > now]
        return [s.value for s in self.secrets]

    def view(self) -> JSON:
        out: JSON = {
            "id": self.id,
            "uri": self.uri,
            "subscribed_events": list(self.events),
            "state": self.state,
            "signing_secrets": [s.view() for s in self.secrets],
            "create_time": rfc3339(self.created),
            "update_time": rfc3339(self.updated),
        }
        if self.name is not None:
            out["name"] = self.name
        return out


def _uri(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise bad_request("webhook 'uri' must be an http(s) URL.")
    return value


def _events(value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise bad_request("webhook 'subscribed_events' must be a non-empty list.")
    unknown = [e for e in value if e not in EVENTS]
    if unknown:
        raise bad_request(f"Unknown webhook events: {unknown}.")
    return [str(e) for e in value]


@dataclass
class WebhookRegistry:
    """Webhooks by id, and a log of every delivery attempt (for tests to read)."""

    retry_seconds: float = 0.2
    attempts: int = 3
    hooks: dict[str, Webhook] = field(default_factory=dict)
    deliveries: list[JSON] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def create(self, body: JSON) -> JSON:
        now = datetime.now(UTC)
        name = body.get("name")
        hook = Webhook(
            id=secrets.token_hex(8),
            uri=_uri(body.get("uri")),
            events=_events(body.get("subscribed_events")),
            name=str(name) if name is not None else None,
            secrets=[Secret(new_secret())],
            created=now,
            updated=now,
        )
        self.hooks[hook.id] = hook
        return {**hook.view(), "new_signing_secret": hook.secrets[0].value}

    def get(self, hook_id: str) -> Webhook:
        hook = self.hooks.get(hook_id)
        if hook is None:
            raise not_found(f"Webhook '{hook_id}' was not found.")
        return hook

    def update(self, hook_id: str, body: JSON) -> JSON:
        hook = self.get(hook_id)
        if "uri" in body:
            hook.uri = _uri(body["uri"])
        if "subscribed_events" in body:
            hook.events = _events(body["subscribed_events"])
        if "name" in body:
            hook.name = None if body["name"] is None else str(body["name"])
        if "state" in body:
            if body["state"] not in STATES:
                raise bad_request(f"Unknown webhook state {body['state']!r}.")
            hook.state = str(body["state"])
        hook.updated = datetime.now(UTC)
        return hook.view()

    def delete(self, hook_id: str) -> None:
        self.get(hook_id)
        del self.hooks[hook_id]

    def rotate(self, hook_id: str, body: JSON) -> JSON:
        hook = self.get(hook_id)
        behaviour = body.get("revocation_behavior") or "revoke_previous_secrets_after_h24"
        if behaviour == "revoke_previous_secrets_immediately":
            hook.secrets = []
        elif behaviour == "revoke_previous_secrets_after_h24":
            later = datetime.now(UTC) + timedelta(hours=24)
            for old in hook.secrets:
                old.expires = min(old.expires or later, later)
        else:
            raise bad_request(f"Unknown revocation_behavior {behaviour!r}.")
        secret = new_secret()
        hook.secrets.insert(0, Secret(secret))
        hook.updated = datetime.now(UTC)
        return {"secret": secret}

    def ping(self, hook_id: str) -> JSON:
        hook = self.get(hook_id)
        self._send(hook, "webhook.ping", {"id": hook.id})
        return {}

    def publish(self, event: str, data: JSON) -> None:
        """Deliver ``event`` to every enabled webhook subscribed to it (in the background)."""
        for hook in list(self.hooks.values()):
            if hook.state == "enabled" and event in hook.events:
                self._send(hook, event, data)

    def _send(self, hook: Webhook, event: str, data: JSON) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(hook, event, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook: Webhook, event: str, data: JSON) -> None:
        message_id = "msg_" + secrets.token_urlsafe(12)
        payload = {"type": event, "timestamp": rfc3339(datetime.now(UTC)), "data": data}
        body = json.dumps(payload, separators=(",", ":")).encode()
        record: JSON = {"webhook_id": hook.id, "id": message_id, "type": event, "attempts": 0}
        self.deliveries.append(record)
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(self.attempts):
                stamp = int(time.time())
                signature = " ".join(sign(s, message_id, stamp, body) for s in hook.live_secrets())
                headers = {
                    "content-type": "application/json",
                    "webhook-id": message_id,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": signature,
                }
                record["attempts"] = attempt + 1
                try:
                    response = await client.post(hook.uri, content=body, headers=headers)
                    record["status_code"] = response.status_code
                    if response.is_success:
                        return
                except httpx.HTTPError as exc:
                    record["status_code"], record["error"] = None, repr(exc)
                await asyncio.sleep(self.retry_seconds * 2**attempt)

    async def drain(self) -> None:
        """Wait for the deliveries under way (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def clear(self) -> None:
        """Forget webhooks and deliveries (callable from any thread: deliveries under way
        just end after their last attempt)."""
        self.hooks.clear()
        self.deliveries.clear()
