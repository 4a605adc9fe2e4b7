"""Admin pages show conversation metadata only: what people wrote stays private by default."""

from __future__ import annotations

from django.contrib import admin

from .models import Conversation


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("pk", "owner", "title", "model", "stateless", "archived", "created", "updated")
    list_filter = ("model", "stateless", "archived")
    search_fields = ("owner__username",)
    fields = ("owner", "title", "model", "stateless", "pinned", "archived", "created", "updated")
    readonly_fields = ("owner", "created", "updated")
