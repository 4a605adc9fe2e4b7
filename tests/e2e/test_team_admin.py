"""The team admin pages in Chromium, at desktop and phone widths: people (add, invite,
deactivate, role), limits by name, usage and cost with its charts, prices, the audit log, and
a member kept out. axe finds no serious violation on any of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Dialog, Page, expect

from tests.e2e.test_accessibility import AXE, serious
from tests.harness.browser import screenshot, send_message, sign_in, wait_status
from tests.harness.servers import LiveServer

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def fits_width(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def both_widths(page: Page, name: str) -> None:
    """Screenshots at desktop and phone widths; at the phone's, nothing sticks out."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"team-{name}")
    page.set_viewport_size(PHONE)
    fits_width(page)
    screenshot(page, f"team-{name}-phone")
    page.set_viewport_size(DESKTOP)


def admin_page(new_context: Callable[..., BrowserContext], server: LiveServer, state: Any) -> Page:
    context = new_context(server.url, state, viewport=DESKTOP)
    context.add_init_script(path=str(AXE))
    return context.new_page()


def test_people_add_invite_deactivate_and_role(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, quick_admin_state: Any
) -> None:
    page = admin_page(new_context, quick_server, quick_admin_state)
    page.goto("/")
    page.locator(".sidebar-foot").get_by_role("link", name="Team").click()
    expect(page).to_have_url(re.compile(r"/team/$"))
    expect(page.get_by_role("link", name="People")).to_have_attribute("aria-current", "page")

    # Added without a password: a random one is shown once, and it works.
    form = page.locator("#create-person")
    form.get_by_label("Username").fill("gina")
    form.get_by_label("Email").fill("gina@example.com")
    form.get_by_role("button", name="Add person").click()
    expect(page.locator("#created-notice")).to_contain_text("gina can sign in now")
    password = page.locator("#new-password").input_value()
    assert len(password) >= 12
    expect(page.locator('tr[data-person="gina"]')).to_contain_text("gina@example.com")
    assert serious(page) == [], "people page"

    # An invitation link, opened by someone without an account.
    invite = page.locator("#invite-form")
    invite.get_by_label("Email (optional)").fill("hugo@example.com")
    invite.get_by_role("button", name="Create invitation link").click()
    link = page.locator("#invite-link").input_value()
    assert re.search(r"/join/[\w-]{40,}$", link)
    expect(page.locator("#invitations")).to_contain_text("hugo@example.com")
    both_widths(page, "people")
    visitor = new_context(quick_server.url).new_page()
    visitor.goto(link)
    visitor.fill("#id_username", "hugo")
    visitor.fill("#id_password1", "Hugo-Joins-2026")
    visitor.fill("#id_password2", "Hugo-Joins-2026")
    visitor.get_by_role("button", name="Create account").click()
    expect(visitor.locator(".sidebar-foot .who")).to_have_text("hugo")
    expect(visitor.locator(".sidebar-foot")).not_to_contain_text("Team")  # a member
    gone = new_context(quick_server.url).new_page()
    gone.goto(link)
    expect(gone.locator("h1")).to_have_text("This invitation link does not work")

    # Deactivate (after a confirmation), then make a team admin and back.
    page.goto("/team/?q=gina")
    row = page.locator('tr[data-person="gina"]')
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    row.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".notice-success")).to_have_text("gina can no longer sign in.")
    assert asked and "Deactivate gina?" in asked[0]
    expect(row).to_contain_text("deactivated")
    expect(page.locator("#people-search")).to_have_value("gina")  # back on the same search
    login = new_context(quick_server.url).new_page()
    login.goto("/login/")
    sign_in(login, "gina", password)
    expect(login.locator(".form-error, .errorlist").first).to_be_visible()
    row.get_by_role("button", name="Reactivate").click()
    # A forgotten password: a new random one, shown once, and it works.
    page.once("dialog", answer)
    row.get_by_role("button", name="New password").click()
    expect(page.locator("#created-notice")).to_contain_text("gina has a new password")
    login.goto("/login/")
    sign_in(login, "gina", page.locator("#new-password").input_value())
    expect(login.locator(".sidebar-foot .who")).to_have_text("gina")
    page.goto("/team/?q=gina")
    row.get_by_role("button", name="Make team admin").click()
    expect(row).to_contain_text("Team admin")
    row.get_by_role("button", name="Make member").click()
    expect(row).to_contain_text("Member")
    # The admin cannot lock themselves out: their own row has no such buttons.
    page.goto("/team/?q=admin")
    expect(page.locator('tr[data-person="admin"] button')).to_have_count(0)


