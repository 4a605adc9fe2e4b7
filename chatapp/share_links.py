"""Share links: a frozen copy of one branch (root to a chosen turn), public and read-only at
`/s/<token>`, with only that branch's own files. Revoking is final.

The page is rendered once, when the link is made, and served as stored: a view costs one
query, no Markdown. What a link may hold is capped (`SHARE_MAX_BYTES`); anonymous views are
throttled per address (`chatapp.share_throttle`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import uuid as uuid_lib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models.signals import post_delete
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from .audit import record as audit_record
from .branches import Tree, turn_id
from .file_refs import FileUrls, referenced_files
from .models import Attachment, Conversation, ShareLink, Turn
from .payloads import turn_payload
from .user_errors import UserError

audit = logging.getLogger("chatapp.audit")

MAX_ACTIVE_LINKS = 50
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# The fields of a turn a shared page shows, frozen at publish time.
_FROZEN = (
    "user_input",
    "user_text",
    "model",
    "status",
    "steps",
    "answer_text",
    "usage",
    "error",
    "structured",
    "thinking_ms",
)


class ShareError(UserError):
    """A request about share links that cannot be done, with a message for the owner."""


def record_share_event(user: Any, action: str, link: ShareLink) -> None:
    """The audit hook for share links: logged, and kept as an `AuditEvent`."""
    audit.info(
        "share %s by user %s: link %s of conversation %s (%d turns)",
        action,
        getattr(user, "pk", None),
        link.pk,
        link.conversation_id,
        len(link.turn_ids),
        extra={"action": f"share.{action}", "link": link.pk, "user": getattr(user, "pk", None)},
    )
    # Persisted too, in the admin's audit log (chatapp.audit).
    audit_record(
        user, f"share.{action}", f"share link {link.pk}", conversation=link.conversation_id
    )


# --- share links ---


def shared_branch(conversation: Conversation, leaf: str | int | None) -> list[Turn]:
    """The branch to share: root to `leaf`, or the branch the owner looked at last."""
    tree = Tree.of(conversation.turns.all())
    if leaf in (None, ""):
        branch = tree.branch(conversation.current_turn_id)
    else:
        wanted = turn_id(leaf)
        turn = tree.by_id.get(wanted) if wanted is not None else None
        if turn is None:
            raise ShareError(gettext("That message is not part of this conversation."))
        branch = tree.path_to(turn)
    if not branch:
        raise ShareError(gettext("There is nothing to share yet: send a message first."))
    if any(t.is_active for t in branch):
        raise ShareError(gettext("Wait until the answer is finished, then share."), status=409)
    return branch


def freeze(turn: Turn) -> dict[str, Any]:
    frozen = {name: getattr(turn, name) for name in _FROZEN}
    frozen.update(id=turn.pk, parent=turn.parent_id, created=turn.created.isoformat())
    return frozen


def thaw(link: ShareLink, frozen: dict[str, Any]) -> Turn:
    """An unsaved Turn with the frozen fields, for the page's usual rendering."""
    fields = {name: frozen.get(name) for name in _FROZEN}
    created = parse_datetime(str(frozen.get("created") or "")) or link.created
    return Turn(
        pk=frozen.get("id"),
        conversation_id=link.conversation_id,
        parent_id=frozen.get("parent"),
        created=created,
        **{k: v for k, v in fields.items() if v is not None},
    )


def create_link(user: Any, conversation: Conversation, leaf: str | int | None) -> ShareLink:
    branch = shared_branch(conversation, leaf)
    active = conversation.share_links.filter(revoked__isnull=True).count()
    if active >= MAX_ACTIVE_LINKS:
        raise ShareError(
            gettext("This conversation already has %s active links: revoke some first.") % active,
            409,
        )
    link = ShareLink(
        # Chosen here, not on save: the page is rendered first, and its file URLs hold it.
        token=secrets.token_urlsafe(24),
        conversation=conversation,
        title=conversation.title,
        turn_ids=[t.pk for t in branch],
        simulated=settings.USE_SIMULATOR,
        preview=branch[-1].user_text[:120] if branch else "",
    )
    snapshot = [freeze(t) for t in branch]
    _remember(link, snapshot, "")
    _render(link)
    stored = json.dumps(_content(link), ensure_ascii=False, default=str).encode()
    link.content.save("content.json", ContentFile(stored), save=False)
    link.save()
    record_share_event(user, "create", link)
    return link


def _content(link: ShareLink) -> dict[str, Any]:
    """The link's frozen branch and page: its stored file, or (older links) its columns."""
    cached: dict[str, Any] | None = getattr(link, "_content", None)
    if cached is None:
        if link.content:
            with link.content.open("rb") as stored:
                cached = json.loads(stored.read())
        else:
            cached = {"snapshot": link.snapshot, "html": link.html}
        link._content = cached
    return cached


def _remember(link: ShareLink, snapshot: list[dict[str, Any]], html: str) -> None:
    link._content = {"snapshot": snapshot, "html": html}


def frozen_turns(link: ShareLink) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = _content(link)["snapshot"]
    return turns


