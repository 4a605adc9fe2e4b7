"""Administration: per-user limits, usage kept past deletions, the audit log."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def default_messages_per_minute() -> int | None:
    return settings.DEFAULT_MESSAGES_PER_MINUTE  # type: ignore[no-any-return]


def default_tokens_per_day() -> int | None:
    return settings.DEFAULT_TOKENS_PER_DAY  # type: ignore[no-any-return]


class UserLimits(models.Model):
    """What one user may send, set by an admin. Empty means no limit.

    A user without a row follows the server defaults (DEFAULT_MESSAGES_PER_MINUTE,
    DEFAULT_TOKENS_PER_DAY); a row, once saved, is that user's own and no longer follows them.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_limits"
    )
    messages_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=default_messages_per_minute,
        validators=[MinValueValidator(1)],
        help_text=_("Messages per minute, edits included. Empty: no limit."),
    )
    tokens_per_day = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        default=default_tokens_per_day,
        validators=[MinValueValidator(1)],
        help_text=_("Tokens per day (UTC), input and output. Empty: no limit."),
    )

    class Meta:
        verbose_name = _("chat limits")
        verbose_name_plural = _("chat limits")

    def __str__(self) -> str:
        return f"Limits of user {self.user_id}"


class ArchivedUsage(models.Model):
    """Usage whose turns no longer hold it, per user per UTC day.

    Daily usage is read off the turns themselves; this keeps what deleting a conversation or
    retrying an answer would otherwise erase, so neither resets a user's daily tokens.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    messages = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="archived_usage_user_day")
        ]

    def __str__(self) -> str:
        return f"Archived usage of user {self.user_id} on {self.day}"


class AuditEvent(models.Model):
    """Who did what, from where: sign-ins, admin changes, share links. Never message text."""

    created = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The actor's username at the time, kept when the account is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_name or 'anonymous'} at {self.created:%Y-%m-%d %H:%M}"
