"""Share links, export and import of conversations.

- A share link is a frozen copy of one branch (root to a chosen turn), public and read-only at
  `/s/<token>`, with only that branch's own files. Revoking is final. The page is rendered once,
  when the link is made, and served as stored: a view costs one query, no Markdown. What a link
  may hold is capped (`SHARE_MAX_BYTES`), and anonymous views are throttled per address.
- Export: the branch on screen as Markdown, or the whole tree as JSON (steps exactly as stored).
- Import: a JSON export becomes a new conversation of the importer. Everything in the file is
  untrusted: its shape, sizes, parent references, statuses and dates are checked, upstream
  interaction ids are dropped (they belong to whoever made the file), and so are references to
  files the importer does not own. What PostgreSQL cannot store is refused (numbers past a
  double) or replaced (NUL removed, a lone surrogate becomes U+FFFD). A refusal names the field
  (`ImportRefused.field`, a path like `turns[2].created`); no file gives a 500
  (tests/security/test_import_fuzz.py).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import secrets
import time
import uuid as uuid_lib
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from .audit import record as audit_record
from .branches import Tree
from .limits import client_ip
from .models import Attachment, Conversation, ShareLink, Turn
from .payloads import turn_payload
from .rendering import plain_text

audit = logging.getLogger("chatapp.audit")

EXPORT_FORMAT = "gemini-team-chat.conversation"
EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_TURNS = 5_000
# Deeper than any step the API sends; bounds every walk over imported JSON.
MAX_IMPORT_DEPTH = 64
MAX_ACTIVE_LINKS = 50
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Markdown that only works at the start of a line: headings, lists, quotes, fences, tables.
_BLOCK_START = re.compile(r"\s*(#|[-*+] |\d+[.)] |>|`{3}|~{3}|\||!\[)|    ")
_FILE_SRC = re.compile(r"/files/([0-9a-fA-F-]{32,36})")
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
)


class ShareError(Exception):
    """A request about share links that cannot be done, with a message for the owner."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ImportRefused(Exception):
    """An import file that cannot become a conversation, with a message for the importer and
    the field at fault (`file` when it is the file as a whole)."""

    def __init__(self, message: str, status: int = 400, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


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
        turn = tree.by_id.get(int(leaf)) if _is_id(str(leaf)) else None
        if turn is None:
            raise ShareError("That message is not part of this conversation.")
        branch = tree.path_to(turn)
    if not branch:
        raise ShareError("There is nothing to share yet: send a message first.")
    if any(t.is_active for t in branch):
        raise ShareError("Wait until the answer is finished, then share.", status=409)
    return branch


def _is_id(value: str) -> bool:
    # Not str.isdigit(): it accepts "²", which int() refuses.
    return value.isascii() and value.isdigit() and len(value) < 19


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
            f"This conversation already has {active} active links: revoke some first.", 409
        )
    link = ShareLink(
        # Chosen here, not on save: the page is rendered first, and its file URLs hold it.
        token=secrets.token_urlsafe(24),
        conversation=conversation,
        title=conversation.title,
        turn_ids=[t.pk for t in branch],
        snapshot=[freeze(t) for t in branch],
        simulated=settings.USE_SIMULATOR,
    )
    _render(link)
    link.save()
    record_share_event(user, "create", link)
    return link


def _render(link: ShareLink) -> None:
    """Fill in the link's stored page and file list, or refuse a branch over the cap.

    The only place a shared page's turns are rendered; its cost is bounded by the cap, not by
    what the owner's conversation holds. Only the turns are stored: the page around them (its
    static file URLs change with each deploy) is a small template rendered per view."""
    cap = settings.SHARE_MAX_BYTES
    frozen_size = len(json.dumps(link.snapshot, ensure_ascii=False, default=str).encode())
    # The page shows at least the text of each question and answer: a branch whose text is
    # over the cap is refused before any Markdown is rendered.
    text_size = sum(
        len(str(f.get("user_text") or "")) + len(str(f.get("answer_text") or ""))
        for f in link.snapshot
    )
    if max(frozen_size, text_size) > cap:
        raise _too_large(cap)
    parts, size = [], 0
    for html in _turns_html(link):
        size += len(html.encode())
        if size > cap:
            raise _too_large(cap)
        parts.append(html)
    link.html = "".join(parts)
    link.files = sorted(link_files(link))
    link.rendered = timezone.now()


