"""Scheduled prompts (chatapp.schedules runs them)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Schedule(models.Model):
    """A prompt the server sends into a conversation at set times, with no browser open
    (`chatapp.schedules`): once, daily, on weekdays, weekly, or by a cron expression, in the
    person's time zone."""

    class Kind(models.TextChoices):
        ONCE = "once", _("Once")
        DAILY = "daily", _("Every day")
        WEEKDAYS = "weekdays", _("Monday to Friday")
        WEEKLY = "weekly", _("Every week")
        CRON = "cron", _("Cron expression")

    conversation = models.ForeignKey(
        "chatapp.Conversation", on_delete=models.CASCADE, related_name="schedules"
    )
    prompt = models.TextField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DAILY)
    # When, in `time_zone`: the first run for ONCE; the time of day otherwise.
    at = models.DateTimeField()
    cron = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # The next run (UTC); null once a single run is done. Workers claim a run by moving it.
    next_run = models.DateTimeField(null=True, blank=True, db_index=True)
    paused = models.BooleanField(default=False)
    failures = models.PositiveIntegerField(default=0)  # in a row; too many pause it
    last_run = models.DateTimeField(null=True, blank=True)
    last_turn = models.ForeignKey(
        "chatapp.Turn", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["next_run", "pk"]

    def __str__(self) -> str:
        return f"Schedule {self.pk} of conversation {self.conversation_id}"
