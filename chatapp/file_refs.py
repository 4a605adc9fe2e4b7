"""File references in turn content, and the URLs that serve them.

Turns keep a file as an `"attachment": uuid` item (an upload in `user_input`, generated
media in `steps`). This module is the one place that reads such a reference (`as_uuid`,
`canonical_uuid`), finds them in content (`referenced_files`) and builds their URLs
(`FileUrls`): the owner's `/files/<uuid>`, a share link's `/s/<token>/files/<uuid>`, or an
export's absolute URL. Rendering takes the builder, so each page links to its own route.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any

# Deeper than any step the API sends; bounds every walk over stored or imported content.
MAX_DEPTH = 64


def as_uuid(value: object) -> uuid_lib.UUID | None:
    """The uuid a reference names, in any form `uuid.UUID` reads, else None."""
    if not isinstance(value, str):
        return None
    try:
        return uuid_lib.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def canonical_uuid(value: object) -> str | None:
    """The canonical text of the uuid a reference names (`str(uuid)`), else None."""
    found = as_uuid(value)
    return str(found) if found is not None else None


@dataclass(frozen=True)
class FileUrls:
    """Builds the URL of a referenced file under `prefix` (hashable, so renderings cache)."""

    prefix: str

    def __call__(self, reference: object) -> str | None:
        canonical = canonical_uuid(reference)
        return self.prefix + canonical if canonical else None

    @classmethod
    def shared(cls, token: str) -> FileUrls:
        return cls(f"/s/{token}/files/")

    @classmethod
    def absolute(cls, base_url: str) -> FileUrls:
        return cls(base_url + OWNER.prefix)


# The owner's own files, served by `chatapp.file_views.serve`.
OWNER = FileUrls("/files/")


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
