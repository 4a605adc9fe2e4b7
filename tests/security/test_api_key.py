"""The team's API key never leaves the server: not in a page, a static file, a websocket
frame (errors included), an export, an admin page, the server's log or its data files.

A live Daphne server runs with GEMINI_API_KEY set, against a standalone simulator that accepts
only that key (so the key really is in use). A crawler signed in as an admin fetches every
page it can reach, and their static files; a full conversation runs over a websocket with
upstream failures of several kinds."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from tests.harness.accounts import sign_up
from tests.harness.servers import LiveServer, run_server
from tests.harness.simulator import run_simulator
from tests.harness.sockets import LiveSocket

pytestmark = pytest.mark.live

KEY = "sk-test-SECRET-123"
# Any recognisable piece of the key counts as a leak.
PIECES = (KEY, "SECRET-123", "sk-test-SECRET")
MAX_PAGES = 150
HEADERS_MARK = "--- response headers ---"
# Links the crawler leaves alone: they change state or end the session.
SKIP = re.compile(r"/logout/|/delete/|/revoke|^/s/[^/]+/files/|[?&]_popup=|/password/")


class Browser:
    """urllib with the admin's session and CSRF cookies."""

    def __init__(self, server: LiveServer, session: str) -> None:
        self.server = server
        self.cookies = {"sessionid": session}

    def fetch(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, content type, body followed by the response headers)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.server.url + path, data=body)
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        request.add_header("Accept", "text/html,application/json")
        if body is not None:
            request.add_header("X-CSRFToken", self.cookies.get("csrftoken", ""))
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        for cookie in headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        content_type = headers.get("Content-Type", "")
        body = raw.decode("utf-8", "replace")
        return status, content_type, f"{body}\n{HEADERS_MARK}\n{dict(headers)}"


def links(html: str) -> list[str]:
    found = re.findall(r"""(?<![\w-])(?:href|src|action)=["']([^"'#]+)""", html)
    found += re.findall(r"""(?:from|import)\s*["'](\./[^"']+)["']""", html)
    return found


def crawl(browser: Browser, start: list[str]) -> dict[str, str]:
    """Every same-origin page and static file reachable from `start`: {path: text}."""
    seen: dict[str, str] = {}
    queue = deque(start)
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen or SKIP.search(path):
            continue
        status, content_type, text = browser.fetch(path)
        seen[path] = text
        assert status < 500, f"{path} answered {status}"
        if not any(t in content_type for t in ("html", "javascript", "css")):
            continue
        for link in links(text):
            link = urllib.parse.urljoin(path, link.replace("&amp;", "&"))
            parts = urllib.parse.urlsplit(link)
            if parts.netloc and parts.netloc != urllib.parse.urlsplit(browser.server.url).netloc:
                continue
            # Admin lists: one page each, not every sort order and filter.
            query = parts.query if parts.query and not parts.path.startswith("/admin/") else ""
            local = parts.path + (f"?{query}" if query else "")
            if local.startswith("/") and local not in seen:
                queue.append(local)
    return seen


def run_conversation(server: LiveServer, session: str, simulator: Any) -> tuple[int, list[str]]:
    """A conversation with answers, a search, and upstream failures; every raw frame."""
    sock = LiveSocket(server, session)
    frames: list[str] = []

    def turn(text: str, conversation: int | None, **extra: Any) -> dict[str, Any]:
        sock.send({"type": "send", "conversation": conversation, "text": text, **extra})
        created = sock.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
        return sock.until_final(created["turn"]["id"])

    first = turn("Hello, who are you?", None)
    conversation = first["conversation"]
    assert first["status"] == "completed"
    statuses = [first["status"]]
    statuses.append(turn("[[sim:error]] tell me more", conversation, parent=first["id"])["status"])
    statuses.append(turn("[[sim:fail]] and more", conversation, parent=first["id"])["status"])
    simulator.post("/_simulator/faults", {"kind": "status", "status": 500, "times": 3})
    statuses.append(turn("one more", conversation, parent=first["id"])["status"])
    simulator.post("/_simulator/faults", {"kind": "status", "status": 400, "message": "bad"})
    statuses.append(turn("and another", conversation, parent=first["id"])["status"])
    assert statuses == ["completed", "failed", "failed", "failed", "failed"]
    frames += sock.raw
    sock.close()
    return conversation, frames


def test_the_api_key_appears_nowhere(tmp_path: Path) -> None:
    with run_simulator(tmp_path / "simulator", "--api-key", KEY) as simulator:
        env = {"GEMINI_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": simulator.url}
        with run_server(tmp_path / "var", LOG_LEVEL="DEBUG", **env) as server:
            session = sign_up(server, "admin", admin=True)
            conversation, frames = run_conversation(server, session, simulator)
            browser = Browser(server, session)
            # A few state-changing requests, for their responses.
            browser.fetch("/")
            responses = [
                browser.fetch(f"/c/{conversation}/settings", {"model": "gemini-3.5-flash"}),
                browser.fetch(f"/c/{conversation}/settings", {"model": "not-a-model"}),
                browser.fetch(f"/c/{conversation}/rename", {"title": "Key test"}),
                browser.fetch(f"/c/{conversation}/share", {}),
            ]
            assert [r[0] for r in responses] == [200, 400, 200, 201]
            share = json.loads(responses[3][2].split(HEADERS_MARK)[0])["url"]
            pages = crawl(
                browser,
                [
                    "/",
                    f"/c/{conversation}/",
                    "/sidebar/",
                    f"/c/{conversation}/export.md",
                    f"/c/{conversation}/export.json",
                    f"/c/{conversation}/shares",
                    urllib.parse.urlsplit(share).path,
                    "/admin/",
                    "/healthz",
                    "/readyz",
                    "/metrics",
                    "/no-such-page/",
                ],
            )
            anonymous = Browser(server, "")
            for path in ("/login/", "/", "/setup/", "/signup/", "/admin/login/"):
                pages[f"anonymous {path}"] = anonymous.fetch(path)[2]
            log = server.log()

        # The key really was used: the upstream saw it on every API request.
        seen = simulator.get("/_simulator/requests")
        requests = seen["requests"] if isinstance(seen, dict) else seen
        assert requests and all(r["headers"].get("x-goog-api-key") == KEY for r in requests)

    assert len([p for p in pages if p.startswith("/admin/")]) >= 5, sorted(pages)
    assert any(p.startswith("/static/") and p.endswith(".js") for p in pages), sorted(pages)
    assert any(p.startswith("/static/") and p.endswith(".css") for p in pages), sorted(pages)
    assert len(frames) > 20 and "generation" in log
    places = {**{f"page {p}": text for p, text in pages.items()}, "server log": log}
    # And whatever the server wrote to disk: its database, files and log.
    for path in (tmp_path / "var").rglob("*"):
        if path.is_file():
            places[f"file {path.name}"] = path.read_bytes().decode("latin-1")
    places.update({f"response {i}": r[2] for i, r in enumerate(responses)})
    places.update({f"frame {i}": frame for i, frame in enumerate(frames)})
    leaks = [where for where, text in places.items() if any(piece in text for piece in PIECES)]
    assert leaks == [], f"the API key leaked into: {leaks}"
