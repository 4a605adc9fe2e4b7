"""Knowledge bases: Gemini file search stores managed from the app, and their documents.

A base belongs to its owner; `shared` makes it usable by everyone on this server (the team),
while only its owner or an admin manages it (`chatapp.knowledge`). We keep a copy of every
document: it is what a citation opens, and what the store is rebuilt from.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KnowledgeBase(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="knowledge_bases"
    )
    name = models.CharField(max_length=120)
    # Usable (attached to conversations) by every person on this server.
    shared = models.BooleanField(default=False)
    # The upstream file search store, `fileSearchStores/…`.
    store_name = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/kb/{self.pk}/"


def document_path(document: KnowledgeDocument, filename: str) -> str:
    # Stored names never come from the user: only the uuid and a safe extension.
    return f"knowledge/{document.base_id}/{document.uuid.hex}{document.extension}"


class KnowledgeDocument(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Indexing")
        ACTIVE = "active", _("Ready")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    # The name shown and cited (the file's name at upload, renamable; escaped wherever shown).
    name = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField()
    file = models.FileField(upload_to=document_path, max_length=300)
    # Upstream: the indexing operation, then the document it made (`…/documents/…`).
    operation = models.CharField(max_length=300, blank=True)
    upstream_name = models.CharField(max_length=300, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/kb/{self.base_id}/d/{self.uuid}"