def test_limits_are_set_by_name_for_a_person_and_a_group(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, quick_admin_state: Any
) -> None:
    page = admin_page(new_context, quick_server, quick_admin_state)
    page.goto("/team/")
    for name in ("ivan", "jade"):
        page.locator("#create-person").get_by_label("Username").fill(name)
        page.locator("#create-person").get_by_label("Password").fill(f"{name.title()}-Pass-2026")
        page.get_by_role("button", name="Add person").click()
        expect(page.locator("#created-notice")).to_contain_text(name)
    page.get_by_role("link", name="Limits").click()
    person = page.locator("#person-limits")
    # A suggestion box of usernames, never an id.
    expect(person.get_by_label("Person")).to_have_attribute("list", "people-list")
    person.get_by_label("Person").fill("ivan")
    person.get_by_label("Messages per minute").fill("4")
    person.get_by_label("Tokens per day").fill("20000")
    person.get_by_role("button", name="Save limits").click()
    expect(page.locator(".notice-success")).to_have_text("Limits of ivan saved.")
    row = page.locator('#limits-table tr[data-person="ivan"]')
    expect(row).to_contain_text("20,000")
    expect(row).to_contain_text("their own")

    page.locator("#new-group").get_by_label("New group").fill("Interns")
    page.get_by_role("button", name="Create group").click()
    member = page.locator("#add-member")
    member.get_by_label("Group").select_option(label="Interns")
    member.get_by_label("Person").fill("jade")
    member.get_by_role("button", name="Add to group").click()
    group = page.locator("#group-limits")
    group.get_by_label("Group").select_option(label="Interns")
    group.get_by_label("Tokens per day").fill("5000")
    group.get_by_role("button", name="Save group limits").click()
    expect(page.locator('#limits-table tr[data-person="jade"]')).to_contain_text("group Interns")
    expect(page.locator('#groups-table tr[data-group="Interns"]')).to_contain_text("jade")
    person.get_by_label("Person").fill("nobody-such")
    person.get_by_role("button", name="Save limits").click()
    expect(page.locator("#person-limits .form-error")).to_have_text(
        "There is nobody with that username."
    )
    assert serious(page) == [], "limits page"
    page.goto("/team/limits/")
    both_widths(page, "limits")

    # Jade sees the group's limit as her own quota.
    jade = new_context(quick_server.url).new_page()
    jade.goto("/login/")
    sign_in(jade, "jade", "Jade-Pass-2026")
    jade.goto("/usage/")
    expect(jade.locator(".my-usage")).to_contain_text("of 5,000")
    expect(jade.locator(".my-usage")).to_contain_text("5,000 left")
    jade.set_viewport_size(DESKTOP)
    screenshot(jade, "team-my-usage")
    jade.set_viewport_size(PHONE)
    fits_width(jade)
    screenshot(jade, "team-my-usage-phone")


