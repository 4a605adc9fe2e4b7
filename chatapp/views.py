"""Pages: first-run setup, the chat, the sidebar, and conversation actions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from . import composer, folders, shutdown, titles
from .branches import Tree
from .folder_models import Folder
from .forms import SettingsForm
from .knowledge import usable_or_404
from .models import Conversation, owned_conversation_or_404
from .payloads import turn_payload
from .responses import error_response, form_error_response, wants_json
from .sidebar import folder_or_404, sidebar_page
from .tools import available as available_tools


def first_run(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """On a fresh install with no users, every page leads to creating the admin account."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not get_user_model().objects.exists():
            return redirect("setup")
        return view(request, *args, **kwargs)

    return wrapper


class SetupForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


def setup(request: HttpRequest) -> HttpResponse:
    if get_user_model().objects.exists():
        return redirect("home")
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        user.is_staff = user.is_superuser = True
        user.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/setup.html", {"form": form})


def signup(request: HttpRequest) -> HttpResponse:
    if not settings.OPEN_SIGNUP:
        return render(request, "registration/signup_closed.html", status=404)
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def chat_context(
    request: HttpRequest, conversation: Conversation | None, folder: Folder | None = None
) -> dict[str, Any]:
    """The chat page's context; a new chat starts with the model and chips its person used
    last, or in `folder` with the folder's settings."""
    folder = conversation.folder if conversation else folder
    if conversation is None:
        conversation = Conversation(owner=request.user, **composer.new_chat_settings(request.user))
        if folder is not None:
            folders.apply_defaults(conversation, folder)
    form = SettingsForm(instance=conversation)
    if not conversation.pk:
        form.initial["model"] = conversation.model  # not the deployment's default
    return {
        "conversation": conversation if conversation.pk else None,
        "available_tools": available_tools(),
        "settings_form": form,
        "sidebar": sidebar_page(request, folder),
        "folder_form": folders.FolderForm(),
        "stall_ms": settings.CHAT_STALL_SECONDS * 1000,
        **composer.context(form, conversation.model),
    }


@first_run
@login_required
def home(request: HttpRequest) -> HttpResponse:
    context = chat_context(request, None)
    context["turns"] = []
    return render(request, "chat/chat.html", context)


@first_run
@login_required
def conversation_page(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    tree = Tree.of(conversation.turns.all())
    leaf_id = conversation.current_turn_id
    wanted = request.GET.get("turn", "")
    if wanted.isascii() and wanted.isdigit() and int(wanted) in tree.by_id:
        leaf_id = int(wanted)
        Conversation.objects.filter(pk=pk).update(current_turn_id=leaf_id)
    if conversation.unseen:
        Conversation.objects.filter(pk=pk).update(unseen=False)
        conversation.unseen = False
    branch = tree.branch(leaf_id)
    context = chat_context(request, conversation)
    context["turns"] = [turn_payload(t, tree.siblings(t)) for t in branch]
    return render(request, "chat/chat.html", context)


@first_run
@login_required
def folder_home(request: HttpRequest, pk: int) -> HttpResponse:
    """A new chat in a folder: the folder's chats in the sidebar, its settings in the panel."""
    context = chat_context(request, None, folder_or_404(request, pk))
    context["turns"] = []
    return render(request, "chat/chat.html", context)


@login_required
def sidebar(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/_sidebar_items.html", {"sidebar": sidebar_page(request)})


@require_POST
@login_required
def conversation_settings(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    usable_or_404(request.user, request.POST.getlist("knowledge_bases"))
    form = SettingsForm(request.POST, instance=conversation)
    if not form.is_valid():
        return form_error_response(form)
    form.save()
    composer.remember(request.user, conversation)
    return JsonResponse({"ok": True})


@require_POST
@login_required
def conversation_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    conversation = owned_conversation_or_404(request.user, pk)
    if action == "rename":
        title = titles.without_directives(request.POST.get("title", "")).strip()[:200]
        if not title:
            return error_response(gettext("A title cannot be empty."), key="title")
        if "\x00" in title:  # PostgreSQL refuses NUL characters in text
            return error_response(gettext("A title cannot contain NUL characters."), key="title")
        conversation.title, conversation.title_by_hand = title, True
    elif action in ("pin", "unpin"):
        conversation.pinned = action == "pin"
    elif action in ("archive", "unarchive"):
        conversation.archived = action == "archive"
    elif action == "delete":
        conversation.delete()
        return redirect("home") if not wants_json(request) else JsonResponse({"ok": True})
    elif action == "retitle":
        return _retitle(request, conversation)
    elif action == "move":
        return folders.move(request, conversation)
    else:
        return error_response(gettext("Unknown action."), 404, key="action")
    conversation.save(update_fields=["title", "title_by_hand", "pinned", "archived"])
    if wants_json(request):
        return JsonResponse({"ok": True, "title": conversation.title})
    return redirect(conversation.get_absolute_url())


def _retitle(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    """A new title from the title model, written from the first exchange of the branch on
    screen; asking for one hands the title back to the model (edits rename again)."""
    branch = Tree.of(conversation.turns.all()).branch(conversation.current_turn_id)
    if not branch or not settings.CHAT_TITLE_MODEL:
        message = gettext("There is nothing to write a title from yet.")
        return error_response(message, key="title")
    by_hand = conversation.title_by_hand
    Conversation.objects.filter(pk=conversation.pk).update(title_by_hand=False)
    conversation.title_by_hand = False
    written = async_to_sync(titles.retitle)(
        conversation, branch[0].user_text, branch[0].answer_text, replacing=conversation.title
    )
    if not written and by_hand:  # nothing new: the person's title stays theirs
        Conversation.objects.filter(pk=conversation.pk).update(title_by_hand=True)
    if wants_json(request):
        return JsonResponse({"ok": True, "title": written or conversation.title})
    return redirect(conversation.get_absolute_url())


@require_POST
@login_required
def new_conversation(request: HttpRequest) -> HttpResponse:
    """Create a conversation from the new-chat settings, before its first message."""
    usable_or_404(request.user, request.POST.getlist("knowledge_bases"))
    folder = folders.posted_folder(request)
    form = SettingsForm(request.POST, instance=Conversation(owner=request.user, folder=folder))
    if not form.is_valid():
        return form_error_response(form)
    conversation = form.save()
    composer.remember(request.user, conversation)
    return JsonResponse({"id": conversation.pk, "url": conversation.get_absolute_url()})


def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database, the channel layer and the upstream are usable."""
    checks = {"database": _database_ok(), "channel_layer": _channel_layer_ok()}
    checks["upstream"] = bool(settings.GEMINI_API_KEY) or settings.USE_SIMULATOR
    checks["accepting"] = not shutdown.draining()  # a stopping worker takes no new traffic
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _database_ok() -> bool:
    if connection.vendor == "postgresql":
        return _postgresql_answers()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _postgresql_answers(timeout: int = 3) -> bool:
    """A connection of its own, with a short timeout: the pool would wait its 30 s for a
    connection while the database is away, and the probe must answer quickly."""
    import psycopg

    db = connection.settings_dict
    try:
        with psycopg.connect(
            dbname=db["NAME"],
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            connect_timeout=timeout,
        ) as probe:
            probe.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _channel_layer_ok() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        # A message sent to a fresh channel must come back: the layer carries traffic.
        async def round_trip() -> bool:
            channel = await layer.new_channel("readyz.")
            await layer.send(channel, {"type": "ping"})
            message = await asyncio.wait_for(layer.receive(channel), 2)
            return bool(message.get("type") == "ping")

        return async_to_sync(round_trip)()
    except Exception:
        return False
