"""The conversation list as a person uses it, at a desktop's and at a phone's size: date
groups with pinned on top, search snippets that stay text, folders whose settings new chats
get, in-page dialogs driven by the keyboard, ⋯ menus kept in the window, the unseen dot on a
long title, and a theme that is remembered."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.harness.accounts import sign_up
from tests.harness.browser import screenshot, send_message, wait_status
from tests.harness.servers import LiveServer

from .test_accessibility import AXE, serious

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
EXPORT_FORMAT = "gemini-team-chat.conversation"
HOSTILE = 'the <b>avocado</b> plan <img src=x onerror="window.__xss=1">'


@pytest.fixture(params=list(SIZES))
def own_page(
    request: pytest.FixtureRequest,
    new_context: Callable[..., BrowserContext],
    quick_server: LiveServer,
    quick_admin_state: object,
) -> Page:
    """A page of a new person of their own (an empty list) on `quick_server`, at a
    desktop's and at a phone's size. (The admin is made first: a server that has users
    has no setup page any more, and other tests sign in as the admin.)"""
    width, height = SIZES[request.param]
    session = sign_up(quick_server, f"p{uuid.uuid4().hex[:10]}")
    context = new_context(quick_server.url, viewport={"width": width, "height": height})
    context.add_cookies([{"name": "sessionid", "value": session, "url": quick_server.url}])
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.size_name = request.param  # type: ignore[attr-defined]
    page.add_init_script("window.__xss = 0")
    return page


def size(page: Page) -> str:
    return str(page.size_name)  # type: ignore[attr-defined]


def shot(page: Page, name: str) -> None:
    screenshot(page, f"convos-{name}-{size(page)}")


def show_list(page: Page) -> None:
    """On a phone the list is a drawer: open it."""
    if size(page) == "phone" and page.locator("#sidebar.open").count() == 0:
        page.get_by_role("button", name="Show conversations").click()
        expect(page.locator("#sidebar.open")).to_be_visible()
        page.wait_for_timeout(300)  # the drawer's slide


def import_chat(page: Page, title: str, when: datetime, text: str = "hello") -> int:
    """A conversation last active at `when`, through the JSON import (as a person would)."""
    document = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "title": title,
        "settings": {"model": "gemini-3.5-flash"},
        "turns": [
            {
                "id": 1,
                "parent": None,
                "user_text": text,
                "created": when.isoformat(),
                "steps": [{"type": "model_output", "content": [{"type": "text", "text": "ok"}]}],
            }
        ],
    }
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        "/import",
        multipart={
            "file": {
                "name": "chat.json",
                "mimeType": "application/json",
                "buffer": json.dumps(document).encode(),
            }
        },
        headers={"X-CSRFToken": csrf, "Accept": "application/json"},
    )
    assert response.status == 201, response.text()
    return int(response.json()["id"])


def item(page: Page, conversation: int) -> Locator:
    return page.locator(f'#conv-list [data-conversation="{conversation}"]')


def open_menu(entry: Locator) -> Locator:
    entry.locator(".conv-menu summary").click()
    menu = entry.locator(".conv-menu .menu")
    expect(menu).to_be_visible()
    return menu


def in_window(page: Page, box: Any) -> bool:
    viewport = page.viewport_size
    assert viewport is not None and box is not None
    return bool(
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= viewport["width"] + 0.5
        and box["y"] + box["height"] <= viewport["height"] + 0.5
    )


def test_date_groups_pinned_on_top_and_safe_snippets(own_page: Page) -> None:
    page = own_page
    page.goto("/")  # the csrftoken cookie
    now = datetime.now(UTC)
    today = import_chat(page, "Today's chat", now - timedelta(minutes=1), HOSTILE)
    import_chat(page, "Yesterday's chat", now - timedelta(days=1))
    import_chat(page, "This week's chat", now - timedelta(days=4))
    import_chat(page, "This month's chat", now - timedelta(days=20))
    old = import_chat(page, "An old chat", now - timedelta(days=100))
    page.goto("/")
    show_list(page)
    groups = page.locator("#conv-list .conv-group:not(.folders-head)")
    expect(groups).to_have_count(5)
    expect(groups.nth(0)).to_have_text("Today")
    expect(groups.nth(1)).to_have_text("Yesterday")
    expect(groups.nth(2)).to_have_text("Previous 7 days")
    expect(groups.nth(3)).to_have_text("Previous 30 days")
    expect(groups.nth(4)).to_have_text((now - timedelta(days=100)).strftime("%B"))

    # Pinned on top, under its own heading.
    open_menu(item(page, old)).get_by_role("button", name="Pin").click()
    expect(groups.first).to_have_text("Pinned")
    expect(page.locator("#conv-list .conv-title").first).to_have_text("An old chat")
    shot(page, "date-groups")
    assert serious(page) == [], "date groups"

    # A search shows where the text matched, highlighted, and as text only.
    page.fill("#conv-search", "avocado")
    snippet = item(page, today).locator(".conv-snippet")
    expect(snippet).to_contain_text("the <b>avocado</b> plan <img src=x")
    expect(snippet.locator("mark")).to_have_text("avocado")
    expect(page.locator("#conv-list img, #conv-list b")).to_have_count(0)
    expect(page.locator("#conv-list .conv-item")).to_have_count(1)
    shot(page, "search-snippet")
    assert page.evaluate("window.__xss") == 0


def test_folders_carry_defaults_to_new_chats(own_page: Page) -> None:
    page = own_page
    page.goto("/")
    show_list(page)
    page.get_by_role("button", name="+ New folder").click()
    dialog = page.get_by_role("dialog", name="New folder")
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill("Research <i>desk</i>")
    dialog.get_by_label("Model").select_option("gemini-3.1-pro-preview")
    dialog.get_by_label("System instruction").fill("Answer like a careful librarian.")
    dialog.get_by_label("Google Search").check()
    shot(page, "folder-dialog")
    assert serious(page) == [], "the folder dialog"
    dialog.get_by_role("button", name="Save").click()

    # A new chat in the folder starts with its settings.
    expect(page).to_have_url(re.compile(r"/f/\d+/$"))
    folder_id = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("#set-model")).to_have_value("gemini-3.1-pro-preview")
    expect(page.locator("#set-system")).to_have_value("Answer like a careful librarian.")
    expect(page.locator('.chip-toggle[data-field="google_search"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    turn = send_message(page, "Find me a book about bees")
    wait_status(turn, "completed")
    expect(turn.locator(".model-name")).to_have_attribute("title", "gemini-3.1-pro-preview")
    conversation = int(page.url.rstrip("/").rsplit("/", 1)[1])
    show_list(page)
    expect(page.locator("[data-folder-name]")).to_have_text("Research <i>desk</i>")
    expect(item(page, conversation)).to_be_visible()
    shot(page, "folder-view")

    # The main list shows the folder, not its chats.
    page.get_by_role("link", name="‹ All chats").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#messages[data-ready]")).to_have_count(1)
    show_list(page)
    folder = page.locator(f'#conv-list [data-folder="{folder_id}"]')
    expect(folder.locator(".folder-title")).to_have_text("Research <i>desk</i>")
    expect(item(page, conversation)).to_have_count(0)
    # A chat made outside goes in through "Move to folder…".
    loose_turn = send_message(page, "A loose chat")
    wait_status(loose_turn, "completed")
    loose = int(page.url.rstrip("/").rsplit("/", 1)[1])
    show_list(page)
    shot(page, "sidebar-folders")
    open_menu(item(page, loose)).get_by_role("button", name="Move to folder…").click()
    move = page.get_by_role("dialog", name="Move to folder")
    move.get_by_label("Folder").select_option(label="Research <i>desk</i>")
    expect(move.get_by_label("Folder")).to_have_value(folder_id)
    move.get_by_role("button", name="Move").click()
    expect(item(page, loose)).to_have_count(0)

    # Editing shows what was saved; a new name shows at once.
    open_menu(folder).get_by_role("button", name="Edit folder…").click()
    edit = page.get_by_role("dialog", name="Edit folder")
    expect(edit.get_by_label("Name")).to_have_value("Research <i>desk</i>")
    expect(edit.get_by_label("Model")).to_have_value("gemini-3.1-pro-preview")
    expect(edit.get_by_label("System instruction")).to_have_value(
        "Answer like a careful librarian."
    )
    expect(edit.get_by_label("Google Search")).to_be_checked()
    edit.get_by_label("Name").fill("Library")
    edit.get_by_role("button", name="Save").click()
    expect(folder.locator(".folder-title")).to_have_text("Library")

    # Deleting the folder keeps its chats, back in the main list.
    open_menu(folder).get_by_role("button", name="Delete folder…").click()
    ask = page.get_by_role("dialog", name="Delete?")
    expect(ask).to_contain_text("Its chats are kept")
    ask.get_by_role("button", name="Delete").click()
    expect(page.locator("#conv-list [data-folder]")).to_have_count(0)
    expect(item(page, conversation)).to_be_visible()
    expect(item(page, loose)).to_be_visible()


def test_dialogs_keep_the_keyboard_inside_and_escape_closes(own_page: Page) -> None:
    page = own_page
    page.goto("/")
    conversation = import_chat(page, "Keyboard chat", datetime.now(UTC))
    page.goto("/")
    show_list(page)
    summary = item(page, conversation).locator(".conv-menu summary")
    summary.focus()
    page.keyboard.press("Enter")
    menu = item(page, conversation).locator(".conv-menu .menu")
    expect(menu).to_be_visible()
    menu.get_by_role("button", name="Rename…").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Rename conversation")
    expect(dialog.get_by_label("Title")).to_be_focused()
    inside = "() => document.activeElement.closest('dialog[open]') !== null"
    for _ in range(5):  # Title, Cancel, Rename, then around again
        page.keyboard.press("Tab")
        assert page.evaluate(inside)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(inside)
    shot(page, "dialog")
    assert serious(page) == [], "the rename dialog"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(summary).to_be_focused()
    expect(item(page, conversation).locator(".conv-title")).to_have_text("Keyboard chat")


def test_a_menu_near_the_bottom_stays_in_the_window(own_page: Page) -> None:
    page = own_page
    page.goto("/")
    now = datetime.now(UTC)
    ids = [import_chat(page, f"Chat number {i}", now - timedelta(minutes=i)) for i in range(24)]
    page.goto("/")
    show_list(page)
    last = item(page, ids[-1])
    last.scroll_into_view_if_needed()
    menu = open_menu(last)
    assert in_window(page, menu.bounding_box())
    # Above its button, since there is no room below.
    assert menu.bounding_box()["y"] < last.bounding_box()["y"]  # type: ignore[index]
    for name in ("Export JSON", "Export Markdown"):
        expect(menu.get_by_role("link", name=name)).to_be_in_viewport()
    delete = menu.get_by_role("button", name="Delete…")
    expect(delete).to_be_in_viewport()
    shot(page, "menu-bottom")
    delete.click()
    ask = page.get_by_role("dialog", name="Delete?")
    ask.get_by_role("button", name="Delete").click()
    expect(last).to_have_count(0)


def test_the_unseen_dot_shows_on_a_long_title(own_page: Page) -> None:
    page = own_page
    page.goto("/")
    background = page.locator('.chip-toggle[data-field="background"]')
    background.click()
    expect(background).to_have_attribute("aria-pressed", "true")
    long = "Please write a very long and thorough report about " + "honey bees " * 12
    turn = send_message(page, long)
    wait_status(turn, "completed")
    conversation = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.goto("/")
    show_list(page)
    entry = item(page, conversation)
    expect(entry).to_have_class(re.compile(r"\bhas-news\b"))
    dot = entry.locator(".news-dot")
    expect(dot).to_be_visible()
    title = entry.locator(".conv-title").bounding_box()
    dot_box = dot.bounding_box()
    menu = entry.locator(".conv-menu summary").bounding_box()
    assert title and dot_box and menu
    # The title is cut by its ellipsis; the dot sits after it, before the ⋯ button.
    assert entry.locator(".conv-title").evaluate("el => el.scrollWidth > el.clientWidth")
    assert title["x"] + title["width"] <= dot_box["x"] + 0.5
    assert dot_box["x"] + dot_box["width"] <= menu["x"] + 0.5
    assert dot_box["width"] >= 6 and in_window(page, dot_box)
    shot(page, "unseen-dot")


CONTRAST = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const probe = (fg, bg) => { const el = document.createElement("span");
    el.style.color = `var(${fg})`; el.style.background = `var(${bg})`;
    document.body.append(el); const s = getComputedStyle(el);
    const r = ratio(s.color, s.backgroundColor); el.remove(); return r; };
  return {
    text: probe("--fg", "--bg"), side: probe("--fg", "--bg-side"),
    muted: probe("--muted", "--bg"), mutedSide: probe("--muted", "--bg-side"),
    button: probe("--accent-fg", "--accent"), link: probe("--accent", "--bg"),
    danger: probe("--danger", "--bg"), warn: probe("--warn-fg", "--warn-bg"),
    user: probe("--fg", "--user-bg"),
  };
}"""


