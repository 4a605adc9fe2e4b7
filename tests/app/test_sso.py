"""Single sign-on with OpenID Connect, against the tiny provider in tests/oidc_provider.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import Resolver404, resolve

from chatapp import sso
from chatapp import urls as chat_urls
from tests.oidc_provider import Provider, serve

ROOT = Path(__file__).resolve().parents[2]
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SSO_BACKEND = "chatapp.sso.Backend"

# chatapp.urls adds the SSO routes only when SSO is configured at start-up; these tests
# configure it per test, so they route through this module (ROOT_URLCONF below).
urlpatterns = [*sso.urlpatterns, *chat_urls.urlpatterns]


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    with serve() as running:
        yield running


@pytest.fixture
def sso_settings(provider: Provider, settings: Any) -> Provider:
    provider.reset()
    sso._discover.cache_clear()
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    settings.SSO_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    settings.OIDC_CREATE_USER = True
    settings.AUTHENTICATION_BACKENDS = [MODEL_BACKEND, SSO_BACKEND]
    settings.ROOT_URLCONF = __name__
    return provider


@pytest.fixture
def configured(sso_settings: Provider, alice: Any) -> Provider:
    """SSO on, on an install that has its admin already (alice)."""
    return sso_settings


def sign_in(client: Client, start: str = "/sso/login/") -> Any:
    """The browser's round trip: our start URL → the provider → our callback."""
    response = client.get(start)
    assert response.status_code == 302, response
    at_provider = httpx.get(response["Location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.netloc == "testserver" and back.path == "/sso/callback/"
    return client.get(f"{back.path}?{back.query}")


def signed_in_user(client: Client) -> Any:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def assert_refused(response: Any, client: Client) -> None:
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_user(client) is None
    page = client.get("/login/")
    assert "Single sign-on did not sign you in" in page.content.decode()


# --- not configured: nothing changes ---


def test_without_sso_there_is_no_button_no_route_and_no_backend(client: Client, db: Any) -> None:
    from django.conf import settings

    assert not settings.SSO_ENABLED
    assert "Sign in with" not in client.get("/login/").content.decode()
    with pytest.raises(Resolver404):
        resolve("/sso/login/")
    assert settings.AUTHENTICATION_BACKENDS == [MODEL_BACKEND]


def _django(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "chatapp.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_configured_from_the_environment_without_fetching_anything_at_start_up() -> None:
    # Discovery points at a closed port: start-up must not try it.
    result = _django(
        {
            "OIDC_RP_CLIENT_ID": "team-chat",
            "OIDC_RP_CLIENT_SECRET": "s3cret",
            "OIDC_OP_DISCOVERY_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
            "OIDC_PROVIDER_NAME": "Acme",
            "OIDC_CREATE_USERS": "false",
        },
        "from django.conf import settings as s; from django.urls import reverse; "
        "print(reverse('oidc_authentication_init'), reverse('oidc_authentication_callback')); "
        "print(s.AUTHENTICATION_BACKENDS, s.OIDC_CREATE_USER, s.OIDC_PROVIDER_NAME)",
    )
    assert result.returncode == 0, result.stderr
    assert "/sso/login/ /sso/callback/" in result.stdout
    assert f"['{MODEL_BACKEND}', '{SSO_BACKEND}'] False Acme" in result.stdout


def test_half_configured_sso_refuses_to_start() -> None:
    result = _django({"OIDC_RP_CLIENT_ID": "team-chat"}, "pass")
    assert result.returncode != 0
    assert "missing: OIDC_RP_CLIENT_SECRET, OIDC_OP_AUTHORIZATION_ENDPOINT" in result.stderr


def test_the_client_secret_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    result = _django(
        {
            "OIDC_RP_CLIENT_ID": "team-chat",
            "OIDC_RP_CLIENT_SECRET_FILE": str(tmp_path / "secret"),
            "OIDC_OP_DISCOVERY_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
        },
        "from django.conf import settings as s; print(repr(s.OIDC_RP_CLIENT_SECRET))",
    )
    assert result.returncode == 0, result.stderr
    assert "'from-a-file'" in result.stdout


# --- the login page ---


def test_the_login_page_offers_the_provider(configured: Provider, client: Client) -> None:
    page = client.get("/login/?next=/password/").content.decode()
    assert "Sign in with Test IdP" in page
    assert 'href="/sso/login/?next=/password/"' in page
    assert 'name="password"' in page  # the local form stays


def test_local_sign_in_still_works_beside_sso(configured: Provider, client: Client) -> None:
    response = client.post("/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_backend"] == MODEL_BACKEND
    assert configured.hits["/token"] == 0
    wrong = Client().post("/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200  # the form again, with its error


# --- the flow ---


def test_a_first_sso_sign_in_creates_an_account_that_is_never_staff(
    configured: Provider, client: Client
) -> None:
    configured.identity.update(
        is_staff=True, is_superuser=True, groups=["admins"], given_name="Carol", family_name="C"
    )
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    user = signed_in_user(client)
    assert user.username == "carol" and user.email == "carol@example.com"
    assert (user.first_name, user.last_name) == ("Carol", "C")
    assert not user.is_staff and not user.is_superuser and not user.groups.exists()
    assert not user.has_usable_password()
    assert client.session["_auth_user_backend"] == SSO_BACKEND
    assert client.get("/").status_code == 200
    assert configured.hits["/token"] == 1 and configured.hits["/userinfo"] == 1


def test_created_usernames_are_made_unique(configured: Provider, client: Client) -> None:
    get_user_model().objects.create_user("Carol", email="")  # a local account, another person
    configured.identity["email"] = "carol@example.com"
    sign_in(client)
    assert signed_in_user(client).username == "carol2"
    other = Client()
    configured.identity.update(sub="carol-2", email="carol@other.example")
    sign_in(other)
    assert signed_in_user(other).username == "carol3"


def test_an_existing_account_is_matched_by_email(
    configured: Provider, client: Client, bob: Any
) -> None:
    bob.email = "Bob@Example.com"
    bob.save()
    configured.identity.update(sub="bob-at-idp", email="bob@example.com")
    count = get_user_model().objects.count()
    sign_in(client)
    assert signed_in_user(client) == bob
    assert get_user_model().objects.count() == count


def test_it_goes_back_to_the_page_that_asked(configured: Provider, client: Client) -> None:
    response = sign_in(client, "/sso/login/?next=/password/")
    assert response["Location"] == "/password/"
    evil = Client()
    response = sign_in(evil, "/sso/login/?next=https://evil.example/")
    assert response["Location"] == "/"


def test_with_account_creation_off_an_unknown_email_is_refused(
    configured: Provider, client: Client, settings: Any, bob: Any
) -> None:
    settings.OIDC_CREATE_USER = False
    count = get_user_model().objects.count()
    assert_refused(sign_in(client), client)
    assert get_user_model().objects.count() == count
    # ... while someone who has an account gets in.
    bob.email = "bob@example.com"
    bob.save()
    configured.identity.update(sub="bob-at-idp", email="bob@example.com")
    sign_in(client)
    assert signed_in_user(client) == bob


def test_a_deactivated_account_cannot_sign_in_and_its_session_stops_working(
    configured: Provider, client: Client
) -> None:
    sign_in(client)
    user = signed_in_user(client)
    user.is_active = False
    user.save()
    assert client.get("/")["Location"].startswith("/login/")
    again = Client()
    assert_refused(sign_in(again), again)


# --- refusals ---


def test_a_bad_state_is_refused(configured: Provider, client: Client) -> None:
    start = client.get("/sso/login/")
    at_provider = httpx.get(start["Location"], follow_redirects=False)
    back = parse_qs(urlsplit(at_provider.headers["location"]).query)
    response = client.get("/sso/callback/", {"code": back["code"][0], "state": "forged"})
    assert_refused(response, client)
    assert configured.hits["/token"] == 0


def test_a_callback_without_a_started_sign_in_is_refused(
    configured: Provider, client: Client
) -> None:
    assert_refused(client.get("/sso/callback/", {"code": "x", "state": "y"}), client)


def test_a_callback_cannot_be_replayed(configured: Provider, client: Client) -> None:
    start = client.get("/sso/login/")
    back = httpx.get(start["Location"], follow_redirects=False).headers["location"]
    assert client.get(back)["Location"] == "/"
    again = client.get(back)
    assert again.status_code == 302 and again["Location"] == "/login/"
    assert configured.hits["/token"] == 1  # the used state is gone: no second token request


def test_a_code_on_another_page_does_not_sign_in(configured: Provider, client: Client) -> None:
    start = client.get("/sso/login/")
    back = urlsplit(httpx.get(start["Location"], follow_redirects=False).headers["location"])
    client.post(f"/login/?{back.query}", {"username": "carol", "password": "x"})
    assert signed_in_user(client) is None
    assert configured.hits["/token"] == 0


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"aud": "another-app"}, id="wrong-audience"),
        pytest.param({"aud": ["team-chat", "another-app"]}, id="shared-audience-without-azp"),
        pytest.param({"iss": "http://127.0.0.1:1"}, id="wrong-issuer"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"nonce": "replayed"}, id="wrong-nonce"),
        pytest.param("other-key", id="wrong-signature"),
    ],
)
def test_a_bad_id_token_is_refused(configured: Provider, client: Client, tamper: Any) -> None:
    if tamper == "other-key":
        configured.sign_with_other_key = True
    else:
        configured.id_token_claims.update(tamper)
    count = get_user_model().objects.count()
    assert_refused(sign_in(client), client)
    assert get_user_model().objects.count() == count


