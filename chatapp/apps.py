from __future__ import annotations

from django.apps import AppConfig


class ChatappConfig(AppConfig):
    name = "chatapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal handlers: sockets closed on revocation; audit, limits and usage bookkeeping;
        # a deleted share link's stored copy; Files API copies and file search stores deleted
        # with what holds them, and API triggers with their schedules.
        from . import (  # noqa: F401
            agent_triggers,
            audit,
            knowledge,
            limits,
            pricing,
            remote_files,
            revocation,
            share_links,
            usage,
        )

        revocation.connect()
        pricing.install()  # the admins' price table feeds chatapp.catalogue
