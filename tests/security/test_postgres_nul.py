"""NUL characters against PostgreSQL, which refuses them in any string ("A string literal
cannot contain NUL (0x00) characters"): titles, settings and searches answer 400 or ignore
the NUL, never a 500. A Daphne server on a database of its own, as in production.

Needs the machine's PostgreSQL (127.0.0.1:5432, trust auth); `make test` starts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.postgres import fresh_database
from tests.harness.servers import LiveServer, run_server

pytestmark = [pytest.mark.live, pytest.mark.deploy]

NUL = "\x00"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir: Path = tmp_path_factory.mktemp("nul")
    with fresh_database("nul") as database, run_server(var_dir, DATABASE_URL=database) as live:
        live.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_user('dora', password='pw-dora-123')",
        )
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
        client.get("/login/")
        signed_in = client.post(
            "/login/",
            data={
                "username": "dora",
                "password": "pw-dora-123",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert signed_in.status_code == 302
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        client.headers["Accept"] = "application/json"
        yield client


def test_nul_in_titles_and_settings_is_a_400_on_postgresql(
    server: LiveServer, http: httpx.Client
) -> None:
    good = {"model": "gemini-3.5-flash", "system_instruction": "Be brief."}
    created = http.post("/c/new", data=good)
    assert created.status_code == 200, created.text
    conversation = created.json()["id"]
    for field, value in (
        ("system_instruction", f"Be{NUL} brief."),
        ("model", f"gemini-3.5-flash{NUL}"),
        ("response_schema", f'{{"type": "object{NUL}"}}'),
        ("thinking_level", f"low{NUL}"),
    ):
        for url in (f"/c/{conversation}/settings", "/c/new"):
            response = http.post(url, data={**good, field: value})
            assert response.status_code == 400, (url, field, response.text[:300])
            assert field in response.json()["errors"]
    renamed = http.post(f"/c/{conversation}/rename", data={"title": f"Plan{NUL}s"})
    assert renamed.status_code == 400
    assert renamed.json()["errors"]["title"] == ["A title cannot contain NUL characters."]
    assert (
        http.post(f"/c/{conversation}/rename", data={"title": "Plans"}).json()["title"] == "Plans"
    )
    # Searching for a NUL searches for the rest.
    found = http.get("/sidebar/", params={"q": f"Pl{NUL}ans"})
    assert found.status_code == 200 and "Plans" in found.text
    assert http.get("/", params={"q": NUL}).status_code == 200
    assert "Traceback" not in server.log() and '" 500 ' not in server.log()


def test_nul_in_a_sign_in_is_a_form_error(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
        client.get("/login/")
        response = client.post(
            "/login/",
            data={
                "username": f"dora{NUL}",
                "password": "pw-dora-123",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert response.status_code == 200 and "Sign in" in response.text
    assert '" 500 ' not in server.log()
