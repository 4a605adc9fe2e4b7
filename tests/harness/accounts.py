"""Users of a live server: made in its database through `manage.py`, signed in like a
browser, and the database read back."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .servers import LiveServer

PASSWORD = "Correct-Horse-42"  # what `sign_up` gives


def sign_up(server: LiveServer, username: str, *, admin: bool = False) -> str:
    """Create a user (password PASSWORD) on the server's database; return a signed-in
    session id."""
    make = "create_superuser" if admin else "create_user"
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        f"user = get_user_model().objects.{make}({username!r}, password={PASSWORD!r})\n"
        "client = Client()\n"
        "client.force_login(user)\n"
        "print(client.cookies['sessionid'].value)\n"
    )
    return server.manage("shell", "-c", code).strip().splitlines()[-1]


def create_user(server: LiveServer, username: str, password: str) -> int:
    """Create a user on the server's database; its primary key."""
    code = (
        "import json\nfrom django.contrib.auth import get_user_model\n"
        f"u = get_user_model().objects.create_user({username!r}, password={password!r})\n"
        "print(json.dumps(u.pk))"
    )
    return int(server.manage("shell", "-c", code, timeout=300).strip().splitlines()[-1])


def query(server: LiveServer, expression: str) -> Any:
    """Evaluate a Python expression in `manage.py shell` (models imported); JSON back."""
    code = (
        "import json\n"
        "from chatapp.models import Attachment, Conversation, Turn\n"
        f"print(json.dumps({expression}, default=str))\n"
    )
    return json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])


def http_client(**options: Any) -> httpx.Client:
    """A loopback HTTP client: no proxies from the environment, generous timeouts."""
    options.setdefault("timeout", 60)
    return httpx.Client(trust_env=False, **options)


def http_sign_in(
    server_url: str, username: str, password: str, *, secure: bool = False
) -> httpx.Cookies:
    """Post the login form like a browser; returns the `sessionid` and `csrftoken` cookies.

    `secure`: as through the production TLS proxy (`X-Forwarded-Proto: https`, an https
    Referer); the cookies are then Secure, so they are sent by hand, not by httpx's jar.
    """
    headers = secure_headers(secure)
    scheme = "https" if secure else "http"
    referer = server_url.replace("http://", f"{scheme}://", 1) + "/login/"
    with http_client(base_url=server_url, follow_redirects=False, headers=headers) as client:
        client.get("/login/").raise_for_status()
        token = client.cookies["csrftoken"]
        response = client.post(
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": referer, **cookie_header(client.cookies, secure)},
        )
        if response.status_code != 302 or "sessionid" not in client.cookies:
            raise RuntimeError(f"sign-in failed: {response.status_code} {response.text[:300]}")
        return client.cookies


def secure_headers(secure: bool) -> dict[str, str]:
    return {"X-Forwarded-Proto": "https"} if secure else {}


def cookie_header(cookies: httpx.Cookies, secure: bool = True) -> dict[str, str]:
    """A `Cookie` header with every cookie (httpx keeps Secure cookies off plain HTTP)."""
    if not secure:
        return {}
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in cookies.jar)}
