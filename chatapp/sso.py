"""Single sign-on with OpenID Connect, through mozilla-django-oidc.

Off unless `OIDC_RP_CLIENT_ID` is set (see the end of `chatapp.settings`). When on, the login
page offers "Sign in with <provider>" beside the local accounts form:

    /sso/login/     → the provider's authorization endpoint (state, nonce and PKCE kept in the
                      session)
    /sso/callback/  ← the provider sends the browser back with a code; the backend trades it for
                      tokens, checks the ID token and signs the person in

What this module adds to the library:

- endpoints from the explicit settings or, lazily, from the provider's discovery document (one
  fetch with a timeout on the first SSO request, then cached; never at start-up);
- a strict ID token check: signature, algorithm, `aud` (the library skips it), `iss`, `exp`,
  `iat`; the UserInfo `sub` must be the ID token's `sub`; an email the provider says is
  unverified is refused;
- accounts: matched by email (case-insensitive); otherwise created when `OIDC_CREATE_USER`,
  named after the email's local part, made unique, never staff whatever the claims say;
- a deactivated user's SSO session stops working, as with local accounts;
- failures send the browser back to the login page with a message, never a 500.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

log = logging.getLogger(__name__)

# Explicit setting → key in the discovery document.
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_ISSUER": "issuer",
}
CLOCK_SKEW_SECONDS = 60
FAILED = gettext_lazy("Single sign-on did not sign you in. Try again, or ask your administrator.")


class ProviderError(Exception):
    """The identity provider could not be reached or described itself wrongly."""


def enabled() -> bool:
    return bool(getattr(settings, "SSO_ENABLED", False))


@functools.lru_cache(maxsize=4)
def _discover(url: str) -> dict[str, Any]:
    """The provider's discovery document, fetched once per URL (failures are not cached)."""
    try:
        response = requests.get(
            url,
            timeout=getattr(settings, "OIDC_TIMEOUT", 10),
            verify=getattr(settings, "OIDC_VERIFY_SSL", True),
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"OIDC discovery at {url} failed: {exc}") from None
    if not isinstance(document, dict) or not all(
        isinstance(document.get(key), str) for key in ("issuer", "authorization_endpoint")
    ):
        raise ProviderError(f"OIDC discovery at {url} returned no usable document")
    return document


def endpoint(setting: str) -> str:
    """An endpoint (or the issuer): the explicit setting, else the discovery document's."""
    value = getattr(settings, setting, "")
    if value:
        return str(value)
    url = getattr(settings, "OIDC_OP_DISCOVERY_URL", "")
    if not url:
        return ""
    found = _discover(url).get(ENDPOINTS[setting], "")
    return found if isinstance(found, str) else ""


def _required(setting: str) -> str:
    value = endpoint(setting)
    if not value:
        raise ProviderError(f"No {setting} (set it, or OIDC_OP_DISCOVERY_URL)")
    return value


def unique_username(email: str) -> str:
    """The email's local part, cleaned for Django's username rules, numbered if taken."""
    users = get_user_model()._default_manager
    local = email.rsplit("@", 1)[0]
    base = re.sub(r"[^\w.+-]", "", local)[:140] or "user"
    candidate, n = base, 1
    while users.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _is_false(value: Any) -> bool:
    # Some providers send booleans as strings.
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


class Backend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """Signs people in from the provider's tokens; only the callback view calls it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No network and no checks here: Django builds every backend on every sign-in attempt
        # (local ones too) and to load each request's user. Endpoints resolve when used.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = getattr(settings, "OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = getattr(settings, "OIDC_RP_IDP_SIGN_KEY", None)

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 (the library's attribute names)
        return _required("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return _required("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return _required("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        # The callback view passes the nonce it kept in the session. Anything else (the local
        # login form, a crafted ?code=&state= on another page) is not ours to answer.
        if request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        # The library's version returns deactivated users too; Django's refuses them.
        return ModelBackend.get_user(self, user_id)

    def get_payload_data(self, token: Any, key: Any) -> dict[str, Any]:
        """Verify the token strictly (never accepts `alg: none`)."""
        algorithm = self.OIDC_RP_SIGN_ALGO
        issuer = endpoint("OIDC_OP_ISSUER") or None
        try:
            if jwt.get_unverified_header(token).get("alg") != algorithm:
                raise SuspiciousOperation(f"The ID token is not signed with {algorithm}")
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from None
        audience = payload["aud"]
        if isinstance(audience, list) and len(audience) > 1:
            if payload.get("azp") != self.OIDC_RP_CLIENT_ID:
                raise SuspiciousOperation("ID token refused: issued to another party (azp)")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("UserInfo is about another subject than the ID token")
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if _is_false(claims.get("email_verified")):
            log.warning("SSO refused: the provider has not verified %s", claims.get("email"))
            return False
        return bool(super().verify_claims(claims)) and isinstance(claims.get("email"), str)

    def create_user(self, claims: dict[str, Any]) -> Any:
        """A new local account: no password, no staff rights, whatever the claims say."""
        email = claims["email"]
        names = {
            field: claims[claim][:150]
            for field, claim in (("first_name", "given_name"), ("last_name", "family_name"))
            if isinstance(claims.get(claim), str)
        }
        for _ in range(5):  # another sign-in may take the same name between check and insert
            try:
                with transaction.atomic():
                    user = self.UserModel.objects.create_user(
                        unique_username(email), email=email, **names
                    )
            except IntegrityError:
                continue
            log.info("SSO created the account %s for %s", user.username, email)
            return user
        raise SuspiciousOperation(f"No free username for {email}")


def _refuse(request: HttpRequest, reason: object) -> HttpResponse:
    log.warning("Single sign-on refused: %s", reason)
    messages.error(request, FAILED)
    return redirect("login")


class Start(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """Sends the browser to the provider."""

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the library's reads endpoints; ours resolve in get()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not get_user_model()._default_manager.exists():
            # A fresh install: the first account is the admin, created on the setup page.
            return redirect("setup")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = _required("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderError as exc:
            return _refuse(request, exc)
        return super().get(request)  # type: ignore[no-any-return]


class Callback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """Where the provider sends the browser back."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return super().get(request)  # type: ignore[no-any-return]
        except (
            SuspiciousOperation,  # bad state, bad token, unverified email…
            ProviderError,
            requests.RequestException,  # provider unreachable, token request refused
            ValueError,  # unreadable JSON
            KeyError,  # a JWKS or token response without the expected fields
        ) as exc:
            return _refuse(request, exc)

    def login_failure(self) -> HttpResponse:
        return _refuse(self.request, "no matching active account, or the provider said no")


def login_button(request: HttpRequest) -> dict[str, Any]:
    """Template context: the provider's name for the login page, when SSO is on."""
    return {"sso_provider_name": settings.OIDC_PROVIDER_NAME} if enabled() else {}


# Routed by chatapp.urls only when SSO is configured; the names are the library's.
urlpatterns = [
    path("sso/login/", Start.as_view(), name="oidc_authentication_init"),
    path("sso/callback/", Callback.as_view(), name="oidc_authentication_callback"),
]
