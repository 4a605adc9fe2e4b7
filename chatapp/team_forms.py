"""Forms of the team admin pages. People and groups are chosen by name (a list or a
suggestion box), never by a typed id."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

User = get_user_model()


class PersonChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A person by username, typed with suggestions from the `people-list` datalist."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Person"))
        super().__init__(
            queryset=User.objects.all(),
            to_field_name="username",
            widget=forms.TextInput(attrs={"list": "people-list", "autocomplete": "off"}),
            error_messages={"invalid_choice": _("There is nobody with that username.")},
            **kwargs,
        )


class GroupChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Group"))
        super().__init__(queryset=Group.objects.order_by("name"), to_field_name="name", **kwargs)


class TeamForm(forms.Form):
    """Several of these share a page: each form's ids start with its own prefix."""

    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class PersonForm(TeamForm):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Letters, digits and @ . + - _ only.")},
    )
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to get a random one to hand over."),
    )
    team_admin = forms.BooleanField(label=_("Team admin"), required=False)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("That username is taken."))
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("username"):
            candidate = User(username=data["username"], email=data.get("email", ""))
            try:
                password_validation.validate_password(data["password"], candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class InviteForm(TeamForm):
    id_prefix = "invite"
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    team_admin = forms.BooleanField(label=_("Team admin"), required=False)


def _limit(label: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=1, help_text=_("Empty: no limit.")
    )


class PersonLimitsForm(TeamForm):
    id_prefix = "person_limits"
    person = PersonChoice()
    messages_per_minute = _limit(_("Messages per minute"))
    tokens_per_day = _limit(_("Tokens per day"))


class GroupLimitsForm(TeamForm):
    id_prefix = "group_limits"
    group = GroupChoice()
    messages_per_minute = _limit(_("Messages per minute"))
    tokens_per_day = _limit(_("Tokens per day"))


class GroupForm(TeamForm):
    id_prefix = "new_group"
    name = forms.CharField(label=_("New group"), max_length=150)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if Group.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("There is already a group with that name."))
        return name


class MemberForm(TeamForm):
    id_prefix = "member"
    group = GroupChoice()
    person = PersonChoice()


def _dollars(label: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=Decimal(0), max_digits=10, decimal_places=4)


class PriceForm(TeamForm):
    id_prefix = "price"
    model = forms.RegexField(label=_("Model id"), max_length=100, regex=r"^[\w.:/-]+\Z")
    input = _dollars(_("Input"))
    cached_input = _dollars(_("Cached input"))
    output = _dollars(_("Output"))


class AuditFilter(forms.Form):
    who = forms.CharField(
        label=_("Who"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"list": "people-list", "autocomplete": "off"}),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("Any action")), *((a, a) for a in actions)]
        self.fields["action"].choices = choices  # type: ignore[attr-defined]
