"""First run, signing in and out, and one user's conversations hidden from another."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import (
    ADMIN,
    create_admin,
    screenshot,
    send_message,
    sign_in,
    wait_status,
)
from tests.harness.servers import LiveServer


def test_fresh_install_creates_the_admin_then_signs_out_and_in(
    fresh_server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(fresh_server.url).new_page()
    home = f"{fresh_server.url}/"

    # Every page of a fresh install leads to creating the admin account.
    page.goto("/c/1/")
    expect(page).to_have_url(f"{fresh_server.url}/setup/")
    expect(page.get_by_role("heading", name="Create the admin account")).to_be_visible()
    screenshot(page, "setup")

    # A mismatched confirmation is refused and nothing is created.
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password1", ADMIN[1])
    page.fill("#id_password2", ADMIN[1] + "x")
    page.get_by_role("button", name="Create admin account").click()
    expect(page).to_have_url(f"{fresh_server.url}/setup/")
    expect(page.locator(".form-error")).to_contain_text("didn’t match")

    create_admin(page, *ADMIN)
    expect(page).to_have_url(home)
    expect(page.locator(".sidebar-foot .who")).to_have_text(ADMIN[0])
    expect(page.locator("#empty-state")).to_contain_text("What can I help with?")
    expect(page.locator(".chat-head .badge-sim")).to_have_text("Offline simulator")
    expect(page.locator("#prompt")).to_be_focused()
    screenshot(page, "empty-chat")

    # Setup is a one-time page.
    page.goto("/setup/")
    expect(page).to_have_url(home)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{fresh_server.url}/login/")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    sign_in(page, ADMIN[0], "not-the-password")
    expect(page.locator(".form-error")).to_contain_text(
        "Please enter a correct username and password"
    )
    expect(page.locator("#id_username")).to_have_value(ADMIN[0])
    screenshot(page, "login-error")

    sign_in(page, *ADMIN)
    expect(page).to_have_url(home)
    expect(page.locator(".sidebar-foot .who")).to_have_text(ADMIN[0])
    expect(page.locator("#prompt")).to_be_visible()


def test_another_user_cannot_see_or_reach_a_conversation(
    quick_page: Page,
    quick_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    bob_state: Any,
) -> None:
    page = quick_page
    page.goto("/")
    turn = send_message(page, "A private note about the quarterly plan")
    wait_status(turn, "completed")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    conversation = int(page.url.rstrip("/").rsplit("/", 1)[1])

    bob = new_context(quick_server.url, bob_state).new_page()
    response = bob.goto(f"/c/{conversation}/")
    assert response is not None and response.status == 404
    response = bob.goto(f"/c/{conversation}/?turn=1")
    assert response is not None and response.status == 404

    bob.goto("/")
    expect(bob.locator(".sidebar-foot .who")).to_have_text("bob")
    expect(bob.locator("#conv-list .conv-item")).to_have_count(0)
    expect(bob.locator("#conv-list")).to_contain_text("No conversations yet.")
    bob.fill("#conv-search", "quarterly")
    expect(bob.locator("#conv-list")).to_contain_text("No conversation matches")

    # Nor through the websocket or the conversation actions.
    frames = bob.evaluate(
        """async (id) => {
            const ws = new WebSocket(`ws://${location.host}/ws/chat/`);
            const frames = [];
            await new Promise((resolve) => { ws.onopen = resolve; });
            const done = new Promise((resolve) => {
                ws.onmessage = (e) => { frames.push(JSON.parse(e.data));
                                        if (frames.length === 2) resolve(); };
                setTimeout(resolve, 5000);
            });
            ws.send(JSON.stringify({type: "subscribe", conversation: id}));
            ws.send(JSON.stringify({type: "send", conversation: id, parent: null,
                                    text: "let me in", client_id: "x"}));
            await done;
            ws.close();
            return frames;
        }""",
        conversation,
    )
    assert [(f["type"], f.get("code")) for f in frames] == [
        ("error", "not_found"),
        ("error", "not_found"),
    ]
    statuses = bob.evaluate(
        """async (id) => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const out = [];
            for (const action of ["rename", "delete"]) {
                const r = await fetch(`/c/${id}/${action}`, {method: "POST",
                    headers: {"X-CSRFToken": token, "Accept": "application/json"},
                    body: new URLSearchParams({title: "mine now"})});
                out.push(r.status);
            }
            return out;
        }""",
        conversation,
    )
    assert statuses == [404, 404]

    # The owner still has it, untouched.
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("A private note about the quarterly plan")
    expect(page.locator("#messages > .turn")).to_have_count(1)