def test_usage_by_person_and_model_with_cost_and_prices(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, quick_admin_state: Any
) -> None:
    page = admin_page(new_context, quick_server, quick_admin_state)
    page.goto("/team/")
    page.locator("#create-person").get_by_label("Username").fill("lena")
    page.locator("#create-person").get_by_label("Password").fill("Lena-Pass-2026")
    page.get_by_role("button", name="Add person").click()
    expect(page.locator("#created-notice")).to_contain_text("lena")
    lena = new_context(quick_server.url).new_page()
    lena.goto("/login/")
    sign_in(lena, "lena", "Lena-Pass-2026")
    wait_status(send_message(lena, "Write me a haiku about spreadsheets"), "completed")
    page.goto("/")
    for text in ("How tall is a llama?", "And an alpaca?"):
        wait_status(send_message(page, text), "completed")
    page.goto("/team/prices/")
    row = page.locator('tr[data-model="gemini-3.5-flash"]')
    expect(row.get_by_label("Gemini 3.5 Flash: input")).to_have_value("0.5")
    row.get_by_label("Gemini 3.5 Flash: input").fill("2000")
    row.get_by_label("Gemini 3.5 Flash: output").fill("4000")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(".notice-success")).to_contain_text("Price of gemini-3.5-flash saved.")
    expect(row).to_contain_text("team price")
    assert serious(page) == [], "prices page"
    both_widths(page, "prices")

    page.goto("/team/usage/")
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")
    admin_row = page.locator("#by-person tr[data-key]").filter(has_text="admin")
    expect(admin_row).to_be_visible()
    flash = page.locator("#by-model tbody tr").filter(has_text="Gemini 3.5 Flash")
    expect(flash).to_contain_text(re.compile(r"\$\d+\.\d\d"))
    cost = page.locator("#usage-totals").inner_text()
    # A few hundred tokens at thousands of dollars a million: cents, not nothing.
    assert re.search(r"\$(?!0\.00)\d[\d,]*\.\d\d", cost), cost
    expect(page.locator("svg.usage-chart")).to_have_count(2)
    expect(page.locator("svg.usage-chart rect").first).to_be_attached()
    assert serious(page) == [], "usage page"
    both_widths(page, "usage")
    page.set_viewport_size(PHONE)
    page.locator("#by-model").scroll_into_view_if_needed()
    screenshot(page, "team-usage-phone-tables")
    page.set_viewport_size(DESKTOP)

    # The same numbers as a CSV file, a row per person and model.
    with page.expect_download() as download:
        page.locator("#usage-csv").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("person,model_id,model,messages")
    assert any(line.startswith("lena,gemini-3.5-flash,Gemini 3.5 Flash,1,") for line in lines)

    # One person's usage, from their row.
    admin_row.get_by_role("link", name="admin").click()
    expect(page.locator("h1")).to_have_text("Usage and cost of admin")
    expect(page.locator("#person")).to_have_value("admin")
    expect(page.locator("#by-model tbody tr").first).to_contain_text("Gemini 3.5 Flash")

    # A period of one's own: a day long ago has nothing.
    page.fill("#from", "2024-01-01")
    page.fill("#to", "2024-01-02")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".team")).to_contain_text("No usage in this period.")

    # Back to the default price.
    page.goto("/team/prices/")
    page.locator('tr[data-model="gemini-3.5-flash"]').get_by_role(
        "button", name="Use default"
    ).click()
    expect(page.locator('tr[data-model="gemini-3.5-flash"]')).not_to_contain_text("team price")


def test_the_audit_log_filters_and_a_member_is_kept_out(
    new_context: Callable[..., BrowserContext],
    quick_server: LiveServer,
    quick_admin_state: Any,
    bob_state: Any,
) -> None:
    page = admin_page(new_context, quick_server, quick_admin_state)
    page.goto("/team/")
    page.locator("#create-person").get_by_label("Username").fill("kim")
    page.get_by_role("button", name="Add person").click()
    page.get_by_role("link", name="Audit log").click()
    filters = page.locator("#audit-filter")
    filters.get_by_label("Action").select_option("team.person.create")
    filters.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit tbody tr")
    expect(rows.filter(has_text="kim")).to_have_count(1)
    assert all("team.person.create" in text for text in rows.all_inner_texts())
    filters.get_by_label("Who").fill("nobody-at-all")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator(".team")).to_contain_text("No events match.")
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    assert serious(page) == [], "audit page"
    both_widths(page, "audit")

    member = new_context(quick_server.url, bob_state).new_page()
    member.goto("/")
    expect(member.locator(".sidebar-foot")).not_to_contain_text("Team")
    for url in ("/team/", "/team/usage/", "/team/prices/", "/team/audit/", "/team/limits/"):
        assert member.goto(url).status == 403, url  # type: ignore[union-attr]
