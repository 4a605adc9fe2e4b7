"""Folders ("projects"): a person's groups of chats, each with the settings its new chats
start with."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Folder(models.Model):
    # The Conversation settings a chat made in the folder copies (chatapp.folders).
    DEFAULTS = (
        "model",
        "system_instruction",
        "google_search",
        "google_maps",
        "url_context",
        "code_execution",
    )

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders"
    )
    name = models.CharField(max_length=100)
    # Blank: the deployment's default model.
    model = models.CharField(max_length=100, blank=True)
    system_instruction = models.TextField(blank=True)
    google_search = models.BooleanField(default=False)
    google_maps = models.BooleanField(default=False)
    url_context = models.BooleanField(default=False)
    code_execution = models.BooleanField(default=False)
    tools = models.JSONField(default=list, blank=True)  # names from settings.CHAT_TOOLS
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/f/{self.pk}/"
