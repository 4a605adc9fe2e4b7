"""Admin pages show conversation metadata only: what people wrote stays private by default.

Beside conversations: each user's limits (inline on the user page), the read-only audit log,
and the usage page at /admin/usage/ (messages and tokens per user per day, aggregates only).
Every ModelAdmin here is an `AuditedAdmin`, so each admin change is also an audit event.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext

from . import audit, usage, usage_chart
from .languages import grouped
from .limits import ThrottledAdminAuthenticationForm
from .models import AuditEvent, Conversation, UserLimits


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Writes an audit event (with the admin's IP) beside each admin LogEntry."""

    def audit_target(self, obj: Model) -> str:
        return f"{obj._meta.label_lower} {obj.pk}: {obj}"

    def _audit(self, request: HttpRequest, action: str, obj: Model, changes: Any = None) -> None:
        details: dict[str, Any] = {"model": obj._meta.label_lower, "object_id": str(obj.pk)}
        if changes:
            details["changes"] = changes  # field names only, never values
        audit.record(request.user, action, self.audit_target(obj), request, **details)

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        self._audit(request, "admin.add", obj)
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        self._audit(request, "admin.change", obj, message)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            self._audit(request, "admin.delete", obj)
        return entries


@admin.register(Conversation)
class ConversationAdmin(AuditedAdmin):
    list_display = ("pk", "owner", "title", "model", "stateless", "archived", "created", "updated")
    list_filter = ("model", "stateless", "archived")
    search_fields = ("owner__username",)
    fields = ("owner", "title", "model", "stateless", "pinned", "archived", "created", "updated")
    readonly_fields = ("owner", "created", "updated")

    def audit_target(self, obj: Model) -> str:
        # A title is made from what someone wrote: the audit log keeps only the id.
        return f"{obj._meta.label_lower} {obj.pk}"


class UserLimitsInline(admin.StackedInline):  # type: ignore[type-arg]
    model = UserLimits
    can_delete = True
    max_num = 1

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        from django.conf import settings

        defaults = ", ".join(
            f"{label}: {grouped(value)}" if value else f"{label}: {gettext('no limit')}"
            for label, value in (
                (gettext("messages per minute"), settings.DEFAULT_MESSAGES_PER_MINUTE),
                (gettext("tokens per day"), settings.DEFAULT_TOKENS_PER_DAY),
            )
        )
        description = (
            gettext(
                "Without limits saved here this user has the server defaults (%s). "
                "Deleting them restores the defaults."
            )
            % defaults
        )
        return [
            (
                None,
                {"fields": ["messages_per_minute", "tokens_per_day"], "description": description},
            )
        ]


@admin.register(UserLimits)
class UserLimitsAdmin(AuditedAdmin):
    """Who has limits of their own, at a glance (each is also editable on the user's page)."""

    list_display = ("user", "messages_per_minute", "tokens_per_day")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ChatUserAdmin(AuditedAdmin, UserAdmin):  # type: ignore[type-arg]
    inlines = [*UserAdmin.inlines, UserLimitsInline]

    def audit_target(self, obj: Model) -> str:
        return f"{obj._meta.label_lower} {obj.pk}: {getattr(obj, 'username', obj)}"


@admin.register(Group)
class ChatGroupAdmin(AuditedAdmin, GroupAdmin):
    pass


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: nobody adds, edits or deletes audit events through the admin."""

    list_display = ("created", "actor_name", "action", "target", "ip")
    list_filter = ("action", "created")
    search_fields = ("actor_name", "action", "target", "ip")
    date_hierarchy = "created"
    fields = ("created", "actor", "actor_name", "action", "target", "ip", "details")
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- the usage page, and the admin site's own sign-in under the same throttle ---


def usage_view(request: HttpRequest) -> HttpResponse:
    """Messages and tokens per user per day, last 30 days: a table and a bar chart."""
    data = usage.report()
    context = {
        **admin.site.each_context(request),
        "title": gettext("Usage per user per day"),
        "report": data,
        "chart": usage_chart.bar_chart(data.totals),
        "days": usage.DAYS,
    }
    return TemplateResponse(request, "admin/usage.html", context)


def _with_usage_page(get_urls: Any) -> Any:
    def get_urls_with_usage() -> list[URLPattern | URLResolver]:
        # admin_view: staff only; anyone else is sent to the admin's sign-in page.
        page = path("usage/", admin.site.admin_view(usage_view), name="usage")
        return [page, *get_urls()]

    return get_urls_with_usage


admin.site.get_urls = _with_usage_page(admin.site.get_urls)  # type: ignore[method-assign]
admin.site.login_form = ThrottledAdminAuthenticationForm
