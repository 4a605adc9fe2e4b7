"""The team admin's People page: find people, add one or invite them by a one-time link,
deactivate or reactivate them, make them team admins or members. And the page where an
invitation's link leads (/join/<token>), for someone without an account."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import audit
from .models import Invitation
from .team_access import record, refusal, staff_required
from .team_forms import InviteForm, PersonForm
from .team_models import token_digest

User = get_user_model()
PAGE = 50
INVITATION_DAYS = 7


def _people_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    query = request.GET.get("q", "").replace("\x00", "").strip()[:150]
    people = User.objects.order_by("username").prefetch_related("groups")
    if query:
        people = people.filter(Q(username__icontains=query) | Q(email__icontains=query))
    pending = Invitation.objects.filter(used__isnull=True, expires__gt=timezone.now())
    return {
        "section": "people",
        "query": query,
        "search": urlencode({"q": query}) if query else "",
        "page": Paginator(people, PAGE).get_page(request.GET.get("page")),
        "invitations": pending.select_related("created_by"),
        "form": PersonForm(),
        "invite_form": InviteForm(),
        **extra,
    }


@staff_required
def people(request: HttpRequest) -> HttpResponse:
    return render(request, "team/people.html", _people_context(request))


@require_POST
@staff_required
def create_person(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST)
    if not form.is_valid():
        return render(request, "team/people.html", _people_context(request, form=form), status=400)
    data = form.cleaned_data
    # No password given: a random one, shown once to the admin to hand over.
    password = data["password"] or secrets.token_urlsafe(12)
    person = User.objects.create_user(data["username"], email=data["email"], password=password)
    if data["team_admin"]:
        person.is_staff = True
        person.save(update_fields=["is_staff"])
    record(request, "team.person.create", person.username, team_admin=data["team_admin"])
    created = {"username": person.username, "password": "" if data["password"] else password}
    return render(request, "team/people.html", _people_context(request, created=created))


@require_POST
@staff_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        context = _people_context(request, invite_form=form)
        return render(request, "team/people.html", context, status=400)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        digest=token_digest(token),
        email=form.cleaned_data["email"],
        team_admin=form.cleaned_data["team_admin"],
        created_by=request.user,
        expires=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    record(
        request,
        "team.invite",
        invitation.email or f"invitation {invitation.pk}",
        team_admin=invitation.team_admin,
    )
    link = request.build_absolute_uri(reverse("join", args=[token]))
    context = _people_context(request, invite_link=link, invitation=invitation)
    return render(request, "team/people.html", context)


@require_POST
@staff_required
def revoke_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk, used__isnull=True)
    invitation.used = timezone.now()
    invitation.save(update_fields=["used"])
    record(request, "team.invite.revoke", invitation.email or f"invitation {invitation.pk}")
    messages.success(request, _("The invitation link no longer works."))
    return redirect("team_people")


PERSON_ACTIONS = {
    # action: (field, new value, audit action)
    "deactivate": ("is_active", False, "team.person.deactivate"),
    "reactivate": ("is_active", True, "team.person.reactivate"),
    "make-admin": ("is_staff", True, "team.person.role"),
    "make-member": ("is_staff", False, "team.person.role"),
}


@require_POST
@staff_required
def person_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in PERSON_ACTIONS:
        raise Http404
    field, value, audit_action = PERSON_ACTIONS[action]
    with transaction.atomic():
        # Locked, so that two admins demoting each other at once cannot leave none.
        list(User.objects.select_for_update().filter(is_staff=True, is_active=True))
        person = get_object_or_404(User.objects.select_for_update(), pk=pk)
        after = {"active": person.is_active, "staff": person.is_staff}
        after["active" if field == "is_active" else "staff"] = value
        reason = refusal(request.user, person, **after)
        if reason:
            messages.error(request, reason)
            return redirect(_back(request))
        setattr(person, field, value)
        person.save(update_fields=[field])
    details = {"role": "team admin" if value else "member"} if field == "is_staff" else {}
    record(request, audit_action, person.username, **details)
    messages.success(request, _person_message(action, person.username))
    return redirect(_back(request))


@require_POST
@staff_required
def new_password(request: HttpRequest, pk: int) -> HttpResponse:
    """A random password for someone who forgot theirs, shown once to the admin. Their other
    sessions end (Django ties a session to the password)."""
    person = get_object_or_404(User, pk=pk)
    if person.is_superuser and not request.user.is_superuser:
        messages.error(request, _("Only a superuser can change a superuser."))
        return redirect(_back(request))
    if person.pk == request.user.pk:
        messages.error(request, _("Change your own password on the Password page."))
        return redirect(_back(request))
    password = secrets.token_urlsafe(12)
    person.set_password(password)
    person.save(update_fields=["password"])
    record(request, "team.person.password", person.username)
    created = {"username": person.username, "password": password, "reset": True}
    return render(request, "team/people.html", _people_context(request, created=created))


def _person_message(action: str, username: str) -> str:
    return {
        "deactivate": _("%(name)s can no longer sign in."),
        "reactivate": _("%(name)s can sign in again."),
        "make-admin": _("%(name)s is now a team admin."),
        "make-member": _("%(name)s is now a member."),
    }[action] % {"name": username}


def _back(request: HttpRequest) -> str:
    """Back to the page of people the admin was on (only ever a /team/ address)."""
    query = request.POST.get("back", "")
    return f"{reverse('team_people')}?{query}" if query.isprintable() and query else "team_people"


# --- the link's landing page, for someone without an account ---


class JoinForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


def join(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.objects.filter(digest=token_digest(token)).first()
    if invitation is None or not invitation.usable or request.user.is_authenticated:
        status = 404 if not request.user.is_authenticated else 400
        return render(request, "team/join_invalid.html", status=status)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            claimed = Invitation.objects.filter(pk=invitation.pk, used__isnull=True).update(
                used=timezone.now()
            )
            if not claimed:  # used in another tab a moment ago
                return render(request, "team/join_invalid.html", status=404)
            person = form.save(commit=False)
            person.email = invitation.email
            person.is_staff = invitation.team_admin
            person.save()
            Invitation.objects.filter(pk=invitation.pk).update(user=person)
        audit.record(person, "invite.accept", person.username, request, invitation=invitation.pk)
        login(request, person, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "team/join.html", {"form": form, "invitation": invitation})
