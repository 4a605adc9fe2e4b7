"""Single sign-on settings (OpenID Connect, chatapp.sso), read from the environment and checked.

Kept apart from chatapp.settings, which imports every name from here.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_str

# --- single sign-on ---
# OpenID Connect (chatapp.sso, mozilla-django-oidc). Off unless OIDC_RP_CLIENT_ID is set; local
# accounts keep working beside it. Register https://<host>/sso/callback/ as the redirect URI.
# The endpoints come from OIDC_OP_* or, on the first SSO request (never at start-up), from the
# provider's discovery document; an explicit value wins over the document's.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_OP_DISCOVERY_URL = env_str("OIDC_OP_DISCOVERY_URL")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
# The ID token's `iss` must be this (by default the discovery document's `issuer`).
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
# A first SSO sign-in creates the account; false: only existing users, matched by email.
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USERS", True)
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
_oidc = {name: value for name, value in globals().items() if name.startswith("OIDC_OP_")}
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
if SSO_ENABLED or OIDC_RP_CLIENT_SECRET or any(_oidc.values()):
    _needed = ["OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET"]
    if not OIDC_OP_DISCOVERY_URL:
        _needed += ["OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT"]
        _needed += ["OIDC_OP_USER_ENDPOINT"]
        _needed += [] if OIDC_RP_SIGN_ALGO.startswith("HS") else ["OIDC_OP_JWKS_ENDPOINT"]
    _missing = [name for name in _needed if not globals()[name]]
    if _missing:
        raise ImproperlyConfigured(
            "Single sign-on is half-configured; missing: "
            + ", ".join(_missing)
            + ("" if OIDC_OP_DISCOVERY_URL else " (or OIDC_OP_DISCOVERY_URL)")
        )
    if OIDC_RP_SIGN_ALGO[:2] not in ("RS", "ES", "HS"):
        raise ImproperlyConfigured(f"OIDC_RP_SIGN_ALGO={OIDC_RP_SIGN_ALGO!r}: use RS*, ES* or HS*")
