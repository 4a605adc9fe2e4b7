"""Switching versions in place: the HTML of the branch through a chosen turn."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from .branches import Tree, turn_id
from .models import Conversation, owned_conversation_or_404
from .payloads import turn_payload


@require_GET
@login_required
def branch(request: HttpRequest, pk: int) -> HttpResponse:
    """The turns of the branch through `?turn=` (extended down its newest answers), as the
    page renders them; the server remembers it, as opening the page with ?turn= does."""
    conversation = owned_conversation_or_404(request.user, pk)
    tree = Tree.of(conversation.turns.all())
    wanted = turn_id(request.GET.get("turn", ""))
    if wanted is None or wanted not in tree.by_id:
        raise Http404(gettext("No such message in this conversation."))
    Conversation.objects.filter(pk=pk).update(current_turn_id=wanted)
    shown = [turn_payload(t, tree.siblings(t)) for t in tree.branch(wanted)]
    return JsonResponse(
        {"turns": [t["id"] for t in shown], "html": "".join(t["html"] for t in shown)}
    )
