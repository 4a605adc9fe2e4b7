"""Every string a person reads is translated into Spanish and Italian.

(a) each message of the committed catalogues has a translation with the same placeholders;
(b) the catalogues hold exactly the messages the source marks (a newly marked string fails
    until scripts/messages.sh is run and the string translated), and the .mo files are fresh;
(c) templates show no text outside translation tags, and page scripts put no bare English
    into the page (textContent, title, aria-label, placeholder, alert, confirm).
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from tests.app.po_files import Entry, read_po

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ("es", "it")
DOMAINS = ("django", "djangojs")

# Files other branches are rewriting now: the coordinator empties this list after merging
# them (and marks their strings). Nothing else may be added here.
NOT_YET: tuple[str, ...] = ()


def catalogue(language: str, domain: str) -> list[Entry]:
    return read_po(ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po")


# Python's %s / %(name)s, and the {name} of str.format and pydantic templates.
PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_]+\))?[-#0 +]?\d*(?:\.\d+)?[sdrfi%]|\{[A-Za-z_]*\}")
# blocktranslate's {{ name }} comes out as %(name)s; JS interpolate() uses the same two forms.


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_with_the_same_placeholders(language: str, domain: str) -> None:
    problems = []
    for entry in catalogue(language, domain):
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        for index, text in enumerate(entry.msgstr):
            if not text.strip():
                problems.append(f"untranslated: {entry.msgid!r}")
                break
            source = sources[min(index, len(sources) - 1)]
            # A singular may leave out its number ("one message"); anything else must match.
            if (
                entry.msgid_plural
                and index == 0
                and set(placeholders(text)) <= set(placeholders(source))
            ):
                continue
            if placeholders(text) != placeholders(source):
                problems.append(f"placeholders differ: {entry.msgid!r} → {text!r}")
    assert not problems, f"{language}/{domain}:\n" + "\n".join(problems)


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_catalogues_hold_exactly_what_the_source_marks(
    domain: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run makemessages into a scratch directory, with scripts/messages.sh's options."""
    assert shutil.which("xgettext"), "GNU gettext is missing: run scripts/ensure-packages.sh"
    script = (ROOT / "scripts" / "messages.sh").read_text()
    ignored = re.findall(r"--ignore=(\S+?)(?=[\s\"\\])", script.split("IGNORE=", 1)[1])
    assert "tests" in ignored and "static/vendor" in ignored
    # makemessages writes next to a `locale` folder it finds: run it in a tree of links to the
    # source without one, so that the committed catalogues stay untouched.
    tree, out = tmp_path / "src", tmp_path / "locale"
    tree.mkdir()
    for item in ROOT.iterdir():
        if item.name not in {"locale", ".git", ".venv", "node_modules", "var"}:
            (tree / item.name).symlink_to(item)
    monkeypatch.chdir(tree)
    with override_settings(LOCALE_PATHS=[out]):
        call_command(
            "makemessages",
            domain=domain,
            locale=["es"],
            ignore_patterns=ignored,
            symlinks=True,
            no_obsolete=True,
            verbosity=0,
        )
    fresh = {e.key for e in read_po(out / "es" / "LC_MESSAGES" / f"{domain}.po")}
    for language in LANGUAGES:
        committed = {e.key for e in catalogue(language, domain)}
        missing, stale = sorted(fresh - committed), sorted(committed - fresh)
        assert not missing and not stale, (
            f"{language}/{domain}.po is out of date: run scripts/messages.sh and translate.\n"
            f"not in the catalogue: {missing}\nno longer in the source: {stale}"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogues_are_fresh(language: str) -> None:
    """The committed .mo files say what the .po files say (make run has no gettext)."""
    for domain in DOMAINS:
        po = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run scripts/messages.sh --compile"
    with translation.override(language):
        for entry in catalogue(language, "django"):
            if entry.msgid_plural and entry.msgctxt:
                got = translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
            elif entry.msgid_plural:
                got = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
            elif entry.msgctxt:
                got = translation.pgettext(entry.msgctxt, entry.msgid)
            else:
                got = translation.gettext(entry.msgid)
            assert got == entry.msgstr[0], f"{language}: the .mo is stale for {entry.msgid!r}"


# --- (c) text left outside translation tags ---

TEMPLATES = ROOT / "templates"
# Not words to translate: the product's name, units and symbols.
UNTRANSLATED_OK = {"Gemini Team Chat", "UTC"}
CHECKED_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-confirm", "data-label"}
_DJANGO = re.compile(
    r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}"
    r"|{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}"
    r"|{#.*?#}|{{.*?}}|{%.*?%}",
    re.S,
)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in CHECKED_ATTRIBUTES and value:
                self._check(f"{name}=", value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check("", data)

    def _check(self, where: str, text: str) -> None:
        text = " ".join(text.replace("\x00", " ").split())
        words = text
        for name in UNTRANSLATED_OK:
            words = words.replace(name, " ")
        # Identifiers (a block's CSS class, a model id as an example) are not prose.
        words = re.sub(r"\b[a-z0-9.]+(?:-[a-z0-9.]+)+\b", " ", words)
        if re.search(r"[^\W\d_]{2,}", words):
            self.found.append(f"{where}{text!r}")


def untranslated_text(source: str) -> list[str]:
    """Visible text (and read-aloud attributes) left once Django's tags are taken out."""
    parser = _VisibleText()
    parser.feed(_DJANGO.sub("\x00", source))
    parser.close()
    return parser.found


def test_the_scan_finds_text_outside_translation_tags() -> None:
    source = (
        '{% load i18n %}<p title="Open it">{% translate "Fine" %}</p><b>Hello</b>'
        "<i>{% blocktranslate %}Also {{ fine }}{% endblocktranslate %}</i>{{ value }}"
    )
    assert untranslated_text(source) == ["title='Open it'", "'Hello'"]


def test_templates_show_no_text_outside_translation_tags() -> None:
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(NOT_YET):
            continue
        found = untranslated_text(path.read_text())
        problems += [f"{relative}: {text}" for text in found]
    assert not problems, "mark these for translation:\n" + "\n".join(problems)


# --- (c) the page scripts ---

SCRIPTS = ROOT / "static" / "js"
# A literal with a word in it, put where a person reads it, not through gettext().
_BARE_JS_TEXT = re.compile(
    r"""(?:\b(?:textContent|title|placeholder|ariaLabel)\s*[:=]\s*"""
    r"""|setAttribute\(\s*["'](?:aria-label|title|placeholder)["'],\s*"""
    r"""|\b(?:alert|confirm|prompt)\(\s*)"""
    r"""(["'`])[^"'`]*[A-Za-z]{2}[^"'`]*\1"""
)


def test_the_scan_finds_bare_text_in_scripts() -> None:
    assert _BARE_JS_TEXT.search('button.textContent = "Copied";')
    assert _BARE_JS_TEXT.search('el("h2", { textContent: "Share" })')
    assert _BARE_JS_TEXT.search("window.confirm(`Delete ${name}?`)")
    assert not _BARE_JS_TEXT.search('button.textContent = gettext("Copied");')
    assert not _BARE_JS_TEXT.search('close.textContent = "×";')


def test_page_scripts_put_no_bare_english_in_the_page() -> None:
    problems = []
    for path in sorted(SCRIPTS.rglob("*.js")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(NOT_YET):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _BARE_JS_TEXT.search(line):
                problems.append(f"{relative}:{number}: {line.strip()}")
    assert not problems, "wrap these in gettext():\n" + "\n".join(problems)
