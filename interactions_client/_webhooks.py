"""The webhooks resource, `client.webhooks`: endpoints the API notifies when background
work ends (create, get, list, iter, update, delete, ping, rotate_signing_secret). Verify
what arrives with `verify_webhook` (`_webhook_signature.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ._paging import each_item, each_item_async
from ._request import NOT_GIVEN, RequestSpec, parse_json, parse_model
from .types.automation import Webhook, WebhookList

if TYPE_CHECKING:
    from ._client import AsyncClient, Client


def webhook_id(value: str) -> str:
    short = value.removeprefix("webhooks/")
    if not short or "/" in short or ":" in short:
        raise ValueError(f"not a webhook id: {value!r}")
    return short


def _given(**fields: Any) -> dict[str, Any]:
    return {
        k: list(v) if k == "subscribed_events" else v
        for k, v in fields.items()
        if v is not NOT_GIVEN
    }


class _WebhooksBase:
    @staticmethod
    def _create_spec(uri: str, subscribed_events: Sequence[str], name: Any) -> RequestSpec:
        body = _given(uri=uri, subscribed_events=subscribed_events, name=name)
        return RequestSpec("POST", "webhooks", json=body, idempotent=False)

    @staticmethod
    def _get_spec(id: str) -> RequestSpec:
        return RequestSpec("GET", f"webhooks/{webhook_id(id)}")

    @staticmethod
    def _list_spec(page_size: int | None, page_token: str | None) -> RequestSpec:
        params: dict[str, Any] = {}
        if page_size is not None:
            params["page_size"] = page_size
        if page_token:
            params["page_token"] = page_token
        return RequestSpec("GET", "webhooks", params=params)

    @staticmethod
    def _update_spec(id: str, fields: dict[str, Any]) -> RequestSpec:
        # The mask names exactly the fields given, so the others are left alone.
        params = {"update_mask": ",".join(fields)} if fields else None
        return RequestSpec("PATCH", f"webhooks/{webhook_id(id)}", params=params, json=fields)

    @staticmethod
    def _delete_spec(id: str) -> RequestSpec:
        return RequestSpec("DELETE", f"webhooks/{webhook_id(id)}")

    @staticmethod
    def _ping_spec(id: str) -> RequestSpec:
        return RequestSpec("POST", f"webhooks/{webhook_id(id)}:ping", json={}, idempotent=False)

    @staticmethod
    def _rotate_spec(id: str, revocation_behavior: Any) -> RequestSpec:
        body = _given(revocation_behavior=revocation_behavior)
        path = f"webhooks/{webhook_id(id)}:rotateSigningSecret"
        return RequestSpec("POST", path, json=body, idempotent=False)

    @staticmethod
    def _secret(data: Any) -> str:
        secret = data.get("secret") if isinstance(data, dict) else None
        if not isinstance(secret, str):
            raise ValueError("rotateSigningSecret answered without a secret")
        return secret


class Webhooks(_WebhooksBase):
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self, *, uri: str, subscribed_events: Sequence[str], name: str = NOT_GIVEN
    ) -> Webhook:
        """Register `uri` for `subscribed_events`; the answer's `new_signing_secret` is the
        only time the whole secret is shown."""
        response = self._client.send(self._create_spec(uri, subscribed_events, name))
        return parse_model(Webhook, parse_json(response), response)

    def get(self, id: str) -> Webhook:
        response = self._client.send(self._get_spec(id))
        return parse_model(Webhook, parse_json(response), response)

    def list(self, *, page_size: int | None = None, page_token: str | None = None) -> WebhookList:
        response = self._client.send(self._list_spec(page_size, page_token))
        return parse_model(WebhookList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> Iterator[Webhook]:
        return each_item(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.webhooks,
        )

    def update(
        self,
        id: str,
        *,
        uri: str = NOT_GIVEN,
        subscribed_events: Sequence[str] = NOT_GIVEN,
        name: str = NOT_GIVEN,
        state: str = NOT_GIVEN,
    ) -> Webhook:
        """Change the given fields only (`state`: `enabled` or `disabled`)."""
        fields = _given(uri=uri, subscribed_events=subscribed_events, name=name, state=state)
        response = self._client.send(self._update_spec(id, fields))
        return parse_model(Webhook, parse_json(response), response)

    def delete(self, id: str) -> None:
        self._client.send(self._delete_spec(id))

    def ping(self, id: str) -> None:
        """Ask the API to send a test event to the webhook's uri."""
        self._client.send(self._ping_spec(id))

    def rotate_signing_secret(self, id: str, *, revocation_behavior: str = NOT_GIVEN) -> str:
        """A new signing secret (returned once); the old ones stop at once
        (`revoke_previous_secrets_immediately`) or after 24 h (the default)."""
        response = self._client.send(self._rotate_spec(id, revocation_behavior))
        return self._secret(parse_json(response))


class AsyncWebhooks(_WebhooksBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, uri: str, subscribed_events: Sequence[str], name: str = NOT_GIVEN
    ) -> Webhook:
        response = await self._client.send(self._create_spec(uri, subscribed_events, name))
        return parse_model(Webhook, parse_json(response), response)

    async def get(self, id: str) -> Webhook:
        response = await self._client.send(self._get_spec(id))
        return parse_model(Webhook, parse_json(response), response)

    async def list(
        self, *, page_size: int | None = None, page_token: str | None = None
    ) -> WebhookList:
        response = await self._client.send(self._list_spec(page_size, page_token))
        return parse_model(WebhookList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> AsyncIterator[Webhook]:
        return each_item_async(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.webhooks,
        )

    async def update(
        self,
        id: str,
        *,
        uri: str = NOT_GIVEN,
        subscribed_events: Sequence[str] = NOT_GIVEN,
        name: str = NOT_GIVEN,
        state: str = NOT_GIVEN,
    ) -> Webhook:
        fields = _given(uri=uri, subscribed_events=subscribed_events, name=name, state=state)
        response = await self._client.send(self._update_spec(id, fields))
        return parse_model(Webhook, parse_json(response), response)

    async def delete(self, id: str) -> None:
        await self._client.send(self._delete_spec(id))

    async def ping(self, id: str) -> None:
        await self._client.send(self._ping_spec(id))

    async def rotate_signing_secret(self, id: str, *, revocation_behavior: str = NOT_GIVEN) -> str:
        response = await self._client.send(self._rotate_spec(id, revocation_behavior))
        return self._secret(parse_json(response))
