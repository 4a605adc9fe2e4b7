"""The Content-Security-Policy in Chromium: every page works under it and breaks none of it.

A `CspWatch` records each `securitypolicyviolation` event of any page or frame, each console
error about a policy (what Chromium logs for a blocked inline style in the sandboxed
search-suggestions frame, where no script of ours runs), and each HTML document of the server
served without the policy. Every page the chat has is visited, signed in and out; the first
test proves that the watch does catch a violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, expect

from tests.harness.browser import ADMIN, create_admin, send_message, sign_in, wait_status
from tests.harness.servers import LiveServer

REPORT = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = event.sourceFile ? ` (${event.sourceFile}:${event.lineNumber})` : "";
  window.__cspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"}${where}: ${event.sample}`
  );
}, true);
"""
POLICY_ERRORS = re.compile(r"Content.Security.Policy|Permissions.Policy|Refused to", re.I)


@dataclass
class CspWatch:
    server: LiveServer
    violations: list[str] = field(default_factory=list)
    nonces: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> BrowserContext:
        context.expose_binding(
            "__cspViolation", lambda source, text: self.violations.append(f"{source}: {text}")
        )
        context.add_init_script(REPORT)
        context.on("console", self.on_console)
        context.on("response", self.on_response)
        return context

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and POLICY_ERRORS.search(message.text):
            self.violations.append(f"console: {message.text}")

    def on_response(self, response: Response) -> None:
        if response.request.resource_type != "document":
            return
        if not response.url.startswith(self.server.url) or 300 <= response.status < 400:
            return
        policy = response.headers.get("content-security-policy", "")
        match = re.search(r"script-src 'self' 'nonce-([\w-]+)';", policy)
        if not match or "frame-ancestors 'none'" not in policy:
            self.violations.append(f"{response.url}: no policy: {policy!r}")
        else:
            self.nonces.append(match.group(1))

    def check(self, where: str) -> None:
        assert self.violations == [], f"policy violations ({where}):\n" + "\n".join(self.violations)


def open_settings(page: Page) -> None:
    if page.locator("#settings").is_hidden():
        page.click("#settings-btn")


def visit(page: Page, path: str) -> Response:
    response = page.goto(path)
    assert response is not None
    page.wait_for_load_state("load")
    return response


def test_the_watch_catches_what_the_policy_blocks(
    quick_server: LiveServer, quick_admin_state: Any, new_context: Callable[..., BrowserContext]
) -> None:
    watch = CspWatch(quick_server)
    page = watch.attach(new_context(quick_server.url, quick_admin_state)).new_page()
    visit(page, "/")
    watch.check("the empty chat")
    # Markup injected into the page (what an XSS would do) runs nothing: neither a script
    # without the nonce nor an event handler attribute.
    ran = page.evaluate(
        """() => new Promise((resolve) => {
             window.__ran = 0;
             const script = document.createElement("script");
             script.textContent = "window.__ran = 1";
             document.body.append(script);
             document.body.insertAdjacentHTML("beforeend",
               '<img src="data:," onerror="window.__ran = 2">');
             setTimeout(() => resolve(window.__ran), 300);
           })"""
    )
    assert ran == 0
    page.wait_for_timeout(200)
    kinds = " ".join(watch.violations)
    assert "script-src-elem refused inline" in kinds and "script-src-attr" in kinds, kinds
    # A fresh nonce per response.
    visit(page, "/")
    assert len(watch.nonces) == 2 and watch.nonces[0] != watch.nonces[1]