def test_the_theme_is_chosen_applied_and_remembered(own_page: Page) -> None:
    page = own_page
    page.emulate_media(color_scheme="light")
    page.goto("/")
    show_list(page)
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "system")
    light = page.evaluate(CONTRAST)
    page.get_by_label("Theme").select_option("dark")
    expect(html).to_have_attribute("data-theme", "dark")
    expect(page.locator("body")).to_have_css("background-color", "rgb(15, 17, 21)")
    dark = page.evaluate(CONTRAST)
    for name, ratios in (("light", light), ("dark", dark)):
        low = {k: round(v, 2) for k, v in ratios.items() if v < 4.5}
        assert not low, f"{name} theme contrast under 4.5:1: {low}"
    page.wait_for_load_state("networkidle")
    # Remembered: the server's HTML already has it (no flash), here and on other pages.
    assert 'data-theme="dark"' in page.request.get("/").text()
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(page.get_by_label("Theme")).to_have_value("dark")
    page.goto("/usage/")
    expect(page.locator("body")).to_have_css("background-color", "rgb(15, 17, 21)")
    chat = import_chat(page, "A dark chat", datetime.now(UTC), HOSTILE)
    page.goto(f"/c/{chat}/")
    show_list(page)
    shot(page, "dark")
    assert serious(page) == [], "the dark theme"
    open_menu(item(page, chat)).get_by_role("button", name="Rename…").click()
    expect(page.get_by_role("dialog", name="Rename conversation")).to_be_visible()
    shot(page, "dark-dialog")
    assert serious(page) == [], "a dialog in the dark theme"
    page.keyboard.press("Escape")
    # Light wins over a dark system; "System" follows it.
    page.emulate_media(color_scheme="dark")
    page.get_by_label("Theme").select_option("light")
    expect(page.locator("body")).to_have_css("background-color", "rgb(255, 255, 255)")
    page.get_by_label("Theme").select_option("system")
    expect(page.locator("body")).to_have_css("background-color", "rgb(15, 17, 21)")


