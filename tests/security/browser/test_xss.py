"""Hostile text in headless Chromium: model output, citations, tool steps, file names and
conversation titles never run as code, live or after a reload, in the chat or a shared page.

Every page starts with `window.__xss = 0`; each payload would set it (or call alert()), so a
payload that ran shows up as a changed `__xss`, a dialog, or an uncaught error. The DOM is
also scanned for event-handler attributes and script URLs, and every link is clicked."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Dialog, Page, Route, expect

from tests.harness.browser import send_message, turns, wait_status
from tests.harness.servers import LiveServer

INERT = """() => {
  const bad = [];
  const urls = ["href", "src", "action", "formaction", "xlink:href", "data", "poster"];
  for (const el of document.querySelectorAll("body, body *")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) bad.push(`${el.tagName} ${name}="${attr.value}"`);
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
      if (urls.includes(name) && /^(javascript|vbscript|data):/.test(value)) {
        bad.push(`${el.tagName} ${name}="${attr.value}"`);
      }
    }
  }
  const active = "script, object, embed, applet, base, meta, link, style, svg, math, form, frame";
  const places = `#messages :is(${active}), #conv-list :is(${active})`;
  for (const el of document.querySelectorAll(places)) {
    bad.push(el.outerHTML.slice(0, 100));
  }
  for (const frame of document.querySelectorAll("iframe")) {
    const sandbox = frame.getAttribute("sandbox");
    if (sandbox === null || /allow-scripts|allow-same-origin|allow-modals/.test(sandbox)) {
      bad.push(frame.outerHTML.slice(0, 100));
    }
  }
  return bad;
}"""


@dataclass
class Guard:
    """A signed-in page whose every dialog, popup and script-ran marker is recorded."""

    page: Page
    server: LiveServer
    dialogs: list[str] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self, where: str) -> None:
        """Nothing ran, and nothing in the DOM could run."""
        page = self.page
        assert page.evaluate("window.__xss") == 0, f"a payload ran ({where})"
        assert self.dialogs == [], f"a dialog opened ({where})"
        assert page.evaluate(INERT) == [], f"markup that could run is in the page ({where})"
        safe = ("http://", "https://", "about:blank", "chrome-error://")  # aborted: chrome-error
        bad = [url for url in self.popups if not url.startswith(safe)]
        assert bad == [], f"a link opened a script URL ({where})"

    def click_every_link(self, scope: str) -> None:
        """Hover and click each link: handlers run, and same-tab links navigate for real.
        Links opening a new tab do everything but open it (a listener on window, which runs
        after the link's own handlers, cancels the navigation): their hrefs are checked by
        INERT, and a tab per link would only make the test slow."""
        self.page.evaluate(
            """() => window.__tabsOff || (window.__tabsOff = true) && window.addEventListener(
                 "click", (e) => e.target.closest?.("a[target=_blank]") && e.preventDefault())"""
        )
        links = self.page.locator(f"{scope} a[href]")
        for index in range(links.count()):
            link = links.nth(index)
            if link.is_visible():
                link.hover()
                link.click()
        self.page.wait_for_timeout(100)


@pytest.fixture
def guard(new_context: Any, server: LiveServer, admin_state: Any) -> Iterator[Guard]:
    # The CSP would stop an injected handler anyway: these tests check the sanitizer alone.
    context: BrowserContext = new_context(server.url, admin_state, bypass_csp=True)
    yield make_guard(context, server)


def make_guard(context: BrowserContext, server: LiveServer) -> Guard:
    context.add_init_script("window.__xss = 0")

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            route.abort()  # links clicked in the test lead nowhere, fast

    context.route("**/*", only_this_server)
    page = context.new_page()
    guard = Guard(page, server)
    page.on("dialog", guard.on_dialog)

    def on_popup(popup: Page) -> None:
        guard.popups.append(popup.url)
        popup.on("dialog", guard.on_dialog)
        popup.close()

    context.on("page", on_popup)
    return guard


def png(color: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(out, "PNG")
    return out.getvalue()


def test_the_guard_catches_a_payload_that_runs(guard: Guard) -> None:
    """The checks below are not vacuous: markup that runs is caught, statically and live."""
    page = guard.page
    page.goto("/")
    guard.check("the empty chat")
    page.evaluate(
        """() => { document.getElementById("messages").insertAdjacentHTML("beforeend",
             '<img src="data:," onerror="window.__xss = 99; alert(99)">'); }"""
    )
    expect(page.locator("#messages img")).to_have_count(1)
    page.wait_for_function("window.__xss === 99")
    with pytest.raises(AssertionError, match="a payload ran"):
        guard.check("an injected payload")
    assert guard.dialogs == ["alert: 99"]
    page.evaluate("window.__xss = 0")
    guard.dialogs.clear()
    with pytest.raises(AssertionError, match="markup that could run"):
        guard.check("an injected payload")


# --- model output: the simulator quotes the prompt back as Markdown ---

PROMPTS = [
    '<script>window.__xss=1</script> <img src=x onerror="window.__xss=2;alert(2)"> '
    '<svg onload="window.__xss=3"></svg> <body onload="window.__xss=4">',
    '<iframe srcdoc="<script>parent.__xss=5;parent.alert(5)</script>"></iframe> '
    '<details open ontoggle="window.__xss=6"> <a href="javascript:window.__xss=7">raw</a> '
    "<style>@import 'javascript:alert(8)'</style>",
    "[md](javascript:window.__xss=9) [upper](JaVaScRiPt:window.__xss=10) "
    "[ent](javascript&#58;window.__xss=11) [tab](java\tscript:window.__xss=12) "
    "<javascript:window.__xss=13> ![img](javascript:window.__xss=14)",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxNSk8L3NjcmlwdD4=) "
    "[vb](vbscript:msgbox(16)) <math><mtext><table><mglyph><style><img src=x "
    'onerror="window.__xss=17"> `<img src=x onerror=window.__xss=18>` '
    "[x](https://ok.example/\"onmouseover=\"window.__xss=19) <https://ok.example/'onclick='alert(20)>",
]


def test_payloads_in_model_output_never_run(guard: Guard) -> None:
    page = guard.page
    page.goto("/")
    guard.check("the empty chat")
    for prompt in PROMPTS:
        turn = send_message(page, prompt)
        wait_status(turn, "completed")
        expect(turn.locator(".msg-user .user-text")).to_have_text(prompt)
        answer_md = turn.locator(".msg-model .step:not(:has(.thinking)) .markdown")
        expect(answer_md.first).to_contain_text("You said:")
        guard.check(f"live answer to {prompt[:30]!r}")
        guard.click_every_link(f"#turn-{turn.get_attribute('data-turn')} .msg-model")
        guard.check(f"after clicking the links of {prompt[:30]!r}")
    answers = page.locator("#messages .msg-model .step:not(:has(.thinking)) .markdown")
    expect(answers.nth(0)).to_contain_text("<script>window.__xss=1</script>")
    expect(answers.nth(1)).to_contain_text("<iframe srcdoc=")

    # The same conversation rendered by the server (page, sidebar, title).
    page.reload()
    expect(turns(page)).to_have_count(len(PROMPTS))
    guard.check("the reloaded conversation")
    guard.click_every_link("#messages")
    guard.check("after clicking every link of the reloaded conversation")
    expect(page.locator("#chat-title")).to_contain_text("<script>")


# --- citations, tool steps and the rest of a turn, crafted in the database ---

CITED = "First claim here. Second claim here. Third claim here. Fourth claim."
ANNOTATIONS = [
    {"type": "url_citation", "url": "javascript:window.__xss=21", "title": "js",
     "start_index": 0, "end_index": 17},
    {"type": "url_citation", "url": 'https://ok.example/"><img/src=x/onerror=window.__xss=22>',
     "title": "<img src=x onerror=window.__xss=23>", "start_index": 18, "end_index": 36},
    {"type": "url_citation", "url": 'https://ok.example/?a="/onmouseover="window.__xss=24',
     "title": '" onmouseover="window.__xss=25" x="', "start_index": 37, "end_index": 54},
    {"type": "place_citation", "url": "https://maps.example/", "name":
     "<svg onload=window.__xss=26>", "start_index": 0, "end_index": 17},
    {"type": "url_citation", "url": "data:text/html,<script>alert(27)</script>",
     "title": "data", "start_index": 55, "end_index": 68},
    {"type": "url_citation", "url": " JaVaScRiPt:alert(28)", "title": "spaced",
     "start_index": 55, "end_index": 68},
    {"type": "url_citation", "url": "https://x.example/</a><script>window.__xss=29</script>",
     "title": "</sup></a><script>window.__xss=30</script>", "start_index": 55, "end_index": 68},
    {"type": "url_citation", "url": "https://ok.example/\u2028\u2029\ue000\ue001", "title":
     "\ue0001\ue001<b onmouseover=window.__xss=31>", "start_index": 55, "end_index": 68},
]  # fmt: skip
STEPS = [
    {"type": "thought", "signature": "c2ln", "summary": [
        {"type": "text", "text": "<img src=x onerror=window.__xss=32> [t](javascript:alert(32))"}
    ]},
    {"type": "google_search_call", "id": "s1",
     "arguments": {"queries": ["<img src=x onerror=window.__xss=33>"]}},
    {"type": "google_search_result", "call_id": "s1", "result": [{"search_suggestions":
     "<script>parent.__xss=34;alert(34)</script><a href='javascript:parent.__xss=35'>x</a>"
     "<img src=x onerror='parent.__xss=36'>"}]},
    {"type": "function_call", "id": "f1", "name": "<img src=x onerror=window.__xss=37>",
     "arguments": {"<script>": "<img src=x onerror=window.__xss=38>"}},
    {"type": "function_result", "call_id": "f1", "name": "<svg onload=window.__xss=39>",
     "result": "<script>window.__xss=40</script>"},
    {"type": "code_execution_call", "id": "c1", "arguments": {
        "language": '"><script>window.__xss=41</script>',
        "code": "</code></pre><img src=x onerror=window.__xss=42>"}},
    {"type": "url_context_result", "call_id": "u1", "result": [
        {"url": "javascript:window.__xss=43", "status": "<img src=x onerror=window.__xss=44>"}]},
    {"type": "<img src=x onerror=window.__xss=45>"},
    {"type": "model_output", "content": [
        {"type": "text", "text": CITED, "annotations": ANNOTATIONS},
        {"type": "image", "uri": "javascript:window.__xss=46", "mime_type": "image/png"},
        {"type": "image", "data": "\"><img src=x onerror=window.__xss=47>", "mime_type":
         "<img src=x onerror=window.__xss=48>"},
        {"type": "<svg onload=window.__xss=49>"},
    ], "error": {"code": 500, "message": "<img src=x onerror=window.__xss=50>"}},
]  # fmt: skip
USER_INPUT = [
    {"type": "text", "text": "Cite your sources <img src=x onerror=window.__xss=51>"},
    {"type": "audio", "uri": "javascript:window.__xss=52", "mime_type": "audio/mp3"},
    {"type": "audio", "uri": 'https://ok.example/a.mp3" onmouseover="window.__xss=53',
     "mime_type": "audio/mp3"},
    {"type": "image", "attachment": '" onerror="window.__xss=54', "mime_type": "image/png",
     "name": "<img src=x onerror=window.__xss=55>"},
    {"type": "<img src=x onerror=window.__xss=56>", "mime_type": "<b onclick=alert(57)>"},
]  # fmt: skip

CRAFT = """
import json, sys
from django.contrib.auth import get_user_model
from chatapp import share_links
from chatapp.models import Conversation, Turn
data = json.loads(sys.stdin.read()) if False else json.loads({payload!r})
owner = get_user_model().objects.get(username="admin")
conversation = Conversation.objects.create(
    owner=owner, model="gemini-3.5-flash", title=data["title"], google_search=True)
turn = Turn.objects.create(
    conversation=conversation, model='"><img src=x onerror=window.__xss=58>',
    user_text=data["user_input"][0]["text"], user_input=data["user_input"], steps=data["steps"],
    answer_text="cited", status="failed", usage={{"total_tokens": 7}},
    error={{"code": "x", "message": "<img src=x onerror=window.__xss=59>", "retryable": True}})
conversation.current_turn = turn
conversation.save()
link = share_links.create_link(owner, conversation, None)
print(json.dumps({{"conversation": conversation.pk, "turn": turn.pk, "token": link.token}}))
"""


def craft(server: LiveServer) -> dict[str, Any]:
    payload = json.dumps(
        {"title": "Crafted <svg onload=window.__xss=60>", "user_input": USER_INPUT, "steps": STEPS}
    )
    out = server.manage("shell", "-c", CRAFT.format(payload=payload))
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_crafted_citations_tool_steps_and_inputs_never_run(
    guard: Guard, new_context: Any, server: LiveServer
) -> None:
    made = craft(server)
    page = guard.page
    page.goto(f"/c/{made['conversation']}/")
    turn = page.locator(f"#turn-{made['turn']}")
    expect(turn).to_have_attribute("data-status", "failed")
    guard.check("the crafted conversation")
    sources = turn.locator("ol.sources a")
    assert sources.count() >= 2, "the safe citations are listed"
    for href in sources.evaluate_all("links => links.map((a) => a.getAttribute('href'))"):
        assert href.startswith(("https://", "http://")), href
    for title in ("<img src=x onerror=window.__xss=23>", "<svg onload=window.__xss=26>"):
        expect(turn.locator("ol.sources")).to_contain_text(title)
    for cite in turn.locator("sup.cite a").all():
        cite.hover()  # the hover card is built from the citation's title
        page.wait_for_timeout(50)
        guard.check("hovering a citation")
    for details in turn.locator("details").all():
        details.locator("summary").click()
    guard.click_every_link(f"#turn-{made['turn']}")
    guard.check("after opening every card and clicking every link")
    # The sandboxed suggestions frame ran nothing either.
    frame = page.frame_locator("iframe.search-suggestions")
    expect(frame.locator("a")).to_have_count(1)

    # The public page of a share link shows the same turn, just as inert.
    anonymous = make_guard(new_context(server.url, bypass_csp=True), server)
    anonymous.page.goto(f"/s/{made['token']}")
    expect(anonymous.page.locator("body")).to_contain_text("First claim here.")
    anonymous.check("the shared page")
    anonymous.click_every_link("body")
    anonymous.check("after clicking the shared page's links")


# --- file names and conversation titles: the user's own text ---

FILE_NAME = "<img src=x onerror=alert(1)>.png"
TITLE = "Zq9 <img src=x onerror=alert(2)><script>window.__xss=62</script>\"'><svg onload=alert(3)>"


def test_a_file_name_with_markup_stays_a_name(guard: Guard) -> None:
    page = guard.page
    page.goto("/")
    page.set_input_files(
        "#file-input", files=[{"name": FILE_NAME, "mimeType": "image/png", "buffer": png()}]
    )
    chip = page.locator("#attachment-tray .att-chip")
    expect(chip).to_have_attribute("data-state", "ready")
    expect(chip.locator(".att-name")).to_have_text(FILE_NAME)
    guard.check("the attachment chip")
    turn = send_message(page, "Here is a picture")
    wait_status(turn, "completed")
    image = turn.locator(".msg-user img")
    expect(image).to_have_attribute("alt", FILE_NAME)
    guard.check("the sent message")
    page.reload()
    expect(page.locator(".msg-user img")).to_have_attribute("alt", FILE_NAME)
    guard.check("the reloaded conversation")


def test_a_gif_that_is_also_javascript_cannot_be_used_as_a_script(guard: Guard) -> None:
    """Even with markup injected into the page, an uploaded GIF/JS polyglot does not run:
    the server serves it as image/gif with nosniff, which browsers refuse to execute."""
    from tests.security.test_uploads import gif_js_polyglot

    page = guard.page
    page.goto("/")
    data = list(gif_js_polyglot())
    outcome = page.evaluate(
        """async (bytes) => {
          const form = new FormData();
          form.append("file", new File([new Uint8Array(bytes)], "cat.gif", {type: "image/gif"}));
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const response = await fetch("/upload", {method: "POST", body: form,
            headers: {"X-CSRFToken": token, Accept: "application/json"}});
          const json = await response.json();
          if (!response.ok) return {refused: json.error};
          const script = document.createElement("script");
          script.src = json.url;
          const loaded = new Promise((done) => {
            script.onload = () => done("loaded");
            script.onerror = () => done("blocked");
          });
          document.head.append(script);
          const how = await loaded;
          script.remove();
          return {how, url: json.url};
        }""",
        data,
    )
    if "refused" not in outcome:
        assert outcome["how"] == "blocked", outcome
    assert page.evaluate("window.__xss") == 0
    assert guard.dialogs == []


def test_a_conversation_title_with_markup_stays_text(guard: Guard) -> None:
    page = guard.page
    page.goto("/")
    turn = send_message(page, "A conversation to rename")
    wait_status(turn, "completed")
    conversation = page.url.rstrip("/").rsplit("/", 1)[1]
    entry = page.locator(f'#conv-list [data-conversation="{conversation}"]')
    entry.locator(".conv-menu summary").click()
    entry.locator('[data-conv-action="rename"]').click()
    rename = page.get_by_role("dialog", name="Rename conversation")
    rename.get_by_label("Title").fill(TITLE)
    rename.get_by_role("button", name="Rename").click()
    expect(rename).to_be_hidden()
    expect(page.locator("#chat-title")).to_have_text(TITLE)
    expect(entry.locator(".conv-title")).to_have_text(TITLE)
    guard.check("the renamed conversation")
    page.reload()
    expect(page.locator("#chat-title")).to_have_text(TITLE)
    expect(
        page.locator(f'#conv-list [data-conversation="{conversation}"] .conv-title')
    ).to_have_text(TITLE)
    assert TITLE in page.title()
    guard.check("the reloaded page")
    # Another page's sidebar, and the search results, show it as text too.
    page.goto("/")
    page.fill("#conv-search", "Zq9")
    expect(page.locator("#conv-list .conv-title")).to_have_text([TITLE])
    expect(page.locator("#conv-list .conv-title mark")).to_have_text("Zq9")
    guard.check("the search results")
    # A match in a message shows as a snippet, as text too.
    page.fill("#conv-search", "rename")
    expect(page.locator("#conv-list .conv-snippet mark")).to_have_text(["rename"])
    guard.check("the search snippet")
