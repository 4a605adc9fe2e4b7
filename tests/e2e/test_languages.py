"""Languages in Chromium: the sign-in page follows the browser's, a person's own choice wins
after sign-in, dates and numbers are written the language's way, and the page scripts speak
it too. Screenshots in Spanish and Italian at desktop and phone widths (longer words must not
break the layout)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import screenshot
from tests.harness.servers import LiveServer

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
ITALIAN_MONTH = r"\d{1,2} (gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic) \d{4}"


def both_widths(page: Page, name: str) -> None:
    """Screenshots at both widths; at the phone's, nothing sticks out sideways."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"lang-{name}")
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the phone"
    screenshot(page, f"lang-{name}-phone")
    page.set_viewport_size(DESKTOP)


def choose_language(page: Page, label: str) -> None:
    page.goto("/usage/")
    page.locator("#language").select_option(label=label)
    page.locator("#language-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/usage/$"))


def test_the_sign_in_page_follows_the_browser(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, quick_admin_state: Any
) -> None:
    for locale, heading, button in (
        ("es-ES", "Iniciar sesión", "Iniciar sesión"),
        ("it-IT", "Accedi", "Accedi"),
        ("en-US", "Sign in", "Sign in"),
    ):
        page = new_context(quick_server.url, locale=locale, viewport=DESKTOP).new_page()
        page.goto("/login/")
        expect(page.locator("html")).to_have_attribute("lang", locale[:2])
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("button", name=button)).to_be_visible()
        expect(
            page.get_by_label({"es": "Contraseña", "it": "Password"}.get(locale[:2], "Password"))
        ).to_be_visible()
        if locale != "en-US":
            both_widths(page, f"sign-in-{locale[:2]}")


def test_a_person_choosing_italian_reads_italian_pages_dates_and_numbers(
    new_context: Callable[..., BrowserContext], fresh_server: LiveServer, browser: Any
) -> None:
    from tests.harness.browser import signed_in_state

    state = signed_in_state(browser, fresh_server)
    # The browser asks for English: the choice made on the page wins over it.
    context = new_context(fresh_server.url, state, locale="en-US", viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto("/usage/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My usage")
    choose_language(page, "Italiano")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_role("heading", level=1)).to_have_text("Il mio utilizzo")
    expect(page.locator("#language")).to_have_value("it")

    # A limit in the thousands is grouped with dots, the Italian way.
    page.goto("/team/limits/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Limiti")
    form = page.locator("#person-limits")
    form.get_by_label("Persona").fill("admin")
    form.get_by_label("Token al giorno").fill("1500000")
    form.get_by_role("button", name="Salva i limiti").click()
    expect(page.locator(".team-messages")).to_contain_text("Limiti di admin salvati.")
    expect(page.locator('tr[data-person="admin"]')).to_contain_text("1.500.000")
    both_widths(page, "team-limits-it")

    # Dates with Italian month names; the page's scripts translated.
    page.goto("/team/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Persone")
    expect(page.locator('tr[data-person="admin"]')).to_contain_text(re.compile(ITALIAN_MONTH, re.I))
    form = page.locator("#create-person")
    form.get_by_label("Nome utente").fill("giulia")
    form.get_by_role("button", name="Aggiungi persona").click()
    expect(page.locator("#created-notice")).to_contain_text("giulia ora può accedere.")
    copy = page.locator("#created-notice").get_by_role("button", name="Copia")
    copy.click()
    expect(copy).to_have_text(re.compile(r"^(Copiato|Premi Ctrl\+C)$"))
    assert page.evaluate("gettext('Copied')") == "Copiato"
    both_widths(page, "team-people-it")

    page.goto("/team/usage/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Utilizzo e costo")
    expect(page.locator(".period")).to_contain_text("Ultimi 7 giorni")
    both_widths(page, "team-usage-it")
    page.goto("/usage/")
    both_widths(page, "my-usage-it")

    # Spanish, then back to the browser's language.
    choose_language(page, "Español")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mi uso")
    expect(page.locator("#limits-source")).to_have_text(
        "Un administrador del equipo te ha fijado estos límites."
    )
    both_widths(page, "my-usage-es")
    page.goto("/team/usage/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Uso y coste")
    both_widths(page, "team-usage-es")
    page.goto("/team/")
    both_widths(page, "team-people-es")
    choose_language(page, "El del navegador")
    expect(page.get_by_role("heading", level=1)).to_have_text("My usage")


def test_the_page_scripts_format_numbers_and_dates_in_the_page_language(
    new_context: Callable[..., BrowserContext], quick_server: LiveServer, quick_admin_state: Any
) -> None:
    page = new_context(quick_server.url, locale="it-IT", viewport=DESKTOP).new_page()
    page.goto("/login/")
    # What attachments.js and share.js use: the catalogue, and Intl in the page's language.
    formatted = page.evaluate(
        """() => [
            interpolate(ngettext('%s message', '%s messages', 3), [3]),
            new Intl.NumberFormat(document.documentElement.lang).format(1234567.5),
            new Intl.DateTimeFormat(document.documentElement.lang, {month: 'long'})
                .format(new Date(2026, 11, 4)),
        ]"""
    )
    assert formatted == ["3 messaggi", "1.234.567,5", "dicembre"]
