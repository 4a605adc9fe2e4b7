"""The conversation list: one page of a person's chats, pinned on top then grouped by date,
with folders, and for a search the matching text as a highlighted snippet."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from .branches import turn_id
from .folder_models import Folder
from .models import Conversation, Turn

PAGE_SIZE = 50
# Characters of context shown on each side of a match.
SNIPPET_CONTEXT = 40


def date_group(updated: datetime, today: date) -> str:
    """The heading a conversation last active at `updated` is listed under."""
    day = timezone.localtime(updated).date()
    age = (today - day).days
    if age <= 0:
        return gettext("Today")
    if age == 1:
        return gettext("Yesterday")
    if age <= 7:
        return gettext("Previous 7 days")
    if age <= 30:
        return gettext("Previous 30 days")
    if day.year == today.year:
        return date_format(day, "F")
    return date_format(day, "F Y")


def group_of(conversation: Conversation, today: date) -> str:
    return gettext("Pinned") if conversation.pinned else date_group(conversation.updated, today)


def snippet(text: str, query: str, context: int = SNIPPET_CONTEXT) -> SafeString | None:
    """`text` around the first match of `query` (`context` characters each side), escaped,
    the match in <mark>; None if none.

    Every piece is escaped on its own before the one tag is added: a message holding HTML
    shows as text."""
    found = re.search(re.escape(query), text, re.IGNORECASE) if query else None
    if found is None:
        return None
    start, end = found.span()
    before = text[max(0, start - context) : start]
    after = text[end : end + context]
    before = ("…" if start > context else "") + re.sub(r"\s+", " ", before).lstrip()
    after = re.sub(r"\s+", " ", after).rstrip() + ("…" if end + context < len(text) else "")
    return mark_safe(  # noqa: S308 - each piece is escaped just here
        f"{escape(before)}<mark>{escape(text[start:end])}</mark>{escape(after)}"
    )


def _snippets(ids: list[int], query: str) -> dict[int, SafeString]:
    """For each conversation, a snippet of its first message or answer matching `query`."""
    found: dict[int, SafeString] = {}
    matching = Turn.objects.filter(conversation_id__in=ids).filter(
        Q(user_text__icontains=query) | Q(answer_text__icontains=query)
    )
    for conversation_id, user_text, answer_text in matching.order_by("created", "pk").values_list(
        "conversation_id", "user_text", "answer_text"
    ):
        if conversation_id not in found:
            shown = snippet(user_text, query) or snippet(answer_text, query)
            if shown is not None:
                found[conversation_id] = shown
    return found


def folder_or_404(request: HttpRequest, pk: Any) -> Folder:
    """The person's folder `pk` (from a URL or a form); anything else is a 404."""
    wanted = turn_id(pk)  # a plain number, or None ("²" and "1e3" are not ids)
    if wanted is None:
        raise Http404(gettext("No such folder."))
    return get_object_or_404(Folder, pk=wanted, owner=request.user)


def sidebar_page(request: HttpRequest, folder: Folder | None = None) -> dict[str, Any]:
    """One page of the owner's conversations filtered by `q`: inside `folder`, or those in no
    folder (a search looks everywhere). Each has its date `group` and, for a search, a
    `snippet`; `headed` marks the first of its group."""
    if folder is None and (wanted := request.GET.get("folder", "")):
        folder = folder_or_404(request, wanted)
    conversations: QuerySet[Conversation] = Conversation.objects.filter(owner=request.user)
    # PostgreSQL refuses a NUL in any string, a search term included.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    archived = request.GET.get("archived") == "1"
    conversations = conversations.filter(archived=archived)
    if folder is not None:
        conversations = conversations.filter(folder=folder)
    elif not query:
        conversations = conversations.filter(folder__isnull=True)
    if query:
        matching_turns = Q(turns__user_text__icontains=query) | Q(
            turns__answer_text__icontains=query
        )
        conversations = conversations.filter(Q(title__icontains=query) | matching_turns).distinct()
    ordered = conversations.order_by("-pinned", "-updated", "-pk").only(
        "pk", "title", "pinned", "archived", "unseen", "updated", "folder"
    )
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    today = timezone.localdate()
    # A page that goes on with the previous page's group has no heading of its own.
    previous = ordered[page.start_index() - 2] if page.number > 1 else None
    last_group = group_of(previous, today) if previous is not None else None
    snippets = _snippets([c.pk for c in items], query) if query else {}
    for conversation in items:
        group = group_of(conversation, today)
        conversation.group, conversation.headed = group, group != last_group  # type: ignore[attr-defined]
        last_group = group
        # A title is shown whole (its ellipsis is the list's), the match marked.
        title = snippet(conversation.title, query, len(conversation.title)) if query else None
        conversation.title_html = title  # type: ignore[attr-defined]
        conversation.snippet = None if title else snippets.get(conversation.pk)  # type: ignore[attr-defined]
    folders = Folder.objects.filter(owner=request.user).only("pk", "name")
    return {
        "page": page,
        "items": items,
        "query": query,
        "archived": archived,
        "folder": folder,
        "folders": list(folders),
    }
