"""Fuzzing a live server: generated requests to every route and generated websocket frames.

Contract: whatever arrives, an HTTP answer is never a 5xx, a websocket frame never closes
the socket (a refused frame gets an `error` frame and the socket goes on), nothing is
logged as a server error, and the server still answers `/healthz` afterwards.

The routes come from the URL configuration itself (the app's, and the admin's login,
list and add pages of every registered model), so a new route is fuzzed without editing
this file; the field names come from the forms on the pages themselves.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.harness.servers import LiveServer, run_server
from tests.harness.sockets import LiveSocket

pytestmark = pytest.mark.live

FUZZ = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PASSWORD = "Correct-Horse-42"
SESSIONS = 40  # signed-in sessions the fuzz may end (logout, password change)

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
User = get_user_model()
fuzz = User.objects.create_user("fuzz", password=%(password)r)
other = User.objects.create_user("other", password=%(password)r)
boss = User.objects.create_superuser("boss", password=%(password)r)
def session(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
print(json.dumps({
    "socket": session(fuzz),
    "user": session(fuzz),
    "other": session(other),
    "admin": session(boss),
    "spare": [session(fuzz) for _ in range(%(sessions)d)],
}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(tmp_path_factory.mktemp("fuzz")) as live:
        yield live


class Site:
    """What the fuzz knows of the live site: sessions, ids, routes and field names."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        setup = SETUP % {"password": PASSWORD, "sessions": SESSIONS}
        self.sessions: dict[str, Any] = json.loads(
            server.manage("shell", "-c", setup).strip().splitlines()[-1]
        )
        self.http = httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)
        self.csrf = self.http.get("/login/").cookies["csrftoken"]
        self.ids = self._make_things()
        self.routes = _routes()
        self.fields = self._field_names()

    def headers(self, who: str, csrf: str) -> dict[str, str]:
        cookies = []
        if who != "anonymous":
            session = self.sessions[who]
            if who == "spare":
                session = self.sessions["spare"].pop() if self.sessions["spare"] else ""
            cookies.append(f"sessionid={session}")
        if csrf != "none":
            cookies.append(f"csrftoken={self.csrf}")
        headers = {"Cookie": "; ".join(cookies), "Origin": self.server.url}
        if csrf == "valid":
            headers["X-CSRFToken"] = self.csrf
        elif csrf == "wrong":
            headers["X-CSRFToken"] = "x" * 64
        return headers

    def _make_things(self) -> dict[str, Any]:
        """A conversation with an answer, an uploaded file and a share link, made the way a
        user makes them; and another user's conversation."""
        ids: dict[str, Any] = {}
        for who in ("user", "other"):
            socket = LiveSocket(self.server, self.sessions[who])
            socket.send({"type": "send", "conversation": None, "parent": None, "text": "Hi"})
            created = socket.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
            socket.until_final(created["turn"]["id"])
            socket.close()
            ids[f"{who}_conversation"] = created["turn"]["conversation"]
            ids[f"{who}_turn"] = created["turn"]["id"]
        png = io.BytesIO()
        Image.new("RGB", (8, 8), "teal").save(png, "PNG")
        uploaded = self.http.post(
            "/upload",
            files={"file": ("dot.png", png.getvalue(), "image/png")},
            headers={**self.headers("user", "valid"), "Accept": "application/json"},
        )
        assert uploaded.status_code < 300, uploaded.text
        ids["file"] = uploaded.json()["id"]
        shared = self.http.post(
            f"/c/{ids['user_conversation']}/share",
            data={"leaf": ids["user_turn"]},
            headers={**self.headers("user", "valid"), "Accept": "application/json"},
        )
        assert shared.status_code == 201, shared.text
        ids["token"] = shared.json()["url"].rstrip("/").rsplit("/", 1)[-1]
        return ids

    def _field_names(self) -> list[str]:
        """Every form field name on the site's pages, as the fuzz's vocabulary."""
        names = {"csrfmiddlewaretoken", "next", "leaf", "file", "q", "page"}
        conversation = self.ids["user_conversation"]
        pages = [
            ("anonymous", "/login/"),
            ("anonymous", "/signup/"),
            ("anonymous", "/setup/"),
            ("user", "/"),
            ("user", f"/c/{conversation}/"),
            ("user", f"/c/{conversation}/settings"),
            ("user", "/password/"),
            *(
                ("admin", route.replace("{", "").replace("}", ""))
                for route in self.routes
                if route.startswith("/admin/") and "{" not in route
            ),
        ]
        for who, path in pages:
            html = self.http.get(path, headers=self.headers(who, "valid")).text
            names.update(re.findall(r'\bname="([^"]{1,60})"', html))
        return sorted(names)

    def path(self, route: str, draw: st.DrawFn) -> str:
        def fill(match: re.Match[str]) -> str:
            kind = match.group(1)
            if kind == "int":
                own = [self.ids["user_conversation"], self.ids["user_turn"]]
                foreign = [self.ids["other_conversation"], self.ids["other_turn"]]
                extremes = [0, 2**31, 2**63, 10**30]
                return str(draw(st.sampled_from([*own, *foreign, *extremes])))
            if kind == "uuid":
                return draw(st.sampled_from([self.ids["file"], str(uuid.UUID(int=0))]))
            value = draw(st.sampled_from([self.ids["token"], *ACTIONS]) | _text)
            return quote(_encode(value), safe="")

        return re.sub(r"\{(\w+)\}", fill, route)


