"""The team's own price table: what admins say each model costs (chatapp.pricing reads it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal(0)


def _dollars(help_text: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=10, decimal_places=4, validators=[MinValueValidator(ZERO)], help_text=help_text
    )


class ModelPrice(models.Model):
    """US dollars per million tokens for one model id; replaces the catalogue's default."""

    model = models.CharField(max_length=100, unique=True)
    input = _dollars(_("Dollars per million input tokens."))
    output = _dollars(_("Dollars per million output tokens (thinking included)."))
    cached_input = _dollars(_("Dollars per million cached input tokens."))
    updated = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return f"Price of {self.model}"
