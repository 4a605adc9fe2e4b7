"""A tiny OpenID Connect provider for tests, on 127.0.0.1 in a background thread.

It auto-approves: `/authorize` sends the browser straight back to `redirect_uri` with a code
and the given state, signed in as `provider.identity`. Tests bend it to misbehave through
`id_token_claims` (merged into the next ID tokens), `userinfo_claims` and `sign_with_other_key`.

    with serve() as provider:
        settings.OIDC_OP_TOKEN_ENDPOINT = provider.url("/token")
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_IDENTITY = {"sub": "carol-1", "email": "carol@example.com", "email_verified": True}


class Provider:
    def __init__(self, client_id: str = "team-chat", client_secret: str = "s3cret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.kid = "test-key-1"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.provider = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.identity: dict[str, Any] = dict(DEFAULT_IDENTITY)
            self.id_token_claims: dict[str, Any] = {}
            self.userinfo_claims: dict[str, Any] = {}
            self.sign_with_other_key = False
            self.codes: dict[str, dict[str, Any]] = {}
            self.tokens: dict[str, dict[str, Any]] = {}
            self.hits: Counter[str] = Counter()

    @property
    def issuer(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.issuer + path

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def settings(self, *, discovery: bool = False) -> dict[str, Any]:
        """Django settings pointing the app at this provider."""
        values: dict[str, Any] = {
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_OP_DISCOVERY_URL": "",
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.url("/authorize"),
            "OIDC_OP_TOKEN_ENDPOINT": self.url("/token"),
            "OIDC_OP_USER_ENDPOINT": self.url("/userinfo"),
            "OIDC_OP_JWKS_ENDPOINT": self.url("/jwks"),
            "OIDC_OP_ISSUER": self.issuer,
        }
        if discovery:
            values = {key: "" if key.startswith("OIDC_OP_") else v for key, v in values.items()}
            values["OIDC_OP_DISCOVERY_URL"] = self.url("/.well-known/openid-configuration")
        return values

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["identity"],
            **self.id_token_claims,
        }
        key = self.other_key if self.sign_with_other_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    # --- lifetime ---

    def start(self) -> Provider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serve(**kwargs: Any) -> Iterator[Provider]:
    provider = Provider(**kwargs).start()
    try:
        yield provider
    finally:
        provider.stop()


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet tests

    @property
    def provider(self) -> Provider:
        return self.server.provider  # type: ignore[no-any-return]

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        with self.provider.lock:
            self.provider.hits[parts.path] += 1
        if parts.path == "/.well-known/openid-configuration":
            self._json(200, self.provider.discovery())
        elif parts.path == "/jwks":
            self._json(200, self.provider.jwks())
        elif parts.path == "/authorize":
            self._authorize(query)
        elif parts.path == "/userinfo":
            self._userinfo()
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        with self.provider.lock:
            self.provider.hits[path] += 1
        if path != "/token":
            self._json(404, {"error": "not_found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self._token(form)

    def _authorize(self, query: dict[str, str]) -> None:
        provider = self.provider
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != provider.client_id or not redirect_uri:
            self._json(400, {"error": "invalid_request"})
            return
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            self._json(400, {"error": "invalid_request"})
            return
        code = secrets.token_urlsafe(16)
        with provider.lock:
            provider.codes[code] = {
                "redirect_uri": redirect_uri,
                "nonce": query.get("nonce"),
                "code_challenge": query.get("code_challenge"),
                "identity": dict(provider.identity),
            }
        back = {"code": code, "state": query.get("state", "")}
        self.send_response(302)
        self.send_header("Location", f"{redirect_uri}?{urlencode(back)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _token(self, form: dict[str, str]) -> None:
        provider = self.provider
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != provider.client_id or secret != provider.client_secret:
            self._json(401, {"error": "invalid_client"})
            return
        with provider.lock:
            grant = provider.codes.pop(form.get("code", ""), None)  # single use
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant["redirect_uri"] != form.get("redirect_uri")
        ):
            self._json(400, {"error": "invalid_grant"})
            return
        if grant["code_challenge"]:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != grant["code_challenge"]:
                self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                return
        access_token = secrets.token_urlsafe(16)
        with provider.lock:
            provider.tokens[access_token] = grant
        self._json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": provider.id_token(grant),
            },
        )

    def _userinfo(self) -> None:
        provider = self.provider
        auth = self.headers.get("Authorization", "")
        with provider.lock:
            grant = provider.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None:
            self._json(401, {"error": "invalid_token"})
            return
        self._json(200, {**grant["identity"], **provider.userinfo_claims})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
