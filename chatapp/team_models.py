"""What the team admin pages keep beside Django's users and groups: limits per group, and
invitations (one-time sign-up links)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class GroupLimits(models.Model):
    """What each member of a group may send, unless they have limits of their own. Empty
    means no limit; a person in several groups gets the most generous of each."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="chat_limits")
    messages_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    tokens_per_day = models.PositiveBigIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )

    def __str__(self) -> str:
        return f"Limits of group {self.group_id}"


def token_digest(token: str) -> str:
    """Only a digest of an invitation's token is stored: the link itself is shown once."""
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A one-time link to create an account, made by a team admin; it expires."""

    digest = models.CharField(max_length=64, unique=True)
    email = models.EmailField(blank=True)
    team_admin = models.BooleanField(default=False)  # the role the new account gets
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    # Set once the link is used (or revoked): it never works again.
    used = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Invitation {self.pk}"

    @property
    def usable(self) -> bool:
        return self.used is None and self.expires > timezone.now()
