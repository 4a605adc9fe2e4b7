"""Files of a turn: generated images saved out of the steps, and references expanded back.

A generated image is kept as a file (never as base64 in the database); its step keeps an
`"attachment": uuid` reference in place of `data`. Expanding the reference restores the
exact content item for a replayed history.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import uuid
from typing import Any

from django.core.files.base import ContentFile

from .models import Attachment, Turn

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


def save_generated(turn: Turn, step: dict[str, Any]) -> dict[str, Any]:
    """The step with each inline image saved as the owner's file and referenced instead."""
    content = step.get("content")
    if step.get("type") != "model_output" or not isinstance(content, list):
        return step
    saved = []
    for item in content:
        data = item.get("data") if isinstance(item, dict) else None
        if item.get("type") == "image" and isinstance(data, str):
            try:
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                saved.append(item)
                continue
            mime = str(item.get("mime_type") or "image/png")
            attachment = Attachment(
                owner_id=turn.conversation.owner_id,
                turn=turn,
                kind=Attachment.Kind.IMAGE,
                mime_type=mime,
                size=len(raw),
                generated=True,
                extension=_EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin",
                name="generated-image" + (_EXTENSIONS.get(mime) or ""),
            )
            attachment.file.save("generated", ContentFile(raw), save=True)
            item = {k: v for k, v in item.items() if k != "data"}
            item["attachment"] = str(attachment.uuid)
        saved.append(item)
    return {**step, "content": saved}


def references(turns: list[Turn]) -> set[str]:
    """Every attachment a list of turns refers to, in their inputs or their steps."""
    found: set[str] = set()
    for turn in turns:
        items = list(turn.user_input)
        for step in turn.steps:
            items += step.get("content") or [] if isinstance(step, dict) else []
        found |= {i["attachment"] for i in items if isinstance(i, dict) and i.get("attachment")}
    return found


def expander(owner_id: int, turns: list[Turn]) -> Any:
    """A function that turns attachment references back into API content (reads files).

    Edits and regenerations share their sibling's files, so files are found by reference,
    and only among the conversation owner's.
    """
    from .uploads import upstream_content

    wanted = {r for r in references(turns) if _is_uuid(r)}
    attachments = Attachment.objects.filter(owner_id=owner_id, uuid__in=wanted) if wanted else []
    by_uuid = {str(a.uuid): a for a in attachments}

    def expand(item: dict[str, Any]) -> dict[str, Any]:
        reference = item.get("attachment")
        if not isinstance(reference, str):
            return item
        attachment = by_uuid.get(reference)
        if attachment is None:
            return {k: v for k, v in item.items() if k != "attachment"}
        if attachment.generated:
            with attachment.file.open("rb") as fh:
                data = base64.b64encode(fh.read()).decode()
            rest = {k: v for k, v in item.items() if k != "attachment"}
            return {**rest, "data": data}
        return upstream_content(attachment)

    return expand


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