def _render(link: ShareLink) -> None:
    """Fill in the link's stored page and file list, or refuse a branch over the cap.

    The only place a shared page's turns are rendered; its cost is bounded by the cap, not by
    what the owner's conversation holds. Only the turns are stored: the page around them (its
    static file URLs change with each deploy) is a small template rendered per view."""
    cap = settings.SHARE_MAX_BYTES
    snapshot = frozen_turns(link)
    frozen_size = len(json.dumps(snapshot, ensure_ascii=False, default=str).encode())
    # The page shows at least the text of each question and answer: a branch whose text is
    # over the cap is refused before any Markdown is rendered.
    text_size = sum(
        len(str(f.get("user_text") or "")) + len(str(f.get("answer_text") or "")) for f in snapshot
    )
    if max(frozen_size, text_size) > cap:
        raise _too_large(cap)
    parts, size = [], 0
    for html in _turns_html(link):
        size += len(html.encode())
        if size > cap:
            raise _too_large(cap)
        parts.append(html)
    _remember(link, snapshot, "".join(parts))
    link.files = sorted(link_files(link))
    link.rendered = timezone.now()


def _too_large(cap: int) -> ShareError:
    return ShareError(
        gettext(
            "This branch is too large to share: a share link holds at most %s. "
            "Share an earlier message, or export the conversation instead."
        )
        % _megabytes(cap),
        413,
    )


def _megabytes(size: int) -> str:
    if size < 2**20:
        return f"{size / 2**10:.3g} KB"
    return f"{size / 2**20:.3g} MB"


def stored_page(link: ShareLink) -> str:
    """The link's rendered turns, as stored when it was made."""
    _render_once(link)
    html: str = _content(link)["html"]
    return html


def _render_once(link: ShareLink) -> None:
    """Render and store a link made before pages were stored (on its first view, once); one
    over the cap keeps a notice instead of its turns."""
    if link.rendered is not None:
        return
    try:
        _render(link)
    except ShareError:
        _remember(link, frozen_turns(link), render_to_string("share/_too_large.html"))
        link.files = []
        link.rendered = timezone.now()
    link.html = _content(link)["html"]
    ShareLink.objects.filter(pk=link.pk, rendered__isnull=True).update(
        html=link.html, files=link.files, rendered=link.rendered
    )


def active_link(token: str, defer: tuple[str, ...] = ()) -> ShareLink | None:
    """The link behind a public URL; None for unknown, revoked or malformed tokens alike.

    `defer` names fields the caller does not need (the snapshot and the page are big)."""
    if not TOKEN.fullmatch(token):
        return None
    link: ShareLink | None = (
        ShareLink.objects.filter(
            token=token, revoked__isnull=True, conversation__owner__is_active=True
        )
        .select_related("conversation")
        .defer(*defer)
        .first()
    )
    return link


def owned_link(user: Any, token: str) -> ShareLink | None:
    if not user.is_authenticated or not TOKEN.fullmatch(token):
        return None
    link: ShareLink | None = (
        ShareLink.objects.filter(token=token, conversation__owner=user).defer("html").first()
    )
    return link


def revoke(user: Any, link: ShareLink) -> ShareLink:
    if link.revoked is None:
        ShareLink.objects.filter(pk=link.pk, revoked__isnull=True).update(revoked=timezone.now())
        link.refresh_from_db(fields=["revoked"])
        record_share_event(user, "revoke", link)
    return link


def link_json(link: ShareLink, base_url: str) -> dict[str, Any]:
    preview = link.preview
    if not preview and not link.content and link.snapshot:  # a link made before previews
        preview = str(link.snapshot[-1].get("user_text") or "")[:120]
    return {
        "token": link.token,
        "url": base_url + link.get_absolute_url(),
        "title": link.title,
        "turns": len(link.turn_ids),
        "last_message": preview,
        "created": link.created.isoformat(),
        "revoked": link.revoked.isoformat() if link.revoked else None,
        "active": link.is_active,
    }


def link_files(link: ShareLink) -> set[str]:
    found: set[str] = set()
    for frozen in frozen_turns(link):
        found |= referenced_files([frozen.get("user_input"), frozen.get("steps")])
    return found


def shared_file(link: ShareLink, uuid: uuid_lib.UUID) -> Attachment | None:
    """A file of the shared branch: referenced by one of its turns and its owner's."""
    _render_once(link)  # a link made before pages were stored learns its files with it
    if str(uuid) not in link.files:
        return None
    found: Attachment | None = Attachment.objects.filter(
        uuid=uuid, owner_id=link.conversation.owner_id
    ).first()
    return found


def _turns_html(link: ShareLink) -> Iterator[str]:
    """Each shared turn rendered with the chat's own templates, without its controls; its
    files link to the share link's own file URL."""
    file_url = FileUrls.shared(link.token)
    for frozen in frozen_turns(link):
        payload = turn_payload(thaw(link, frozen), file_url=file_url)
        del payload["html"]  # the chat page's rendering, with its controls
        yield render_to_string(
            "chat/_turn.html",
            {"t": payload, "using_simulator": link.simulated, "read_only": True},
        )


def _delete_content(sender: type[ShareLink], instance: ShareLink, **kwargs: Any) -> None:
    """A deleted link (or conversation) takes its stored copy with it."""
    if instance.content:
        instance.content.delete(save=False)


post_delete.connect(
    _delete_content, sender=ShareLink, dispatch_uid="chatapp.share_links.delete_content"
)
