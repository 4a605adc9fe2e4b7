from __future__ import annotations

from django.apps import AppConfig


class ChatappConfig(AppConfig):
    name = "chatapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal handlers: sockets closed on revocation; audit, limits and usage bookkeeping;
        # Files API copies and file search stores deleted with what holds them.
        from . import audit, knowledge, limits, remote_files, revocation, usage  # noqa: F401

        revocation.connect()