ACTIONS = ["rename", "delete", "pin", "unpin", "archive", "unarchive", "seen", "title"]


def _routes() -> list[str]:
    """The URL configuration's routes as templates ("/c/{int}/share"), the admin's too."""
    routes: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not text.startswith("admin/"):
                    walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                routes.append("/" + re.sub(r"<(\w+):\w+>", r"{\1}", text))

    walk(get_resolver().url_patterns, "")
    routes += ["/admin/", "/admin/login/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        routes += [base, base + "add/", base + "{int}/change/", base + "{int}/delete/"]
    return sorted(set(routes))


ODD = ["\x00", "\ud800", "\u202e", "\ufeff", "' OR 1=1 --", "<script>", "../../etc/passwd"]
_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(ODD),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["1e400", "nan", "-0", "2024-02-30", "25:61", "x" * 5000]),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # lone surrogates as a hostile client sends


@st.composite
def requests(draw: st.DrawFn, site: Site) -> dict[str, Any]:
    route = draw(st.sampled_from(site.routes))
    method = draw(st.sampled_from(["GET"] * 2 + ["POST"] * 4 + ["PUT", "DELETE", "HEAD"]))
    # Mostly someone the route is for, so most requests get past the door.
    owner = "admin" if route.startswith("/admin/") else "user"
    who = draw(st.sampled_from([owner] * 4 + ["anonymous", "other"]))
    if route in ("/logout/", "/password/") and who == "user":
        who = "spare"  # a session the fuzz may end
    csrf = draw(st.sampled_from(["valid"] * 5 + ["none", "wrong"]))
    fields = draw(st.dictionaries(st.sampled_from(site.fields), _text, max_size=6))
    query = "&".join(f"{quote(_encode(k))}={quote(_encode(v))}" for k, v in fields.items())
    body_kind = draw(st.sampled_from(["none", "form", "multipart", "json", "bytes"]))
    request: dict[str, Any] = {
        "method": method,
        "url": site.path(route, draw) + (f"?{query}" if draw(st.booleans()) else ""),
        "headers": site.headers(who, csrf),
    }
    if body_kind == "form":
        request["content"] = query.encode()
        request["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
    elif body_kind == "multipart":
        name = draw(_text)
        content = draw(st.binary(max_size=2000))
        request["files"] = {"file": (name.encode("utf-8", "replace").decode(), content)}
        request["data"] = {k: v.encode("utf-8", "replace").decode() for k, v in fields.items()}
    elif body_kind == "json":
        text = json.dumps(draw(_json | st.just(fields)))
        request["content"] = _encode(text)
        request["headers"]["Content-Type"] = "application/json"
    elif body_kind == "bytes":
        request["content"] = draw(st.binary(max_size=3000))
        request["headers"]["Content-Type"] = draw(
            st.sampled_from(["application/octet-stream", "multipart/form-data", "text/plain"])
        )
    return request


def _no_server_errors(server: LiveServer) -> None:
    errors = [
        line
        for line in server.log().splitlines()
        if re.search(r'\bERROR\b|"level": "ERROR"|Exception inside application', line)
        # Django logs refused suspicious input (a 400) as an error of django.security.*
        and "django.security." not in line
    ]
    assert not errors, "\n".join(errors[:5])[:3000]
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def site(server: LiveServer) -> Iterator[Site]:
    site = Site(server)
    yield site
    site.http.close()


def test_no_request_to_any_route_gets_a_server_error(server: LiveServer, site: Site) -> None:
    assert len(site.routes) > 30 and {"/upload", "/import", "/c/{int}/settings"} <= set(site.routes)

    @FUZZ
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        request = data.draw(requests(site))
        response = site.http.request(**request)
        seen[response.status_code] += 1
        assert response.status_code < 500, (request["method"], request["url"], response.text[:500])

    seen: Counter[int] = Counter()
    fuzz()
    # Most requests reach the views: the fuzz is not stopped at the door.
    assert seen[200] + seen[201] + seen[400] + seen[404] > len(site.routes)
    _no_server_errors(server)


# --- websocket frames ---

# Each type with the fields it takes (chatapp.protocol).
FRAME_FIELDS = {
    "subscribe": ["conversation"],
    "send": ["conversation", "parent", "text", "attachments", "media_urls", "client_id"],
    "edit": ["turn", "text", "client_id"],
    "regenerate": ["turn"],
    "retry": ["turn"],
    "stop": ["turn"],
    "select": ["conversation", "turn"],
}


@st.composite
def frames(draw: st.DrawFn, ids: dict[str, Any]) -> str | bytes:
    """One websocket message: mostly frames of the known types with plausible fields, some
    of them mutated; then JSON of other shapes, text, bytes and deep nesting."""
    ids_ = st.sampled_from(
        [ids["user_conversation"], ids["user_turn"], ids["other_conversation"], ids["other_turn"]]
    )
    plausible = {
        "conversation": st.none() | ids_ | st.integers(-(2**70), 2**70),
        "parent": st.none() | ids_,
        "turn": ids_ | st.integers(-(2**70), 2**70),
        "text": _text,
        "client_id": _text,
        "attachments": st.lists(st.sampled_from([ids["file"], "x", ""]), max_size=12),
        "media_urls": st.lists(
            st.sampled_from(["https://a.example/x.mp3", "javascript:alert(1)", "x" * 3000]),
            max_size=6,
        ),
    }
    kind = draw(st.sampled_from(["frame"] * 12 + ["json", "text", "bytes", "deep"]))
    if kind == "json":
        return _encode(json.dumps(draw(_json))).decode("utf-8", "surrogatepass")
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.integers(100, 100_000))
        return "[" * depth + "]" * depth
    kind = draw(st.sampled_from(list(FRAME_FIELDS)))
    frame: dict[str, Any] = {"type": kind}
    for name in FRAME_FIELDS[kind]:
        if draw(st.integers(0, 9)):  # now and then a field is missing
            frame[name] = draw(plausible[name])
    if draw(st.integers(0, 3)) == 0:  # and now and then one is anything at all
        name = draw(st.sampled_from([*plausible, "type", "extra"]))
        frame[name] = draw(_json)
    return _encode(json.dumps(frame)).decode("utf-8", "surrogatepass")