def test_userinfo_about_someone_else_is_refused(configured: Provider, client: Client) -> None:
    configured.userinfo_claims.update(sub="mallory", email="alice@example.com")
    assert_refused(sign_in(client), client)


def test_an_unverified_email_is_refused(configured: Provider, client: Client) -> None:
    configured.identity["email_verified"] = False
    assert_refused(sign_in(client), client)


def test_an_unreachable_provider_is_a_message_not_an_error(
    configured: Provider, client: Client, settings: Any
) -> None:
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"
    assert_refused(sign_in(client), client)


def test_a_fresh_install_creates_its_admin_before_any_sso(
    sso_settings: Provider, client: Client, db: Any
) -> None:
    assert client.get("/sso/login/")["Location"] == "/setup/"


# --- discovery ---


def test_discovery_is_fetched_once_on_first_use(
    configured: Provider, client: Client, settings: Any
) -> None:
    for name, value in configured.settings(discovery=True).items():
        setattr(settings, name, value)
    discovery = "/.well-known/openid-configuration"
    assert configured.hits[discovery] == 0
    sign_in(client)
    assert signed_in_user(client).username == "carol"
    sign_in(Client())
    assert configured.hits[discovery] == 1
    assert configured.hits["/token"] == 2


def test_discovery_issuer_is_checked(configured: Provider, client: Client, settings: Any) -> None:
    for name, value in configured.settings(discovery=True).items():
        setattr(settings, name, value)
    configured.id_token_claims["iss"] = "http://127.0.0.1:1"
    assert_refused(sign_in(client), client)


def test_an_unreachable_discovery_document_is_a_message(
    configured: Provider, client: Client, settings: Any
) -> None:
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
    settings.OIDC_OP_DISCOVERY_URL = "http://127.0.0.1:9/.well-known/openid-configuration"
    assert_refused(client.get("/sso/login/"), client)
