"""Each person's own choices: the model and tools new chats start with, theme and language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Preferences(models.Model):
    class Theme(models.TextChoices):
        SYSTEM = "system", "system"
        LIGHT = "light", "light"
        DARK = "dark", "dark"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    # The model and switches a new chat starts with (blank: the deployment's default).
    model = models.CharField(max_length=100, blank=True)
    # Conversation settings a new chat copies, e.g. {"google_search": true, "tools": [...]}.
    defaults = models.JSONField(default=dict, blank=True)
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    # A code from settings.LANGUAGES, or blank to follow the browser.
    language = models.CharField(max_length=10, blank=True)

    @classmethod
    def of(cls, user: models.Model) -> Preferences:
        """The person's preferences (made, with the defaults, on first use)."""
        preferences, _ = cls.objects.get_or_create(user=user)
        return preferences

    @classmethod
    def shown_to(cls, request: Any) -> dict[str, str]:
        """The signed-in person's language and theme, read once per request (the language
        middleware and the theme of the page both need them); {} when they have none."""
        if not hasattr(request, "_shown_preferences"):
            user = getattr(request, "user", None)
            row = None
            if user is not None and user.is_authenticated:
                row = cls.objects.filter(user_id=user.pk).values("language", "theme").first()
            request._shown_preferences = row or {}
        shown: dict[str, str] = request._shown_preferences
        return shown
