"""Share links: public, read-only snapshots of a branch (chatapp.share_links does the work)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.utils import timezone


def share_content_path(link: ShareLink, filename: str) -> str:
    return f"shares/{secrets.token_hex(16)}.json"


class ShareLink(models.Model):
    """A public, read-only snapshot of one branch of a conversation, at an unguessable URL.

    The branch is copied at publish time (`snapshot`), so later edits, regenerations and new
    branches never show through. A revoked link stays revoked: sharing again makes a new one.
    """

    token = models.CharField(max_length=64, unique=True, editable=False)
    conversation = models.ForeignKey(
        "chatapp.Conversation", on_delete=models.CASCADE, related_name="share_links"
    )
    # The conversation's title when the link was made (shown on the shared page).
    title = models.CharField(max_length=200, blank=True)
    # The ids of the shared turns, root first, and a frozen copy of what each showed.
    turn_ids = models.JSONField(default=list)
    snapshot = models.JSONField(default=list)
    # Whether the answers came from the offline simulator (badge on the shared page).
    simulated = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    revoked = models.DateTimeField(null=True, blank=True)
    # The shared turns as HTML, rendered once when the link is made and served as stored: a
    # page rendered per request cost 10 s of CPU per anonymous view of a 2 MB branch.
    # `rendered` is null for links made before; their first view renders and stores them.
    html = models.TextField(blank=True)
    rendered = models.DateTimeField(null=True, blank=True)
    # The canonical uuids of the files the shared turns show, so a file request needs no
    # walk over the snapshot.
    files = models.JSONField(default=list)
    # The frozen branch and its rendered page, as one JSON file in the media storage (the
    # local disk or the object store): `snapshot` and `html` above stay empty for links made
    # since, and are read only for older ones.
    content = models.FileField(upload_to=share_content_path, blank=True, max_length=300)
    # The last shared question, for the owner's list of links.
    preview = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return f"Share link {self.pk} of conversation {self.conversation_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.token:
            self.token = secrets.token_urlsafe(24)
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.revoked is None

    def get_absolute_url(self) -> str:
        return f"/s/{self.token}"