def test_first_run_and_signing_in_break_no_policy(
    fresh_server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    watch = CspWatch(fresh_server)
    page = watch.attach(new_context(fresh_server.url)).new_page()
    visit(page, "/setup/")
    create_admin(page, *ADMIN)
    watch.check("setup, then the empty chat")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    sign_in(page, ADMIN[0], "not-the-password")
    expect(page.locator(".form-error")).to_be_visible()
    visit(page, "/signup/")  # closed: its own 404 page
    visit(page, "/admin/login/")
    watch.check("the sign-in pages")
    visit(page, "/login/")
    sign_in(page, *ADMIN)
    expect(page.locator("#prompt")).to_be_visible()
    watch.check("signed in")


def test_every_page_of_the_chat_works_under_the_policy(
    quick_server: LiveServer, quick_admin_state: Any, new_context: Callable[..., BrowserContext]
) -> None:
    watch = CspWatch(quick_server)
    context = watch.attach(new_context(quick_server.url, quick_admin_state))
    page = context.new_page()
    home = visit(page, "/")
    # A signed-in page is never kept by a cache.
    assert home.headers["cache-control"] == "private, no-store"
    assert home.headers["referrer-policy"] == "same-origin"
    assert "camera=()" in home.headers["permissions-policy"]

    # Google Search: the suggestions widget, styled, in its sandboxed srcdoc frame.
    page.locator(".chip-toggle", has_text="Google Search").click()
    turn = send_message(page, "Search the web for content security policy")
    wait_status(turn, "completed")
    chip = page.frame_locator("iframe.search-suggestions").locator("a.chip")
    expect(chip).to_have_count(1)
    assert chip.evaluate("a => getComputedStyle(a).borderTopStyle") == "solid"
    watch.check("an answer with search suggestions")

    # An image model: the generated image is served from /files/ and shows.
    page.locator(".chip-toggle", has_text="Google Search").click()
    page.locator("#model-btn").click()
    page.get_by_role("option", name=re.compile("Nano Banana 2")).click()
    open_settings(page)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).not_to_be_empty()
    turn = send_message(page, "Draw a lighthouse called Quillfeather")
    wait_status(turn, "completed")
    image = turn.locator("figure.gen-image img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    watch.check("a generated image")

    # The same conversation rendered by the server, the sidebar search, the settings panel.
    match = re.search(r"/c/(\d+)/", page.url)
    assert match, page.url
    conversation = match.group(1)
    visit(page, f"/c/{conversation}/")
    expect(page.locator("iframe.search-suggestions")).to_have_count(1)
    expect(page.locator("figure.gen-image img")).to_be_visible()
    page.fill("#conv-search", "Quillfeather")
    expect(page.locator("#conv-list .conv-item")).to_have_count(1)
    open_settings(page)
    page.get_by_role("button", name="Close options").click()
    # Back to the text model: the admin's next new chats (other tests) start with it.
    page.locator("#model-btn").click()
    page.get_by_role("option", name=re.compile("Gemini 3.5 Flash")).click()
    expect(page.locator("#model-btn")).to_contain_text("Gemini 3.5 Flash")
    watch.check("the conversation, reloaded")

    # A share link, seen by a stranger; a link that does not exist.
    page.click("#share-btn")
    page.click("#share-create")
    share_url = page.locator(".share-url").first.input_value()
    assert "/s/" in share_url
    stranger = watch.attach(new_context(quick_server.url)).new_page()
    shared = visit(stranger, share_url)
    assert shared.status == 200
    expect(stranger.locator("iframe.search-suggestions")).to_have_count(1)
    expect(stranger.locator("figure.gen-image img")).to_be_visible()
    assert visit(stranger, "/s/no-such-link").status == 404
    watch.check("share pages")

    # The admin pages, the account pages, an error page.
    for path in (
        "/admin/",
        "/admin/usage/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        "/admin/auth/user/1/change/",
        "/admin/chatapp/conversation/",
        f"/admin/chatapp/conversation/{conversation}/change/",
        "/admin/auth/user/1/password/",
        "/admin/chatapp/auditevent/",
        "/password/",
        "/team/",
        "/team/limits/",
        "/team/usage/?days=90",
        "/team/prices/",
        "/team/audit/",
        "/usage/",
    ):
        assert visit(page, path).status == 200, path
        watch.check(path)
    assert visit(page, "/no-such-page/").status == 404
    watch.check("the admin and account pages")
