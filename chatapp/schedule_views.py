"""The schedules page: a person's scheduled prompts, made, edited, paused and deleted here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from . import agent_triggers, schedules
from .models import Conversation, Schedule


class ScheduleForm(forms.ModelForm):  # type: ignore[misc]
    at = forms.DateTimeField(
        label=gettext_lazy("When"),
        help_text=gettext_lazy(
            "The first run (once), or the time of day and weekday it repeats at."
        ),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    class Meta:
        model = Schedule
        fields = ["conversation", "prompt", "kind", "at", "cron", "time_zone"]
        labels = {
            "conversation": gettext_lazy("Conversation"),
            "prompt": gettext_lazy("Prompt"),
            "kind": gettext_lazy("Repeats"),
            "cron": gettext_lazy("Cron expression"),
            "time_zone": gettext_lazy("Time zone"),
        }
        help_texts = {
            "cron": gettext_lazy("Only for “Cron expression”, e.g. 0 9 * * 1-5 (9:00 on weekdays).")
        }
        widgets = {"prompt": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, owner: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["conversation"]
        field.queryset = Conversation.objects.filter(owner=owner).order_by("-updated")
        if self.instance.pk:  # shown in its own time zone
            local = self.instance.at.astimezone(ZoneInfo(self.instance.time_zone))
            self.initial["at"] = local.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M")

    def clean_time_zone(self) -> str:
        name = str(self.cleaned_data["time_zone"]).strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(gettext("Pick a time zone such as Europe/Rome.")) from None
        return name

    def clean_prompt(self) -> str:
        prompt = str(self.cleaned_data["prompt"]).replace("\x00", "").strip()
        if not prompt:
            raise forms.ValidationError(gettext("Write the prompt to send."))
        return prompt

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        kind, cron = data.get("kind"), str(data.get("cron") or "").strip()
        if kind == Schedule.Kind.CRON and not schedules.valid_cron(cron):
            self.add_error(
                "cron", gettext("That is not a cron expression (minute hour day month weekday).")
            )
        at, zone = data.get("at"), data.get("time_zone")
        if isinstance(at, datetime) and zone:
            # What was typed is a time in the chosen zone, not in the server's.
            data["at"] = at.replace(tzinfo=None).replace(tzinfo=ZoneInfo(zone))
            if kind == Schedule.Kind.ONCE and data["at"] <= timezone.now():
                self.add_error("at", gettext("Pick a time in the future."))
        return data

    def save(self, commit: bool = True) -> Schedule:
        schedule: Schedule = super().save(commit=False)
        schedule.at = self.cleaned_data["at"]
        schedule.next_run = schedules.next_run(schedule, timezone.now())
        schedule.paused, schedule.failures, schedule.last_error = False, 0, ""
        if commit:
            schedule.save()
        return schedule


def _owned(user: Any, pk: int) -> Schedule:
    schedule = Schedule.objects.filter(pk=pk, conversation__owner=user).first()
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule


@login_required
def schedules_page(request: HttpRequest) -> HttpResponse:
    editing = _owned(request.user, int(request.GET["edit"])) if "edit" in request.GET else None
    if request.method == "POST":
        if "schedule" in request.POST:
            editing = _owned(request.user, int(request.POST["schedule"]))
        form = ScheduleForm(request.user, request.POST, instance=editing)
        if form.is_valid():
            agent_triggers.sync(form.save())  # an agent's schedule runs as an API trigger
            return redirect("schedules")
    else:
        initial = {"time_zone": "UTC"}
        if conversation := request.GET.get("conversation"):
            initial["conversation"] = conversation
        form = ScheduleForm(request.user, instance=editing, initial=initial)
    mine = Schedule.objects.filter(conversation__owner=request.user).select_related("conversation")
    context = {
        "form": form,
        "editing": editing,
        "schedules": [schedules.describe(s) for s in mine.order_by("paused", "next_run", "pk")],
        "max_failures": schedules.MAX_FAILURES,
    }
    return render(request, "schedules.html", context)


@login_required
@require_POST
def schedule_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    schedule = _owned(request.user, pk)
    if action == "delete":
        agent_triggers.remove(schedule)
        schedule.delete()
    elif action == "pause":
        Schedule.objects.filter(pk=pk).update(paused=True)
    elif action == "resume":
        following = schedules.next_run(schedule, timezone.now())
        Schedule.objects.filter(pk=pk).update(
            paused=False, failures=0, last_error="", next_run=following
        )
    else:
        raise Http404("No such action.")
    if action != "delete":
        agent_triggers.sync(schedule)
    return redirect("schedules")