def test_no_websocket_frame_closes_the_socket_or_errs_on_the_server(
    server: LiveServer, site: Site
) -> None:
    socket = LiveSocket(server, site.sessions["socket"])
    probes = iter(range(10**9))
    # A conversation of its own: the HTTP fuzz before may have deleted the site's one (which
    # of its examples do depends on the routes and forms there are).
    ids = dict(site.ids)
    socket.send({"type": "send", "conversation": None, "parent": None, "text": "Hi again"})
    created = socket.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    socket.until_final(created["turn"]["id"])
    ids["user_conversation"] = created["turn"]["conversation"]
    ids["user_turn"] = created["turn"]["id"]

    @FUZZ
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        message = data.draw(frames(ids))
        socket.ws.send(message)
        # The socket is alive and in order when the next frame is answered.
        probe = f"probe-{next(probes)}"
        nowhere = {"type": "send", "conversation": 2**62, "text": "?", "client_id": probe}
        socket.ws.send(json.dumps(nowhere))
        socket.until(lambda f: f["type"] == "error" and f.get("client_id") == probe, timeout=30)

    try:
        fuzz()
    finally:
        socket.close()
    answers = Counter(f.get("code", f["type"]) for f in socket.frames)
    # Frames of every kind got past validation: some started answers, some were refused.
    assert answers["turn"] and answers["invalid"] and answers["not_found"], answers
    _no_server_errors(server)
