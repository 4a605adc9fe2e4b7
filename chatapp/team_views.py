"""The team admin's pages beside People: limits (by person or group), groups, usage and cost
over a period, the price table, and the audit log. Staff only; every change is audited."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import limit_rules, team_usage, usage_chart
from .models import AuditEvent, GroupLimits, UserLimits
from .team_access import record, staff_required
from .team_forms import AuditFilter, GroupForm, GroupLimitsForm, MemberForm, PersonLimitsForm

User = get_user_model()
AUDIT_PAGE = 50


def _names() -> list[str]:
    """Every username, for the people-list suggestions."""
    return list(User.objects.order_by("username").values_list("username", flat=True))


# --- limits and groups ---


def _limits_context(**forms: Any) -> dict[str, Any]:
    people = list(User.objects.filter(is_active=True).order_by("username"))
    applied = limit_rules.effective(p.pk for p in people)
    members = Prefetch("user_set", queryset=User.objects.order_by("username"))
    groups = Group.objects.order_by("name").prefetch_related(members)
    group_limits = {row.group_id: row for row in GroupLimits.objects.all()}
    return {
        "section": "limits",
        "rows": [(person, applied[person.pk]) for person in people],
        "groups": [(group, group_limits.get(group.pk)) for group in groups],
        "names": _names(),
        "person_form": forms.get("person_form") or PersonLimitsForm(),
        "group_form": forms.get("group_form") or GroupLimitsForm(),
        "new_group_form": forms.get("new_group_form") or GroupForm(),
        "member_form": forms.get("member_form") or MemberForm(),
    }


@staff_required
def limits_page(request: HttpRequest) -> HttpResponse:
    """The page; `?person=` or `?group=` (a row's Change link) fills its form in."""
    forms: dict[str, Any] = {}
    person = User.objects.filter(username=request.GET.get("person", "")).first()
    if person is not None:
        found = limit_rules.effective([person.pk])[person.pk]
        initial = {"person": person.username, **vars(found)}
        forms["person_form"] = PersonLimitsForm(initial=initial)
    group = GroupLimits.objects.filter(group__name=request.GET.get("group", "")).first()
    if group is not None:
        initial = {"group": group.group.name, **_values(vars(group))}
        forms["group_form"] = GroupLimitsForm(initial=initial)
    return render(request, "team/limits.html", _limits_context(**forms))


def _invalid(request: HttpRequest, **forms: Any) -> HttpResponse:
    return render(request, "team/limits.html", _limits_context(**forms), status=400)


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("messages_per_minute", "tokens_per_day")}


@require_POST
@staff_required
def set_person_limits(request: HttpRequest) -> HttpResponse:
    form = PersonLimitsForm(request.POST)
    if not form.is_valid():
        return _invalid(request, person_form=form)
    person, values = form.cleaned_data["person"], _values(form.cleaned_data)
    UserLimits.objects.update_or_create(user=person, defaults=values)
    record(request, "team.limits.person", person.username, **values)
    messages.success(request, _("Limits of %(name)s saved.") % {"name": person.username})
    return redirect("team_limits")


@require_POST
@staff_required
def set_group_limits(request: HttpRequest) -> HttpResponse:
    form = GroupLimitsForm(request.POST)
    if not form.is_valid():
        return _invalid(request, group_form=form)
    group, values = form.cleaned_data["group"], _values(form.cleaned_data)
    GroupLimits.objects.update_or_create(group=group, defaults=values)
    record(request, "team.limits.group", group.name, **values)
    messages.success(request, _("Limits of group %(name)s saved.") % {"name": group.name})
    return redirect("team_limits")


