from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandParser

from chatapp import upstream
from chatapp.gemini_webhooks import INTERACTION_ENDED


async def _register(uri: str) -> str:
    client = upstream.make_client()
    async with client:
        webhook = await client.webhooks.create(
            uri=uri, subscribed_events=sorted(INTERACTION_ENDED), name="team-chat"
        )
    return webhook.new_signing_secret or ""


class Command(BaseCommand):
    help = (
        "Register this deployment's webhook with the Gemini API (background answers and agent "
        "schedules then complete at once) and print the secret for GEMINI_WEBHOOK_SECRET."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "uri", help="the public address, e.g. https://chat.example.com/hooks/gemini/"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        secret = async_to_sync(_register)(options["uri"])
        self.stdout.write(f"GEMINI_WEBHOOK_SECRET={secret}")
