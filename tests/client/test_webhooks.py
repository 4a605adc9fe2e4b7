"""Webhooks: the typed `client.webhooks` resource against the simulator, signed deliveries
when a background interaction ends, and `verify_webhook` refusing forgeries and replays."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

import interactions_client as ic
from interactions_client.simulator import SimulatorConfig, serve
from interactions_client.simulator.server import RunningSimulator

from .webhook_receiver import Delivery, receive_webhooks

MODEL = "gemini-3.5-flash"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve(SimulatorConfig(background_seconds=0.1)) as running:
        running.app.automation.webhooks.retry_seconds = 0.05
        yield running


@pytest.fixture()
def client(sim: RunningSimulator) -> Iterator[ic.Client]:
    sim.app.automation.clear()
    with ic.Client(api_key="test-key", base_url=sim.base_url) as client:
        yield client


def test_create_get_list_update_delete(client: ic.Client) -> None:
    created = client.webhooks.create(
        uri="https://example.com/hook", subscribed_events=["interaction.completed"], name="ops"
    )
    assert created.id and created.state == "enabled" and created.name == "ops"
    assert created.new_signing_secret and created.new_signing_secret.startswith("whsec_")
    fetched = client.webhooks.get(created.id)
    assert fetched.new_signing_secret is None  # the whole secret is shown once only
    assert fetched.signing_secrets and fetched.signing_secrets[0].truncated_secret
    assert [h.id for h in client.webhooks.iter(page_size=1)] == [created.id]
    renamed = client.webhooks.update(created.id, name="renamed", state="disabled")
    assert (renamed.name, renamed.state, renamed.uri) == (
        "renamed",
        "disabled",
        "https://example.com/hook",
    )
    client.webhooks.delete(created.id)
    with pytest.raises(ic.NotFoundError):
        client.webhooks.get(created.id)


def test_unknown_event_is_a_bad_request(client: ic.Client) -> None:
    with pytest.raises(ic.BadRequestError, match="Unknown webhook events"):
        client.webhooks.create(uri="https://example.com/h", subscribed_events=["nope"])


def run_in_background(client: ic.Client) -> ic.Interaction:
    started = client.interactions.create(model=MODEL, input="Summarize", background=True)
    return client.interactions.wait(started.id, poll_interval=0.05, timeout=10)


def test_background_interaction_end_is_delivered_signed(client: ic.Client) -> None:
    with receive_webhooks() as receiver:
        hook = client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.completed"])
        secret = str(hook.new_signing_secret)
        done = run_in_background(client)
        delivery = receiver.wait_for(1)[0]
    event = ic.verify_webhook(delivery.body, delivery.headers, secret)
    assert event.type == "interaction.completed"
    assert event.data == {"id": done.id, "status": "completed"}
    assert event.webhook_id == delivery.headers["webhook-id"]


def signed_delivery(client: ic.Client) -> tuple[Delivery, str]:
    with receive_webhooks() as receiver:
        hook = client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.completed"])
        run_in_background(client)
        return receiver.wait_for(1)[0], str(hook.new_signing_secret)


def test_bad_signature_tampered_body_and_wrong_secret_are_refused(client: ic.Client) -> None:
    delivery, secret = signed_delivery(client)
    forged = dict(delivery.headers, **{"webhook-signature": "v1,AAAA"})
    with pytest.raises(ic.WebhookVerificationError, match="signature"):
        ic.verify_webhook(delivery.body, forged, secret)
    tampered = delivery.body.replace(b"completed", b"failed")
    with pytest.raises(ic.WebhookVerificationError, match="signature"):
        ic.verify_webhook(tampered, delivery.headers, secret)
    other = client.webhooks.create(uri="https://example.com/x", subscribed_events=["batch.failed"])
    with pytest.raises(ic.WebhookVerificationError, match="signature"):
        ic.verify_webhook(delivery.body, delivery.headers, str(other.new_signing_secret))
    missing = {k: v for k, v in delivery.headers.items() if k.lower() != "webhook-signature"}
    with pytest.raises(ic.WebhookVerificationError, match="missing"):
        ic.verify_webhook(delivery.body, missing, secret)


def test_replays_are_refused(client: ic.Client) -> None:
    delivery, secret = signed_delivery(client)
    guard = ic.ReplayGuard()
    ic.verify_webhook(delivery.body, delivery.headers, secret, seen=guard)
    with pytest.raises(ic.WebhookVerificationError, match="replay"):
        ic.verify_webhook(delivery.body, delivery.headers, secret, seen=guard)
    # Past the window the timestamp alone refuses it, whatever memory the receiver has.
    later = int(delivery.headers["webhook-timestamp"]) + 301
    with pytest.raises(ic.WebhookVerificationError, match="tolerance"):
        ic.verify_webhook(delivery.body, delivery.headers, secret, now=later)


def test_rotation_signs_with_both_secrets_until_the_old_one_is_revoked(
    client: ic.Client,
) -> None:
    with receive_webhooks() as receiver:
        hook = client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.failed"])
        old = str(hook.new_signing_secret)
        new = client.webhooks.rotate_signing_secret(str(hook.id))
        client.webhooks.ping(str(hook.id))
        overlap = receiver.wait_for(1)[0]
        newest = client.webhooks.rotate_signing_secret(
            str(hook.id), revocation_behavior="revoke_previous_secrets_immediately"
        )
        client.webhooks.ping(str(hook.id))
        after = receiver.wait_for(2)[1]
    assert len(overlap.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert ic.verify_webhook(overlap.body, overlap.headers, secret).type == "webhook.ping"
    assert len(client.webhooks.get(str(hook.id)).signing_secrets or []) == 1
    ic.verify_webhook(after.body, after.headers, newest)
    with pytest.raises(ic.WebhookVerificationError):
        ic.verify_webhook(after.body, after.headers, [old, new])


def test_failed_delivery_is_retried(sim: RunningSimulator, client: ic.Client) -> None:
    with receive_webhooks(fail_first=1) as receiver:
        hook = client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.completed"])
        run_in_background(client)
        delivery = receiver.wait_for(1)[0]
    assert receiver.refused == 1
    ic.verify_webhook(delivery.body, delivery.headers, str(hook.new_signing_secret))
    log = sim.app.automation.webhooks.deliveries
    assert log[-1]["attempts"] == 2 and log[-1]["status_code"] == 204


def test_disabled_or_unsubscribed_webhooks_get_nothing(client: ic.Client) -> None:
    with receive_webhooks() as receiver:
        off = client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.completed"])
        client.webhooks.update(str(off.id), state="disabled")
        client.webhooks.create(uri=receiver.url, subscribed_events=["interaction.failed"])
        run_in_background(client)
        time.sleep(0.3)
    assert receiver.deliveries == []


def test_async_twin(sim: RunningSimulator) -> None:
    sim.app.automation.clear()

    async def main() -> list[str]:
        async with ic.AsyncClient(api_key="k", base_url=sim.base_url) as client:
            hook = await client.webhooks.create(
                uri="https://example.com/a", subscribed_events=["video.generated"]
            )
            await client.webhooks.update(str(hook.id), subscribed_events=["batch.failed"])
            events = [e async for h in client.webhooks.iter() for e in h.subscribed_events]
            secret = await client.webhooks.rotate_signing_secret(str(hook.id))
            await client.webhooks.delete(str(hook.id))
            return [*events, secret[:6]]

    assert asyncio.run(main()) == ["batch.failed", "whsec_"]


def test_event_body_is_plain_json(client: ic.Client) -> None:
    delivery, _secret = signed_delivery(client)
    payload = json.loads(delivery.body)
    assert set(payload) == {"type", "timestamp", "data"}