def test_revoking_a_share_link_asks_in_the_page(own_page: Page) -> None:
    page = own_page
    browser_dialogs: list[str] = []
    page.on("dialog", lambda dialog: browser_dialogs.append(dialog.message))
    page.goto("/")
    turn = send_message(page, "A chat to share")
    wait_status(turn, "completed")
    page.get_by_role("button", name="Share").click()
    share = page.get_by_role("dialog", name="Share a read-only link")
    share.get_by_role("button", name="Create link").click()
    links = share.locator(".share-url")
    expect(links).to_have_count(1)
    share.get_by_role("button", name="Revoke").click()
    ask = page.get_by_role("dialog", name="Revoke the link?")
    expect(ask).to_contain_text("It stops working for everyone")
    page.keyboard.press("Escape")  # changed my mind
    expect(ask).to_be_hidden()
    expect(share).to_be_visible()
    expect(share.locator("#share-status")).not_to_have_text("Link revoked.")
    share.get_by_role("button", name="Revoke").click()
    ask.get_by_role("button", name="Revoke").click()
    expect(share.locator("#share-status")).to_have_text("Link revoked.")
    assert browser_dialogs == []


def test_titles_never_show_directives_and_renamed_ones_stay(own_page: Page) -> None:
    page = own_page
    page.goto("/")
    turn = send_message(page, "[[sim:echo]] Directive-free [[SIM:slow]]title please")
    wait_status(turn, "completed")
    conversation = int(page.url.rstrip("/").rsplit("/", 1)[1])
    expect(page.locator("#chat-title")).to_have_text("Directive-free title please")
    show_list(page)
    expect(item(page, conversation).locator(".conv-title")).to_have_text(
        "Directive-free title please"
    )
    # Renamed by hand: an edit of the first message no longer renames it.
    open_menu(item(page, conversation)).get_by_role("button", name="Rename…").click()
    rename = page.get_by_role("dialog", name="Rename conversation")
    rename.get_by_label("Title").fill("My own title [[sim:fail]]")
    rename.get_by_role("button", name="Rename").click()
    expect(page.locator("#chat-title")).to_have_text("My own title")
    if size(page) == "phone":
        page.keyboard.press("Escape")  # closes the drawer
        expect(page.locator("#sidebar.open")).to_have_count(0)
    turn.get_by_role("button", name="Edit message").click()
    turn.get_by_role("textbox", name="Edit message").fill("Something else entirely")
    turn.locator(".edit-form").get_by_role("button", name="Send").click()
    edited = page.locator("#messages > .turn").first
    expect(edited.locator(".user-text")).to_have_text("Something else entirely")
    wait_status(edited, "completed")
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("My own title")