def _too_large(cap: int) -> ShareError:
    return ShareError(
        f"This branch is too large to share: a share link holds at most {_megabytes(cap)}. "
        "Share an earlier message, or export the conversation instead.",
        413,
    )


def _megabytes(size: int) -> str:
    if size < 2**20:
        return f"{size / 2**10:.3g} KB"
    return f"{size / 2**20:.3g} MB"


def stored_page(link: ShareLink) -> str:
    """The link's rendered turns, as stored when it was made."""
    _render_once(link)
    html: str = link.html
    return html


def _render_once(link: ShareLink) -> None:
    """Render and store a link made before pages were stored (on its first view, once); one
    over the cap keeps a notice instead of its turns."""
    if link.rendered is not None:
        return
    try:
        _render(link)
    except ShareError:
        link.html = render_to_string("share/_too_large.html")
        link.files = []
        link.rendered = timezone.now()
    ShareLink.objects.filter(pk=link.pk, rendered__isnull=True).update(
        html=link.html, files=link.files, rendered=link.rendered
    )


def active_link(token: str, defer: tuple[str, ...] = ()) -> ShareLink | None:
    """The link behind a public URL; None for unknown, revoked or malformed tokens alike.

    `defer` names fields the caller does not need (the snapshot and the page are big)."""
    if not TOKEN.fullmatch(token):
        return None
    return (
        ShareLink.objects.filter(
            token=token, revoked__isnull=True, conversation__owner__is_active=True
        )
        .select_related("conversation")
        .defer(*defer)
        .first()
    )


def owned_link(user: Any, token: str) -> ShareLink | None:
    if not user.is_authenticated or not TOKEN.fullmatch(token):
        return None
    return ShareLink.objects.filter(token=token, conversation__owner=user).defer("html").first()


