"""Share links: the owner's side and the public page.

The public views need no sign-in: the token is the capability. Unknown, malformed and
revoked tokens all get the same 404 page; another user's conversation or link is a 404 too.
A shared page is served as stored when the link was made (`share_links.stored_page`); anonymous
visitors over `SHARE_VIEWS_PER_MINUTE` get a 429 page, whatever the token.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST, require_safe

from . import limits, share_links, share_throttle
from .file_views import FILE_HEADERS, attachment_response
from .models import owned_conversation_or_404
from .responses import base_url, user_error_response

# Public pages of a share link: never indexed, never leaking the token through a Referer,
# never kept by a shared cache after a revoke.
PUBLIC_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


# --- the owner's side ---


@login_required
@require_POST
def create_share(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    try:
        link = share_links.create_link(request.user, conversation, request.POST.get("leaf"))
    except share_links.ShareError as error:
        return user_error_response(error, key="share")
    return JsonResponse(share_links.link_json(link, base_url(request)), status=201)


@login_required
@require_GET
def list_shares(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    links = conversation.share_links.order_by("-created", "-pk").defer("html")
    base = base_url(request)
    return JsonResponse({"links": [share_links.link_json(link, base) for link in links]})


@require_POST
def revoke_share(request: HttpRequest, token: str) -> HttpResponse:
    link = share_links.owned_link(request.user, token)
    if link is None:
        return _not_found(request)
    share_links.revoke(request.user, link)
    return JsonResponse(share_links.link_json(link, base_url(request)))


# --- the public side ---


def _public(response: HttpResponse) -> HttpResponse:
    for header, value in PUBLIC_HEADERS.items():
        response[header] = value
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    return _public(render(request, "share/not_found.html", status=404))


def _throttled(request: HttpRequest, wait: int) -> HttpResponse:
    response = render(request, "share/throttled.html", {"wait": wait}, status=429)
    response["Retry-After"] = str(wait)
    return _public(response)


@require_safe
def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    # Before the lookup: unknown tokens count too, so guessing costs as much as reading.
    wait = share_throttle.throttle_wait(request)
    if wait:
        return _throttled(request, wait)
    link = share_links.active_link(token, defer=("snapshot",))
    if link is None:
        return _not_found(request)
    context = {
        "link": link,
        "title": link.title,
        "body": share_links.stored_page(link),
        # The snapshot's own badge, not this server's current upstream.
        "using_simulator": link.simulated,
    }
    return _public(render(request, "share/shared.html", context))


@require_safe
def shared_file(request: HttpRequest, token: str, uuid: uuid_lib.UUID) -> HttpResponse:
    link = share_links.active_link(token, defer=("snapshot", "html"))
    attachment = share_links.shared_file(link, uuid) if link else None
    if attachment is None:
        return _not_found(request)
    if not request.user.is_authenticated:
        budget = settings.SHARE_DOWNLOAD_MB_PER_MINUTE * 2**20
        wait = limits.minute_budget_wait(
            "share-bytes", limits.client_ip(request), attachment.size, budget
        )
        if wait:
            return _throttled(request, wait)
    response = attachment_response(attachment, {**FILE_HEADERS, **PUBLIC_HEADERS})
    return response if response is not None else _not_found(request)
