from __future__ import annotations

from django.apps import AppConfig


class ChatappConfig(AppConfig):
    name = "chatapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal handlers: sockets closed on revocation; audit, limits and usage bookkeeping;
        # a deleted share link's stored copy.
        from . import audit, limits, revocation, share_links, usage  # noqa: F401

        revocation.connect()
