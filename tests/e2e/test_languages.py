"""Languages in Chromium: the sign-in page follows the browser's, a person's own choice wins
after sign-in, dates and numbers are written the language's way, and the page scripts speak
it too. Screenshots in Spanish and Italian at desktop and phone widths (longer words must not
break the layout)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import answer, screenshot, send_message, signed_in_state, wait_status
from tests.harness.servers import LiveServer

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
ITALIAN_MONTH = r"\d{1,2} (gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic) \d{4}"


def both_widths(page: Page, name: str) -> None:
    """Screenshots at both widths; at the phone's, nothing sticks out sideways."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"lang-{name}")
    page.set_viewport_size(PHONE)
    # The sidebar slides away when the width drops: shoot once it has gone.
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
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


# What the page's scripts wrote into steps still streaming: the code blocks' copy buttons and
# the live thinking label (they are replaced by the server's HTML once the answer ends).
RECORD_LIVE_LABELS = """window.__live = new Set();
new MutationObserver(() => {
  const live = ".step-live .copy-code, .step-live .thinking summary";
  for (const el of document.querySelectorAll(live)) {
    window.__live.add(`${el.getAttribute("aria-label") || ""}|${el.textContent}`);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });"""


def test_the_chat_page_speaks_spanish_and_italian(
    new_context: Callable[..., BrowserContext], fresh_server: LiveServer, browser: Any
) -> None:
    state = signed_in_state(browser, fresh_server)
    # The browser asks for English: the person's choice wins on the chat page too.
    context = new_context(fresh_server.url, state, locale="en-US", viewport=DESKTOP)
    context.add_init_script(RECORD_LIVE_LABELS)
    page = context.new_page()
    choose_language(page, "Español")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="¿En qué puedo ayudarte?")).to_be_visible()
    expect(page.locator("#prompt")).to_have_attribute("placeholder", "Escribe a Gemini…")
    expect(page.get_by_role("button", name="Enviar mensaje")).to_have_text("Enviar")
    chips = page.get_by_role("group", name="Herramientas para este chat")
    expect(chips.locator('[data-field="google_search"]')).to_have_text("Búsqueda de Google")
    expect(chips.locator('[data-field="code_execution"]')).to_have_text("Ejecución de código")

    # The Options sheet, from the settings form.
    page.locator("#settings-btn").click()
    sheet = page.get_by_role("dialog", name="Opciones del chat")
    expect(sheet.get_by_label("Instrucción del sistema")).to_be_visible()
    expect(sheet.get_by_label("Temperatura")).to_have_attribute("placeholder", "predeterminada")
    expect(sheet.get_by_label("Razonamiento").locator("option:checked")).to_have_text(
        "predeterminado"
    )
    expect(sheet.get_by_role("button", name="Guardar ajustes")).to_be_visible()
    both_widths(page, "chat-options-es")
    sheet.get_by_role("button", name="Cerrar opciones").click()
    expect(sheet).to_be_hidden()

    # An answer that thinks and writes code: its labels, live and final, in Spanish.
    turn = send_message(page, "Write a python function, and think it over")
    wait_status(turn, "completed")
    live = page.evaluate("[...window.__live]")
    assert "Copiar código|Copiar" in live, live
    assert any(label.startswith("|Razon") for label in live), live  # Razonando… / Razonó…
    assert not any("Copy" in label or "Thinking" in label for label in live), live
    steps = answer(turn)
    expect(steps.locator("details.thinking > summary")).to_have_text(
        re.compile(r"^(Razonó durante \d+ s|Razonamiento)$")
    )
    code_copy = steps.locator(".code-block .copy-code")
    expect(code_copy).to_have_text("Copiar")
    expect(code_copy).to_have_attribute("aria-label", "Copiar código")
    expect(turn.get_by_role("button", name="Copiar respuesta")).to_have_text("Copiar")
    expect(turn.get_by_role("button", name="Copiar texto, sin Markdown")).to_be_visible()
    expect(turn.get_by_role("button", name="Regenerar respuesta")).to_be_visible()
    expect(page.locator("#conv-list .conv-group:not(.folders-head)").first).to_have_text("Hoy")
    page.reload()  # the same turn as the server renders it for the page
    expect(page.locator("#conv-list .conv-group:not(.folders-head)").first).to_have_text("Hoy")
    expect(page.locator(".code-block .copy-code")).to_have_attribute("aria-label", "Copiar código")
    assert page.evaluate("pgettext('task list', 'Done')") == "Hecho"
    both_widths(page, "chat-es")

    # Italian: the rename dialog of the sidebar.
    url = page.url
    choose_language(page, "Italiano")
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", "it")
    entry = page.locator("#conv-list .conv-item").first
    entry.locator(".conv-menu summary").click()
    entry.get_by_role("button", name="Rinomina…").click()
    dialog = page.get_by_role("dialog", name="Rinomina conversazione")
    expect(dialog.get_by_label("Titolo")).to_be_focused()
    expect(dialog.get_by_role("button", name="Annulla")).to_be_visible()
    both_widths(page, "chat-rename-it")
    dialog.get_by_label("Titolo").fill("Una funzione in Python")
    dialog.get_by_role("button", name="Rinomina").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#chat-title")).to_have_text("Una funzione in Python")
    expect(page.locator("#conv-list .conv-group:not(.folders-head)").first).to_have_text("Oggi")
    expect(page.get_by_role("button", name="Invia messaggio")).to_have_text("Invia")
    expect(page.locator("#settings-btn")).to_contain_text("Opzioni")
    both_widths(page, "chat-it")