def throttle_wait(request: HttpRequest) -> int:
    """Seconds before this anonymous visitor may see another shared page; 0 when they may now.

    A count per address and clock minute in the cache (Redis with several workers), like the
    sign-in throttle in `chatapp.limits`. Signed-in people are not counted."""
    limit = settings.SHARE_VIEWS_PER_MINUTE
    if limit <= 0 or request.user.is_authenticated:
        return 0
    now = time.time()
    minute = int(now // 60)
    key = f"share-view:{_visitor(client_ip(request))}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= limit:
        return 0
    return max(math.ceil((minute + 1) * 60 - now), 1)


def _visitor(ip: str | None) -> str:
    """Who is counted: an IPv4 address, or an IPv6 /64 (one host usually holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def revoke(user: Any, link: ShareLink) -> ShareLink:
    if link.revoked is None:
        ShareLink.objects.filter(pk=link.pk, revoked__isnull=True).update(revoked=timezone.now())
        link.refresh_from_db(fields=["revoked"])
        record_share_event(user, "revoke", link)
    return link


def link_json(link: ShareLink, base_url: str) -> dict[str, Any]:
    last = link.snapshot[-1] if link.snapshot else {}
    return {
        "token": link.token,
        "url": base_url + link.get_absolute_url(),
        "title": link.title,
        "turns": len(link.turn_ids),
        "last_message": str(last.get("user_text") or "")[:120],
        "created": link.created.isoformat(),
        "revoked": link.revoked.isoformat() if link.revoked else None,
        "active": link.is_active,
    }


def referenced_files(items: Any, depth: int = 0) -> set[str]:
    """Every attachment uuid referenced anywhere in some turn content (canonical form)."""
    found: set[str] = set()
    if depth > MAX_IMPORT_DEPTH:
        return found
    if isinstance(items, dict):
        reference = items.get("attachment")
        if isinstance(reference, str) and (canonical := _canonical_uuid(reference)):
            found.add(canonical)
        for value in items.values():
            if isinstance(value, dict | list):
                found |= referenced_files(value, depth + 1)
    elif isinstance(items, list):
        for value in items:
            if isinstance(value, dict | list):
                found |= referenced_files(value, depth + 1)
    return found


def link_files(link: ShareLink) -> set[str]:
    found: set[str] = set()
    for frozen in link.snapshot:
        found |= referenced_files([frozen.get("user_input"), frozen.get("steps")])
    return found


def shared_file(link: ShareLink, uuid: uuid_lib.UUID) -> Attachment | None:
    """A file of the shared branch: referenced by one of its turns and its owner's."""
    _render_once(link)  # a link made before pages were stored learns its files with it
    if str(uuid) not in link.files:
        return None
    return Attachment.objects.filter(uuid=uuid, owner_id=link.conversation.owner_id).first()


def _turns_html(link: ShareLink) -> Iterator[str]:
    """Each shared turn rendered with the chat's own templates, without its controls."""
    prefix = f"/s/{link.token}/files/"
    for frozen in link.snapshot:
        payload = turn_payload(thaw(link, frozen))
        del payload["html"]  # the chat page's rendering, with its controls
        payload = _rewrite_files(payload, prefix)
        yield render_to_string(
            "chat/_turn.html",
            {"t": payload, "using_simulator": link.simulated, "read_only": True},
        )


def _rewrite_files(value: Any, prefix: str) -> Any:
    """Point the file links of a payload (`src` keys) at the link's own file URL."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            match = _FILE_SRC.fullmatch(item) if key == "src" and isinstance(item, str) else None
            canonical = _canonical_uuid(match.group(1)) if match else None
            out[key] = prefix + canonical if canonical else _rewrite_files(item, prefix)
        return out
    if isinstance(value, list):
        return [_rewrite_files(item, prefix) for item in value]
    return value


# --- export ---


def export_filename(conversation: Conversation, extension: str) -> str:
    slug = slugify(conversation.title)[:80].strip("-") or f"conversation-{conversation.pk}"
    return f"{slug}.{extension}"


def export_data(conversation: Conversation) -> dict[str, Any]:
    """The whole tree as JSON: every turn, its steps exactly as stored."""
    turns = sorted(conversation.turns.all(), key=lambda t: (t.created, t.pk))
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported": timezone.now().isoformat(),
        "title": conversation.title,
        "created": conversation.created.isoformat(),
        "settings": {
            "model": conversation.model,
            "system_instruction": conversation.system_instruction,
            "temperature": conversation.temperature,
            "thinking_level": conversation.thinking_level,
            "stateless": conversation.stateless,
            "google_search": conversation.google_search,
            "url_context": conversation.url_context,
            "code_execution": conversation.code_execution,
            "tools": conversation.tools,
            "response_schema": conversation.response_schema,
            "background": conversation.background,
        },
        "current_turn": conversation.current_turn_id,
        "turns": [
            {
                "id": t.pk,
                "parent": t.parent_id,
                "model": t.model,
                "user_input": t.user_input,
                "user_text": t.user_text,
                "steps": t.steps,
                "answer_text": t.answer_text,
                "status": t.status,
                "usage": t.usage,
                "error": t.error,
                "structured": t.structured,
                "interaction_id": t.interaction_id,
                "stored": t.stored,
                "created": t.created.isoformat(),
                "finished": t.finished.isoformat() if t.finished else None,
            }
            for t in turns
        ],
    }


def export_markdown(conversation: Conversation, base_url: str, leaf: str | None = None) -> str:
    """The branch on screen (or the one ending at `leaf`) as a Markdown document."""
    tree = Tree.of(conversation.turns.all())
    if leaf and _is_id(leaf) and int(leaf) in tree.by_id:
        branch = tree.path_to(tree.by_id[int(leaf)])
    else:
        branch = tree.branch(conversation.current_turn_id)
    title = _one_line(conversation.title) or "Conversation"
    lines = [f"# {title}", ""]
    for turn in branch:
        lines += _markdown_turn(turn, base_url)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_turn(turn: Turn, base_url: str) -> list[str]:
    out = [_labelled("You", turn.user_text), ""]
    files = [
        _media_link(i, base_url)
        for i in turn.user_input
        if isinstance(i, dict) and i.get("type") != "text"
    ]
    out += [f"- {f}" for f in files if f]
    if files:
        out.append("")
    answer: list[str] = []
    sources: dict[str, tuple[int, str]] = {}
    for step in turn.steps:
        if not isinstance(step, dict):
            continue
        kind = str(step.get("type") or "")
        if kind == "model_output":
            for item in step.get("content") or []:
                if not isinstance(item, dict):
                    continue
                if item.get("type") == "text":
                    answer.append(_cited(str(item.get("text") or ""), item, sources))
                elif link := _media_link(item, base_url):
                    answer.append(link)
        elif kind.endswith("_call"):
            answer.append(_fenced(_call_text(step, kind), "python" if "code" in kind else ""))
        elif kind.endswith("_result") and (result := _result_text(step)):
            answer.append(_fenced(result, "text"))
    if turn.error and isinstance(turn.error, dict):
        answer.append(f"_Error: {_one_line(str(turn.error.get('message') or ''))}_")
    elif turn.status not in (Turn.Status.COMPLETED, Turn.Status.INCOMPLETE) and not answer:
        answer.append(f"_(no answer: {turn.status})_")
    body = "\n\n".join(a for a in answer if a.strip())
    out += [_labelled(_one_line(turn.model) or "Model", body), ""]
    if sources:
        out.append("Sources:")
        for url, (n, title) in sorted(sources.items(), key=lambda s: s[1][0]):
            out.append(f"{n}. [{_link_label(title or url)}](<{url}>)")
        out.append("")
    out += ["---", ""]
    return out


def _labelled(label: str, body: str) -> str:
    """`**label:** text`, or the label on its own line when the text starts with a block."""
    body = body.strip("\n")
    separator = "\n\n" if _BLOCK_START.match(body) else " "
    return f"**{_link_label(label)}:**{separator}{body}".rstrip()


def _cited(text: str, item: dict[str, Any], sources: dict[str, tuple[int, str]]) -> str:
    """The text with `[n]` after each cited span (annotation offsets are UTF-8 bytes)."""
    raw = text.encode("utf-8")
    marks: list[tuple[int, int]] = []
    for ann in item.get("annotations") or []:
        if not isinstance(ann, dict) or ann.get("type") not in ("url_citation", "place_citation"):
            continue
        url = ann.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        if url not in sources:
            sources[url] = (len(sources) + 1, _one_line(str(ann.get("title") or "")))
        end = ann.get("end_index")
        if isinstance(end, int) and 0 <= end <= len(raw):
            while end < len(raw) and raw[end] & 0xC0 == 0x80:
                end += 1  # never cut a character in two
            marks.append((end, sources[url][0]))
    for end, n in sorted(set(marks), reverse=True):
        raw = raw[:end] + f"[{n}]".encode() + raw[end:]
    return raw.decode("utf-8")


def _media_link(item: dict[str, Any], base_url: str) -> str:
    kind = str(item.get("type") or "file")
    label = _link_label(str(item.get("name") or kind))
    reference = item.get("attachment")
    if isinstance(reference, str) and _canonical_uuid(reference):
        url = f"{base_url}/files/{_canonical_uuid(reference)}"
        return f"![{label}]({url})" if kind == "image" else f"[{label}]({url})"
    uri = item.get("uri")
    if isinstance(uri, str) and uri.startswith(("https://", "http://")):
        return f"[{label}](<{uri}>)"
    if kind in ("image", "audio", "video", "document"):
        return f"({kind}, {item.get('mime_type') or 'inline data'}, not exported)"
    return ""


def _call_text(step: dict[str, Any], kind: str) -> str:
    arguments = step.get("arguments")
    if kind == "code_execution_call" and isinstance(arguments, dict):
        return _short(str(arguments.get("code") or ""), 2_000)
    name = step.get("name") or kind.removesuffix("_call")
    return f"{name}({_short(json.dumps(arguments, ensure_ascii=False, default=str), 500)})"


def _result_text(step: dict[str, Any]) -> str:
    result = step.get("result")
    if isinstance(result, list):
        texts = [r.get("text") for r in result if isinstance(r, dict) and r.get("type") == "text"]
        if texts:
            return _short("".join(str(t) for t in texts), 500)
    if isinstance(result, str):
        return _short(result, 500)
    return ""


def _fenced(text: str, language: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _link_label(text: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", _one_line(text))


# --- import ---


def import_conversation(user: Any, raw: bytes) -> tuple[Conversation, list[str]]:
    """A new conversation of `user` from the bytes of a JSON export, and notes about it."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            f"That file is too large: imports are limited to {MAX_IMPORT_BYTES // 2**20} MB.", 413
        )
    data = _parse(raw)
    notes: list[str] = []
    conv_fields = _conversation_fields(data, notes)
    turns = _turn_list(data)
    order = _creation_order(turns)
    owned = _owned_files(user, turns)
    dropped = 0
    now = timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(owner=user, **conv_fields)
        new_ids: dict[Any, int] = {}
        for level in order:
            rows = []
            for index, item in level:
                user_input, lost_in = _drop_files(item["user_input"], owned)
                steps, lost_out = _drop_files(item["steps"], owned)
                dropped += lost_in + lost_out
                user_text = item["user_text"]
                if lost_in:
                    user_text = (user_text + "\n\n" + _dropped_note(lost_in)).strip()
                rows.append(
                    Turn(
                        conversation=conversation,
                        parent_id=new_ids[item["parent"]] if item["parent"] is not None else None,
                        user_input=user_input,
                        user_text=user_text,
                        model=item["model"] or conversation.model,
                        steps=steps,
                        answer_text=plain_text(steps),
                        status=item["status"],
                        usage=item["usage"],
                        error=item["error"],
                        structured=item["structured"],
                        # Upstream state of whoever made the file: the next message replays.
                        interaction_id="",
                        stored=False,
                        created=item["created"] or now + timedelta(microseconds=index),
                        finished=item["finished"],
                    )
                )
            created = Turn.objects.bulk_create(rows)
            for (_, item), turn in zip(level, created, strict=True):
                new_ids[item["id"]] = turn.pk
        current = data.get("current_turn")
        if isinstance(current, int | str) and not isinstance(current, bool) and current in new_ids:
            conversation.current_turn_id = new_ids[current]
            conversation.save(update_fields=["current_turn"])
    if dropped:
        notes.append(
            f"{dropped} file{'s' if dropped != 1 else ''} referenced in the export "
            "are not yours here and were left out."
        )
    audit.info(
        "import by user %s: conversation %s (%d turns)",
        user.pk,
        conversation.pk,
        len(turns),
        extra={"action": "conversation.import", "user": user.pk},
    )
    return conversation, notes


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("That file is not UTF-8 text: export a conversation as JSON.") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            f"That file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except (ValueError, RecursionError) as exc:
        detail = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ImportRefused(f"That file is not valid JSON: {detail}.") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ImportRefused(
            "That file is not a conversation exported from this app (use “Export JSON”): "
            "its “format” is not " + json.dumps(EXPORT_FORMAT) + ".",
            field="format" if isinstance(data, dict) else "file",
        )
    version = data.get("version")
    if version != EXPORT_VERSION or isinstance(version, bool):
        raise ImportRefused(
            f"Unsupported export version {json.dumps(version)[:40]}: this app reads version "
            f"{EXPORT_VERSION}.",
            field="version",
        )
    try:
        return _clean(data, 0)  # type: ignore[no-any-return]
    except _TooDeep:
        raise ImportRefused(
            f"That file is nested too deeply (limit {MAX_IMPORT_DEPTH} levels)."
        ) from None


class _TooDeep(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(literal: str) -> float:
    # 1e400 reads as inf, which JSON (and so PostgreSQL's jsonb) cannot hold.
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is too large")
    return value


# Lone surrogates (a "\ud800" escape without its pair): UTF-8 cannot encode them, so neither
# SQLite nor PostgreSQL can store them. json.loads has already joined the valid pairs.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: Any, depth: int) -> Any:
    """A copy depth-checked, without NUL characters (PostgreSQL refuses them) and with each
    lone surrogate replaced by U+FFFD."""
    if depth > MAX_IMPORT_DEPTH:
        raise _TooDeep
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def _clean_text(text: str) -> str:
    text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _conversation_fields(data: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    from .structured import check_schema
    from .tools import available as available_tools

    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise ImportRefused("The title must be a string.", field="title")
    options = data.get("settings") or {}
    if not isinstance(options, dict):
        raise ImportRefused("“settings” must be an object.", field="settings")
    fields: dict[str, Any] = {"title": _one_line(title or "")[:200] or "Imported conversation"}
    model = options.get("model")
    offered = [name for names in settings.CHAT_MODELS.values() for name in names]
    if isinstance(model, str) and model in offered:
        fields["model"] = model
    else:
        fields["model"] = settings.DEFAULT_MODEL
        if model:
            name = str(model)[:100]
            notes.append(f"The model {name!r} is not offered here: using {fields['model']}.")
    instruction = options.get("system_instruction")
    if isinstance(instruction, str):
        fields["system_instruction"] = instruction[:100_000]
    temperature = options.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        if 0 <= temperature <= 2:
            fields["temperature"] = float(temperature)
    level = options.get("thinking_level")
    if level in ("", "minimal", "low", "medium", "high"):
        fields["thinking_level"] = level
    for flag in ("stateless", "google_search", "url_context", "code_execution", "background"):
        if isinstance(options.get(flag), bool):
            fields[flag] = options[flag]
    tools = options.get("tools")
    if isinstance(tools, list):
        names = {t.name for t in available_tools()}
        fields["tools"] = [t for t in tools if isinstance(t, str) and t in names]
        missing = [str(t)[:60] for t in tools if t not in fields["tools"]]
        if missing:
            notes.append("Tools not available here were switched off: " + ", ".join(missing))
    schema = options.get("response_schema")
    if schema is not None:
        if check_schema(schema):
            notes.append("The JSON schema for structured answers was not usable and was left out.")
        else:
            fields["response_schema"] = schema
    return fields


def _turn_list(data: dict[str, Any]) -> list[dict[str, Any]]:
    turns = data.get("turns")
    if not isinstance(turns, list):
        raise ImportRefused("“turns” must be a list.", field="turns")
    if len(turns) > MAX_IMPORT_TURNS:
        raise ImportRefused(
            f"That conversation has {len(turns):,} turns: imports are limited to "
            f"{MAX_IMPORT_TURNS:,}.",
            field="turns",
        )
    statuses = set(Turn.Status.values)
    checked: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for index, item in enumerate(turns):
        where, path = f"Turn {index + 1}", f"turns[{index}]"
        if not isinstance(item, dict):
            raise ImportRefused(f"{where} is not an object.", field=path)
        key = item.get("id")
        if not _is_key(key):
            raise ImportRefused(
                f"{where} has no usable “id” (a number or a short string).", field=f"{path}.id"
            )
        where = f"Turn {json.dumps(key)}"
        if key in seen:
            raise ImportRefused(
                f"{where} appears twice: each “id” must be unique.", field=f"{path}.id"
            )
        seen.add(key)
        parent = item.get("parent")
        if parent is not None and not _is_key(parent):
            raise ImportRefused(f"{where} has an unusable “parent”.", field=f"{path}.parent")
        status = item.get("status", Turn.Status.COMPLETED)
        # Checked for a string first: a list or an object cannot be looked up in a set.
        if not isinstance(status, str) or status not in statuses:
            raise ImportRefused(
                f"{where} has the unknown status {json.dumps(status)[:40]} "
                f"(allowed: {', '.join(sorted(statuses))}).",
                field=f"{path}.status",
            )
        if status in (*Turn.ACTIVE, Turn.Status.REQUIRES_ACTION):
            status = Turn.Status.STOPPED  # nothing runs for an imported turn
        user_input = item.get("user_input", [])
        steps = item.get("steps", [])
        for name, value in (("user_input", user_input), ("steps", steps)):
            if not isinstance(value, list) or not all(
                isinstance(v, dict) and isinstance(v.get("type"), str) for v in value
            ):
                raise ImportRefused(
                    f"{where}: “{name}” must be a list of objects with a “type”.",
                    field=f"{path}.{name}",
                )
        for name in ("usage", "structured"):
            if item.get(name) is not None and not isinstance(item.get(name), dict):
                raise ImportRefused(
                    f"{where}: “{name}” must be an object or null.", field=f"{path}.{name}"
                )
        error = item.get("error")
        if isinstance(error, str):
            error = {"message": error}
        elif error is not None and not isinstance(error, dict):
            raise ImportRefused(
                f"{where}: “error” must be an object or null.", field=f"{path}.error"
            )
        user_text = item.get("user_text")
        if user_text is None:
            texts = [str(i.get("text") or "") for i in user_input if i["type"] == "text"]
            user_text = "\n".join(texts)
        if not isinstance(user_text, str):
            raise ImportRefused(
                f"{where}: “user_text” must be a string.", field=f"{path}.user_text"
            )
        model = item.get("model") or ""
        if not isinstance(model, str):
            raise ImportRefused(f"{where}: “model” must be a string.", field=f"{path}.model")
        checked.append(
            {
                "id": key,
                "path": path,
                "parent": parent,
                "user_input": user_input,
                "user_text": user_text,
                "model": model[:100],
                "steps": steps,
                "status": status,
                "usage": item.get("usage"),
                "error": error,
                "structured": item.get("structured"),
                "created": _when(item.get("created"), where, f"{path}.created"),
                "finished": _when(item.get("finished"), where, f"{path}.finished"),
            }
        )
    for item in checked:
        if item["parent"] is not None and item["parent"] not in seen:
            raise ImportRefused(
                f"Turn {json.dumps(item['id'])} points at the parent "
                f"{json.dumps(item['parent'])}, which is not in the file.",
                field=f"{item['path']}.parent",
            )
    return checked


def _is_key(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and 0 < len(value) <= 64)


def _when(value: Any, where: str, path: str) -> datetime | None:
    """A date and time in UTC, from ISO 8601 text; a naive one is taken as UTC."""
    if value is None or value == "":
        return None
    name = path.rsplit(".", 1)[-1]
    try:
        # Well-formed but impossible dates (2024-02-30, 25:61, offsets of a day) raise.
        moment: datetime | None = parse_datetime(value) if isinstance(value, str) else None
        if moment is not None:
            # The database keeps UTC: 0001-01-01T00:00+01:00 is before the first year.
            moment = moment.astimezone(UTC) if timezone.is_aware(moment) else moment
    except (ValueError, OverflowError) as exc:
        raise ImportRefused(
            f"{where}: “{name}” is not a valid date and time ({_short(str(exc), 80)}).",
            field=path,
        ) from None
    if moment is None:
        raise ImportRefused(f"{where}: “{name}” is not an ISO 8601 date and time.", field=path)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _creation_order(turns: list[dict[str, Any]]) -> list[list[tuple[int, dict[str, Any]]]]:
    """The turns level by level from the roots (parents first); a cycle is refused."""
    children: dict[Any, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, item in enumerate(turns):
        children[item["parent"]].append((index, item))
    levels = []
    level = children[None]
    placed = 0
    queue = deque([level])
    while queue:
        level = queue.popleft()
        if not level:
            continue
        levels.append(level)
        placed += len(level)
        queue.append([child for _, item in level for child in children[item["id"]]])
    if placed != len(turns):
        raise ImportRefused(
            "The turns' parent references form a cycle: every turn must lead back to a first "
            "message (one with “parent” null).",
            field="turns",
        )
    return levels


def _owned_files(user: Any, turns: list[dict[str, Any]]) -> set[str]:
    wanted: set[str] = set()
    for item in turns:
        wanted |= referenced_files([item["user_input"], item["steps"]])
    owned = Attachment.objects.filter(owner=user, uuid__in=wanted).values_list("uuid", flat=True)
    return {str(u) for u in owned}


def _drop_files(items: list[Any], owned: set[str]) -> tuple[list[Any], int]:
    """The content with references to files the importer does not own replaced by a note."""
    dropped = 0

    def walk(value: Any) -> Any:
        nonlocal dropped
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, dict) and "attachment" in item and not _keeps(item, owned):
                    dropped += 1
                    out.append({"type": "text", "text": _dropped_note(1)})
                else:
                    out.append(walk(item))
            return out
        if isinstance(value, dict):
            out_dict = {}
            for key, item in value.items():
                if key == "attachment" and not _keeps(value, owned):
                    dropped += 1
                    continue
                out_dict[key] = walk(item)
            return out_dict
        return value

    return walk(items), dropped


def _keeps(item: dict[str, Any], owned: set[str]) -> bool:
    reference = item.get("attachment")
    canonical = _canonical_uuid(reference) if isinstance(reference, str) else None
    if canonical in owned:
        item["attachment"] = canonical
        return True
    return False


def _dropped_note(count: int) -> str:
    files = "a file" if count == 1 else f"{count} files"
    return f"[{files} from the original conversation, not included in the import]"


def _canonical_uuid(value: str) -> str | None:
    try:
        return str(uuid_lib.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None