@require_POST
@staff_required
def clear_limits(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Back to the group's or the default limits (a person), or to none (a group)."""
    if kind == "person":
        row = get_object_or_404(UserLimits.objects.select_related("user"), user_id=pk)
        name = row.user.username
    elif kind == "group":
        row = get_object_or_404(GroupLimits.objects.select_related("group"), group_id=pk)
        name = row.group.name
    else:
        raise Http404
    row.delete()
    record(request, f"team.limits.{kind}.clear", name)
    messages.success(request, _("Limits of %(name)s removed.") % {"name": name})
    return redirect("team_limits")


@require_POST
@staff_required
def create_group(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST)
    if not form.is_valid():
        return _invalid(request, new_group_form=form)
    group = Group.objects.create(name=form.cleaned_data["name"])
    record(request, "team.group.create", group.name)
    messages.success(request, _("Group %(name)s created.") % {"name": group.name})
    return redirect("team_limits")


@require_POST
@staff_required
def add_member(request: HttpRequest) -> HttpResponse:
    form = MemberForm(request.POST)
    if not form.is_valid():
        return _invalid(request, member_form=form)
    group, person = form.cleaned_data["group"], form.cleaned_data["person"]
    group.user_set.add(person)
    record(request, "team.group.member.add", group.name, person=person.username)
    messages.success(
        request, _("%(person)s added to %(group)s.") % {"person": person, "group": group.name}
    )
    return redirect("team_limits")


@require_POST
@staff_required
def remove_member(request: HttpRequest, group_pk: int, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=group_pk)
    person = get_object_or_404(group.user_set.all(), pk=pk)
    group.user_set.remove(person)
    record(request, "team.group.member.remove", group.name, person=person.username)
    messages.success(
        request,
        _("%(person)s removed from %(group)s.") % {"person": person, "group": group.name},
    )
    return redirect("team_limits")


# --- usage ---


PRESETS = (7, 30, 90)


@staff_required
def usage_page(request: HttpRequest) -> HttpResponse:
    today = timezone.now().astimezone(UTC).date()
    first, last = team_usage.period(request.GET.dict(), today)
    name = request.GET.get("person", "").replace("\x00", "").strip()
    person = User.objects.filter(username=name).first() if name else None
    data = team_usage.report(first, last, person.pk if person else None)
    span = (last - first).days + 1
    context = {
        "section": "usage",
        "report": data,
        "person": person,
        "unknown_person": name if name and person is None else "",
        "names": _names(),
        "first": first,
        "last": last,
        "today": today,
        "presets": [(days, last == today and span == days) for days in PRESETS],
        "tokens_chart": usage_chart.bar_chart(data.tokens_per_day, label=_("Total tokens per day")),
        "cost_chart": usage_chart.bar_chart(
            data.cost_per_day, money=True, label=_("Cost per day, US dollars")
        ),
    }
    return render(request, "team/usage.html", context)


CSV_COLUMNS = (
    "person",
    "model_id",
    "model",
    "messages",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
)


def _cell(text: str) -> str:
    """A spreadsheet must not run a name as a formula (=, +, - or @ first)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@staff_required
def usage_csv(request: HttpRequest) -> HttpResponse:
    """The usage page's period as a CSV file: one row per person and model."""
    today = timezone.now().astimezone(UTC).date()
    first, last = team_usage.period(request.GET.dict(), today)
    data = team_usage.report(first, last)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"usage-{first.isoformat()}-to-{last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for line in data.pairs:
        priced = line.unpriced_tokens < line.total_tokens or not line.total_tokens
        writer.writerow(
            [
                _cell(line.person),
                _cell(line.key[1]),
                _cell(line.label),
                line.messages,
                line.input_tokens,
                line.output_tokens,
                line.total_tokens,
                f"{line.cost:.6f}" if priced else "",
            ]
        )
    return response


# --- the audit log ---


def _shown(value: Any) -> str:
    """A detail as people read it, not as Python prints it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    return str(value)


@staff_required
def audit_page(request: HttpRequest) -> HttpResponse:
    actions = list(
        AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    )
    form = AuditFilter(request.GET or None, actions=actions)
    events = AuditEvent.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["who"]:
            events = events.filter(actor_name__iexact=data["who"].replace("\x00", ""))
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["start"]:
            events = events.filter(created__gte=datetime.combine(data["start"], time.min, UTC))
        if data["end"]:
            end = datetime.combine(data["end"] + timedelta(days=1), time.min, UTC)
            events = events.filter(created__lt=end)
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(events, AUDIT_PAGE).get_page(request.GET.get("page"))
    for event in page.object_list:
        details = event.details if isinstance(event.details, dict) else {}
        event.shown = [(key, _shown(value)) for key, value in details.items()]
    context = {
        "section": "audit",
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "names": _names(),
    }
    return render(request, "team/audit.html", context)
