"""The team admin pages (/team/): who may see them, people, invitations, roles, limits by
person and group, the price table, and every change in the audit log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from chatapp import catalogue, limits
from chatapp.models import AuditEvent, GroupLimits, Invitation, ModelPrice, UserLimits
from chatapp.team_access import refusal

pytestmark = pytest.mark.django_db
User = get_user_model()

PAGES = ["/team/", "/team/limits/", "/team/usage/", "/team/prices/", "/team/audit/"]
POSTS = [
    "/team/people/new",
    "/team/invite",
    "/team/invitations/1/revoke",
    "/team/people/1/deactivate",
    "/team/people/1/password",
    "/team/limits/person",
    "/team/limits/group",
    "/team/limits/person/1/clear",
    "/team/groups/new",
    "/team/groups/members",
    "/team/groups/1/members/1/remove",
    "/team/prices/set",
    "/team/prices/1/reset",
]


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def boss(db: Any) -> Any:
    return User.objects.create_user("boss", password="pw-boss-123", is_staff=True)


@pytest.fixture
def admin_client(boss: Any) -> Client:
    client = Client()
    client.force_login(boss)
    return client


def actions() -> list[str]:
    """What the admins did, oldest first (sign-ins left out)."""
    events = AuditEvent.objects.exclude(action__startswith="login").order_by("pk")
    return list(events.values_list("action", flat=True))


# --- who may use the pages ---


def test_only_team_admins_reach_the_team_pages(alice: Any, admin_client: Client) -> None:
    member = Client()
    member.force_login(alice)
    for url in PAGES:
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous.url.startswith("/login/?next=/team/")
        assert member.get(url).status_code == 403, url
        assert admin_client.get(url).status_code == 200, url
    for url in POSTS:
        assert member.post(url, {"username": "x", "name": "x"}).status_code == 403, url
        assert Client().post(url).status_code == 302, url
    assert User.objects.count() == 2 and not Group.objects.exists()
    # A deactivated team admin is no team admin (were their session still alive).
    User.objects.filter(username="boss").update(is_active=False)
    assert admin_client.get("/team/").status_code in (302, 403)


def test_every_form_needs_its_csrf_token(boss: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(boss)
    response = client.post("/team/people/new", {"username": "eve"})
    assert response.status_code == 403 and not User.objects.filter(username="eve").exists()
    page = client.get("/team/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') == 2  # add a person, invite


def test_the_chat_links_team_admins_only_to_the_team_pages(
    alice: Any, admin_client: Client
) -> None:
    assert 'href="/team/"' in admin_client.get("/").content.decode()
    member = Client()
    member.force_login(alice)
    assert 'href="/team/"' not in member.get("/").content.decode()


# --- people ---


def test_an_admin_adds_a_person_with_or_without_a_password(admin_client: Client) -> None:
    page = admin_client.post(
        "/team/people/new",
        {"username": "carol", "email": "carol@example.com", "password": "Horse-Battery-9"},
    ).content.decode()
    assert "carol can sign in now" in page and "shown only now" not in page
    assert Client().login(username="carol", password="Horse-Battery-9")
    page = admin_client.post("/team/people/new", {"username": "dave", "team_admin": "on"})
    html = page.content.decode()
    password = html.split('id="new-password" class="mono" readonly value="')[1].split('"')[0]
    assert len(password) >= 12 and Client().login(username="dave", password=password)
    assert User.objects.get(username="dave").is_staff
    assert actions() == ["team.person.create", "team.person.create"]
    assert password not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    taken = admin_client.post("/team/people/new", {"username": "Carol"})
    assert taken.status_code == 400 and "That username is taken." in taken.content.decode()
    weak = admin_client.post("/team/people/new", {"username": "erin", "password": "123"})
    assert weak.status_code == 400 and not User.objects.filter(username="erin").exists()


def test_people_are_searched_by_name_or_email(admin_client: Client, alice: Any, bob: Any) -> None:
    User.objects.filter(pk=bob.pk).update(email="bob@builders.example")
    html = admin_client.get("/team/?q=builders").content.decode()
    assert 'data-person="bob"' in html and 'data-person="alice"' not in html


def test_an_invitation_link_works_once_and_gives_its_role(admin_client: Client) -> None:
    page = admin_client.post("/team/invite", {"email": "fay@example.com", "team_admin": "on"})
    link = page.content.decode().split('id="invite-link" class="mono" readonly value="')[1]
    path = link.split('"')[0].removeprefix("http://testserver")
    assert path.startswith("/join/")
    invitation = Invitation.objects.get()
    assert path.removeprefix("/join/") not in invitation.digest  # only a digest is kept
    visitor = Client()
    assert visitor.get(path).status_code == 200
    joined = visitor.post(
        path, {"username": "fay", "password1": "Correct-Fay-42", "password2": "Correct-Fay-42"}
    )
    assert joined.status_code == 302 and joined.url == "/"
    fay = User.objects.get(username="fay")
    assert fay.is_staff and fay.email == "fay@example.com"
    assert Client().get(path).status_code == 404
    assert actions() == ["team.invite", "invite.accept"]
    accepted = AuditEvent.objects.get(action="invite.accept")
    assert accepted.actor == fay and accepted.details == {"invitation": invitation.pk}


def test_expired_and_revoked_invitations_do_not_work(admin_client: Client) -> None:
    for _ in range(2):
        admin_client.post("/team/invite", {})
    first, second = Invitation.objects.order_by("pk")
    links = [f"/join/{n}" for n in ("a", "b")]
    assert Client().get(links[0]).status_code == 404  # no such token
    Invitation.objects.filter(pk=first.pk).update(expires=timezone.now() - timedelta(minutes=1))
    assert admin_client.post(f"/team/invitations/{second.pk}/revoke").status_code == 302
    second.refresh_from_db()
    assert second.used is not None and "team.invite.revoke" in actions()
    html = admin_client.get("/team/").content.decode()
    assert 'id="invitations"' not in html  # neither is pending any more


def test_deactivating_and_roles(admin_client: Client, boss: Any, alice: Any) -> None:
    assert admin_client.post(f"/team/people/{alice.pk}/deactivate").status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active and not Client().login(username="alice", password="pw-alice-123")
    admin_client.post(f"/team/people/{alice.pk}/reactivate")
    admin_client.post(f"/team/people/{alice.pk}/make-admin")
    alice.refresh_from_db()
    assert alice.is_active and alice.is_staff
    admin_client.post(f"/team/people/{alice.pk}/make-member")
    alice.refresh_from_db()
    assert not alice.is_staff
    assert actions() == [
        "team.person.deactivate",
        "team.person.reactivate",
        "team.person.role",
        "team.person.role",
    ]
    assert AuditEvent.objects.filter(action="team.person.role").first().details == {  # type: ignore[union-attr]
        "role": "member"
    }
    assert admin_client.post(f"/team/people/{alice.pk}/delete").status_code == 404


def test_an_admin_cannot_lock_themselves_or_the_team_out(
    admin_client: Client, boss: Any, alice: Any
) -> None:
    for action in ("deactivate", "make-member"):
        page = admin_client.post(f"/team/people/{boss.pk}/{action}", follow=True)
        assert "You cannot deactivate or demote yourself" in page.content.decode()
    boss.refresh_from_db()
    assert boss.is_active and boss.is_staff and actions() == []
    # Another admin may demote boss while someone else is still an admin.
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    other = Client()
    other.force_login(alice)
    assert other.post(f"/team/people/{boss.pk}/make-member").status_code == 302
    boss.refresh_from_db()
    assert not boss.is_staff  # alice is still an admin, so this was fine
    root = User.objects.create_superuser("root", password="pw-root-123")
    html = other.post(f"/team/people/{root.pk}/deactivate", follow=True).content.decode()
    assert "Only a superuser can change a superuser." in html
    root.refresh_from_db()
    assert root.is_active


def test_the_last_active_team_admin_is_never_removed(boss: Any, alice: Any) -> None:
    # Unreachable through the pages but for a race (two admins demoting each other at once,
    # which the row locks serialise): the rule itself still holds.
    message = "The team needs at least one active team admin."
    assert refusal(alice, boss, active=False, staff=True) == message
    assert refusal(alice, boss, active=True, staff=False) == message
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    assert refusal(alice, boss, active=False, staff=True) == ""


# --- limits and groups, chosen by name ---


def test_limits_by_person_name_and_by_group(admin_client: Client, alice: Any, bob: Any) -> None:
    saved = admin_client.post(
        "/team/limits/person",
        {"person": "alice", "messages_per_minute": "3", "tokens_per_day": "1000"},
    )
    assert saved.status_code == 302
    assert limits.limits_of(alice) == (3, 1000)
    unknown = admin_client.post("/team/limits/person", {"person": str(alice.pk)})
    assert unknown.status_code == 400 and "There is nobody with that username." in (
        unknown.content.decode()
    )
    admin_client.post("/team/groups/new", {"name": "Interns"})
    admin_client.post("/team/groups/members", {"group": "Interns", "person": "bob"})
    admin_client.post("/team/groups/members", {"group": "Interns", "person": "alice"})
    admin_client.post("/team/limits/group", {"group": "Interns", "tokens_per_day": "500"})
    # Bob follows the group; Alice keeps her own.
    assert limits.limits_of(bob) == (None, 500)
    assert limits.limits_of(alice) == (3, 1000)
    html = admin_client.get("/team/limits/").content.decode()
    assert "group Interns" in html and "their own" in html
    assert '<datalist id="people-list">' in html and '<option value="bob">' in html
    interns = Group.objects.get(name="Interns")
    admin_client.post(f"/team/limits/person/{alice.pk}/clear")
    assert limits.limits_of(alice) == (None, 500)
    admin_client.post(f"/team/groups/{interns.pk}/members/{bob.pk}/remove")
    assert limits.limits_of(bob) == (None, None)
    admin_client.post(f"/team/limits/group/{interns.pk}/clear")
    assert not GroupLimits.objects.exists() and not UserLimits.objects.exists()
    assert actions() == [
        "team.limits.person",
        "team.group.create",
        "team.group.member.add",
        "team.group.member.add",
        "team.limits.group",
        "team.limits.person.clear",
        "team.group.member.remove",
        "team.limits.group.clear",
    ]


def test_the_most_generous_group_wins_and_no_limit_beats_any(alice: Any) -> None:
    strict, loose, free = (Group.objects.create(name=n) for n in ("strict", "loose", "free"))
    GroupLimits.objects.create(group=strict, messages_per_minute=1, tokens_per_day=10)
    GroupLimits.objects.create(group=loose, messages_per_minute=5, tokens_per_day=100)
    alice.groups.add(strict, loose)
    assert limits.limits_of(alice) == (5, 100)
    GroupLimits.objects.create(group=free, messages_per_minute=None, tokens_per_day=50)
    alice.groups.add(free)
    assert limits.limits_of(alice) == (None, 100)


def test_a_group_limit_stops_a_member_and_my_usage_shows_it(alice: Any) -> None:
    from tests.app.test_my_usage import answered

    group = Group.objects.create(name="Small")
    GroupLimits.objects.create(group=group, tokens_per_day=1000)
    alice.groups.add(group)
    answered(alice, 1200)
    with pytest.raises(limits.LimitExceeded, match="1,000 tokens for today"):
        limits.check(alice)
    me = Client()
    me.force_login(alice)
    html = me.get("/usage/").content.decode()
    assert "of 1,000" in html and "0 left" in html
    assert "These limits come from your group Small." in html


def test_a_new_group_needs_a_new_name(admin_client: Client) -> None:
    admin_client.post("/team/groups/new", {"name": "Sales"})
    again = admin_client.post("/team/groups/new", {"name": "sales"})
    assert again.status_code == 400 and Group.objects.count() == 1


# --- the price table ---


def test_an_admins_price_replaces_the_default_at_once(admin_client: Client) -> None:
    usage = {"total_input_tokens": 1_000_000, "total_output_tokens": 1_000_000}
    default = catalogue.cost("gemini-3.5-flash", usage)
    assert default == Decimal("3.5")
    html = admin_client.get("/team/prices/").content.decode()
    assert 'data-model="gemini-3.5-flash"' in html and 'value="0.5"' in html
    admin_client.post(
        "/team/prices/set",
        {"model": "gemini-3.5-flash", "input": "1", "cached_input": "0.1", "output": "4"},
    )
    assert catalogue.cost("gemini-3.5-flash", usage) == Decimal(5)
    # A model the catalogue does not know can be priced too.
    admin_client.post(
        "/team/prices/set", {"model": "tuned-x", "input": "2", "cached_input": "2", "output": "2"}
    )
    assert catalogue.cost("tuned-x", usage) == Decimal(4)
    assert 'data-model="tuned-x"' in admin_client.get("/team/prices/").content.decode()
    row = ModelPrice.objects.get(model="gemini-3.5-flash")
    admin_client.post(f"/team/prices/{row.pk}/reset")
    assert catalogue.cost("gemini-3.5-flash", usage) == default
    bad = admin_client.post(
        "/team/prices/set", {"model": "m", "input": "-1", "cached_input": "0", "output": "0"}
    )
    assert bad.status_code == 400 and not ModelPrice.objects.filter(model="m").exists()
    assert actions() == ["team.price.set", "team.price.set", "team.price.reset"]
    first_set = AuditEvent.objects.filter(action="team.price.set").order_by("pk").first()
    assert first_set is not None and first_set.details == {
        "input": "1",
        "cached_input": "0.1",
        "output": "4",
    }


# --- the audit log ---


def test_the_audit_log_filters_by_who_action_and_dates_and_pages(
    admin_client: Client, boss: Any, alice: Any
) -> None:
    AuditEvent.objects.all().delete()
    old = timezone.now() - timedelta(days=10)
    for n in range(60):
        AuditEvent.objects.create(actor=alice, actor_name="alice", action="login", target=f"t{n}")
    AuditEvent.objects.create(actor=boss, actor_name="boss", action="team.invite", created=old)
    html = admin_client.get("/team/audit/").content.decode()
    assert "Page 1 of 2" in html and html.count("<tr>") == 51  # 50 events and the header
    by_boss = admin_client.get("/team/audit/?who=Boss").content.decode()
    assert "team.invite" in by_boss and ">t1<" not in by_boss
    by_action = admin_client.get("/team/audit/?action=login&page=2").content.decode()
    assert by_action.count("<tr>") == 11 and "team.invite" not in by_action.split("<tbody>")[1]
    day = old.date().isoformat()
    dated = admin_client.get(f"/team/audit/?start={day}&end={day}").content.decode()
    assert "team.invite" in dated.split("<tbody>")[1] and ">t1<" not in dated
    assert 'href="?action=login&amp;page=1"' in by_action  # the filter survives paging


def test_a_rows_change_link_fills_the_form_in(admin_client: Client, alice: Any) -> None:
    UserLimits.objects.create(user=alice, messages_per_minute=6, tokens_per_day=None)
    html = admin_client.get("/team/limits/").content.decode()
    assert 'href="?person=alice#person-limits"' in html
    html = admin_client.get("/team/limits/?person=alice").content.decode()
    assert 'name="person" value="alice"' in html and 'name="messages_per_minute" value="6"' in html
    group = Group.objects.create(name="Ops & Co")
    GroupLimits.objects.create(group=group, tokens_per_day=777)
    html = admin_client.get("/team/limits/?group=Ops+%26+Co").content.decode()
    assert 'name="tokens_per_day" value="777"' in html
    assert '<option value="Ops &amp; Co" selected>' in html


def test_my_usage_says_how_many_messages_are_left_this_minute(alice: Any) -> None:
    from tests.app.test_my_usage import answered

    UserLimits.objects.create(user=alice, messages_per_minute=5, tokens_per_day=None)
    answered(alice, 10)
    answered(alice, 10)
    me = Client()
    me.force_login(alice)
    html = me.get("/usage/").content.decode()
    assert "3 left this minute." in html


def test_audit_details_read_as_words(admin_client: Client) -> None:
    admin_client.post("/team/people/new", {"username": "lou"})
    html = admin_client.get("/team/audit/?action=team.person.create").content.decode()
    assert "team_admin: no" in html and "False" not in html


def test_a_forgotten_password_is_replaced_by_a_random_one(
    admin_client: Client, boss: Any, alice: Any
) -> None:
    html = admin_client.post(f"/team/people/{alice.pk}/password").content.decode()
    assert "alice has a new password" in html
    password = html.split('id="new-password" class="mono" readonly value="')[1].split('"')[0]
    assert Client().login(username="alice", password=password)
    assert not Client().login(username="alice", password="pw-alice-123")
    assert actions() == ["team.person.password"]
    root = User.objects.create_superuser("root", password="pw-root-123")
    refused = admin_client.post(f"/team/people/{root.pk}/password", follow=True)
    assert "Only a superuser can change a superuser." in refused.content.decode()
    assert Client().login(username="root", password="pw-root-123")
    mine = admin_client.post(f"/team/people/{boss.pk}/password", follow=True)
    assert "Password page" in mine.content.decode()
    assert actions() == ["team.person.password"]
