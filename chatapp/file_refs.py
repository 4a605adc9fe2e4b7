"""File references in turn content: `"attachment": uuid` items, found and checked here."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

# Deeper than any step the API sends; bounds every walk over stored or imported content.
MAX_DEPTH = 64


def canonical_uuid(value: object) -> str | None:
    """The canonical form of a uuid written in any form `uuid.UUID` reads, else None."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid_lib.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def referenced_files(items: Any, depth: int = 0) -> set[str]:
    """Every attachment uuid referenced anywhere in some turn content (canonical form)."""
    found: set[str] = set()
    if depth > MAX_DEPTH:
        return found
    if isinstance(items, dict):
        if canonical := canonical_uuid(items.get("attachment")):
            found.add(canonical)
        for value in items.values():
            if isinstance(value, dict | list):
                found |= referenced_files(value, depth + 1)
    elif isinstance(items, list):
        for value in items:
            if isinstance(value, dict | list):
                found |= referenced_files(value, depth + 1)
    return found
