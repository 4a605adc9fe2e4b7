"""Files of a turn: generated media saved out of the steps, and references expanded back.

A generated image (or audio, or video) is kept as a file (never as base64 in the database);
its step keeps an `"attachment": uuid` reference in place of `data`. Expanding the reference
restores the exact content item for a replayed history.

The upstream's `mime_type` is only a claim: the type is read from the bytes, as for uploads
(`chatapp.sniffing.detect`), and an image must decode. Anything else (SVG, HTML, a PDF, bad
base64) is never stored or served: the item becomes a short text note in the answer, which a
replayed history can send back as it is.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

from django.core.files.base import ContentFile

from .file_refs import referenced_files
from .models import Attachment, Turn
from .remote_files import uri_content, uses_files_api
from .sniffing import HEAD_BYTES, detect
from .uploads import UploadError, human_size, max_bytes, upstream_content, validate_image

# What a generated item may be kept as; the item's `type` says which it claims to be.
MEDIA_KINDS = ("image", "audio", "video")
_NOUNS = {"image": "image", "audio": "audio clip", "video": "video"}
_MIME = re.compile(r"[\w.+-]{1,50}/[\w.+-]{1,50}")


def save_generated(turn: Turn, step: dict[str, Any]) -> dict[str, Any]:
    """The step with each inline image, audio or video saved as the owner's file and
    referenced instead, or replaced by a note when its bytes are not what it claims."""
    content = step.get("content")
    if step.get("type") != "model_output" or not isinstance(content, list):
        return step
    saved = []
    for item in content:
        if (
            isinstance(item, dict)
            and item.get("type") in MEDIA_KINDS
            and isinstance(item.get("data"), str)
        ):
            item = _save_one(turn, item)
        saved.append(item)
    return {**step, "content": saved}


def _save_one(turn: Turn, item: dict[str, Any]) -> dict[str, Any]:
    try:
        raw = base64.b64decode(item["data"], validate=True)
    except (binascii.Error, ValueError):
        return _refused(item, "its data is not valid base64")
    detected = detect(raw[:HEAD_BYTES])
    if detected is None or detected[0] not in MEDIA_KINDS:
        return _refused(item, "its content is not an image, audio or video file")
    kind, mime_type, extension = detected
    if len(raw) > max_bytes(kind):
        return _refused(item, f"it is larger than {human_size(max_bytes(kind))}")
    if kind == "image":
        try:
            validate_image(io.BytesIO(raw))  # decodes: damaged, bomb or mislabelled is refused
        except UploadError:
            return _refused(item, "it could not be read as an image")
    attachment = Attachment(
        owner_id=turn.conversation.owner_id,
        turn=turn,
        kind=Attachment.Kind(kind),
        mime_type=mime_type,
        size=len(raw),
        generated=True,
        extension=extension,
        name=f"generated-{kind}{extension}",
    )
    attachment.file.save("generated", ContentFile(raw), save=True)
    # The type read from the bytes replaces the claim, for the page and for a replay.
    kept = {k: v for k, v in item.items() if k != "data"}
    kept.update(type=kind, mime_type=mime_type, attachment=str(attachment.uuid))
    return kept


def _refused(item: dict[str, Any], reason: str) -> dict[str, Any]:
    """A text note in place of generated media that is not kept (no bytes of it remain)."""
    noun = _NOUNS.get(str(item.get("type")), "file")
    claim = item.get("mime_type")
    said = f" ({claim})" if isinstance(claim, str) and _MIME.fullmatch(claim) else ""
    return {"type": "text", "text": f"\n\n*[A generated {noun}{said} was not kept: {reason}.]*\n\n"}


class Expander:
    """Turns attachment references back into API content (reads files, so run it in a thread).

    Edits and regenerations share their sibling's files, so files are found by reference,
    and only among the conversation owner's. Uploads that go by Files API uri are in `remote`:
    the generation makes them ACTIVE upstream (`chatapp.remote_files.ensure`) before sending.
    """

    def __init__(self, owner_id: int, turns: list[Turn]) -> None:
        wanted: set[str] = set()
        for turn in turns:
            wanted |= referenced_files([turn.user_input, turn.steps])
        found = Attachment.objects.filter(owner_id=owner_id, uuid__in=wanted) if wanted else []
        self.by_uuid = {str(a.uuid): a for a in found}
        self.remote = [a for a in self.by_uuid.values() if uses_files_api(a)]

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        reference = item.get("attachment")
        if not isinstance(reference, str):
            return item
        attachment = self.by_uuid.get(reference)
        if attachment is None:
            return {k: v for k, v in item.items() if k != "attachment"}
        if attachment.generated:
            with attachment.file.open("rb") as fh:
                data = base64.b64encode(fh.read()).decode()
            rest = {k: v for k, v in item.items() if k != "attachment"}
            return {**rest, "data": data}
        if uses_files_api(attachment):
            return uri_content(attachment)
        return upstream_content(attachment)
