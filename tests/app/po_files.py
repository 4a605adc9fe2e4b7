"""A small reader of gettext .po files, enough for the translation tests (no polib here)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str = ""
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.msgctxt, self.msgid, self.msgid_plural)


def read_po(path: Path) -> list[Entry]:
    """The entries of a catalogue, without its header and obsolete (#~) entries."""
    entries: list[Entry] = []
    entry, field_name = Entry(), ""
    strings: dict[str, str] = {}

    def finish() -> None:
        nonlocal entry, strings
        if "msgid" in strings:
            entry.msgid = strings.pop("msgid")
            entry.msgid_plural = strings.pop("msgid_plural", "")
            entry.msgctxt = strings.pop("msgctxt", "")
            keys = sorted(k for k in strings if k.startswith("msgstr"))
            entry.msgstr = [strings[k] for k in keys]
            if entry.msgid:  # the empty msgid is the header
                entries.append(entry)
        entry, strings = Entry(), {}

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if "msgid" in strings:
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            strings[field_name] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            if keyword in ("msgid", "msgctxt") and "msgid" in strings:
                finish()
            field_name = keyword.replace("[", "_").rstrip("]")
            strings[field_name] = ast.literal_eval(value)
    finish()
    return entries
