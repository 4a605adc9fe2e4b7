"""Knowledge base pages: list and create, one base with its documents, and their actions.

Access goes through `chatapp.knowledge` (usable vs managed; another person's base is a 404).
Documents are served with the same checks as the base: to whoever may use it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST, require_safe

from . import knowledge
from .file_views import FILE_HEADERS
from .models import KnowledgeBase, KnowledgeDocument
from .responses import user_error_response, wants_json
from .uploads import UploadError


def document_json(document: KnowledgeDocument) -> dict[str, Any]:
    return {
        "id": str(document.uuid),
        "name": document.name,
        "state": document.state,
        "state_label": document.get_state_display(),
        "error": document.error,
    }


@login_required
def knowledge_list(request: HttpRequest, error: str = "") -> HttpResponse:
    bases = knowledge.usable(request.user).select_related("owner")
    managed = set(knowledge.managed(request.user).values_list("pk", flat=True))
    rows = [(base, base.pk in managed) for base in bases]
    return render(request, "knowledge/list.html", {"rows": rows, "error": error})


@require_POST
@login_required
def knowledge_create(request: HttpRequest) -> HttpResponse:
    try:
        base = knowledge.create_base(
            request.user, request.POST.get("name", ""), request.POST.get("shared") == "on"
        )
    except UploadError as error:
        return _refused(request, None, error)
    return redirect(base.get_absolute_url())


@login_required
def knowledge_detail(request: HttpRequest, pk: int, error: str = "") -> HttpResponse:
    base = knowledge.usable_base_or_404(request.user, pk)
    documents = knowledge.refresh(base)
    if wants_json(request) or request.GET.get("format") == "json":
        return JsonResponse({"documents": [document_json(d) for d in documents]})
    can_manage = knowledge.managed(request.user).filter(pk=base.pk).exists()
    context = {"base": base, "documents": documents, "can_manage": can_manage, "error": error}
    return render(request, "knowledge/detail.html", context)


def _refused(request: HttpRequest, base: KnowledgeBase | None, error: UploadError) -> HttpResponse:
    """A refusal as JSON for the page's script, else the page again with the message."""
    if wants_json(request):
        return user_error_response(error)
    response = (
        knowledge_list(request, error.message)
        if base is None
        else knowledge_detail(request, base.pk, error.message)
    )
    response.status_code = error.status
    return response


def _managed(request: HttpRequest, pk: int) -> KnowledgeBase:
    return knowledge.managed_base_or_404(request.user, pk)


@require_POST
@login_required
def knowledge_upload(request: HttpRequest, pk: int) -> HttpResponse:
    base = _managed(request, pk)
    files = request.FILES.getlist("file")
    if not files:
        return _refused(request, base, UploadError(gettext("Choose a document to add.")))
    added = []
    for uploaded in files:
        try:
            added.append(knowledge.add_document(base, uploaded))
        except UploadError as error:
            return _refused(request, base, error)
    if wants_json(request):
        return JsonResponse({"documents": [document_json(d) for d in added]}, status=201)
    return redirect(base.get_absolute_url())


@require_POST
@login_required
def knowledge_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    base = _managed(request, pk)
    if action == "rename":
        try:
            knowledge.rename(base, request.POST.get("name", ""))
        except UploadError as error:
            return _refused(request, base, error)
        return redirect(base.get_absolute_url())
    if action == "delete":
        knowledge.delete_base(base)
        return redirect("knowledge_list")
    raise Http404("Unknown action.")


@require_POST
@login_required
def document_action(request: HttpRequest, pk: int, uuid: Any, action: str) -> HttpResponse:
    base = _managed(request, pk)
    document = knowledge.document_or_404(base, uuid)
    if action == "rename":
        try:
            knowledge.rename(document, request.POST.get("name", ""))
        except UploadError as error:
            return _refused(request, base, error)
    elif action == "delete":
        knowledge.remove_document(document)
    else:
        raise Http404("Unknown action.")
    return redirect(base.get_absolute_url())


@login_required  # type: ignore[untyped-decorator]
@require_safe  # type: ignore[untyped-decorator]
def cited_document(request: HttpRequest) -> HttpResponse:
    """A citation's document (by its upstream name) opened as our copy, for whoever may use
    its base; the browser keeps the link's `#page=N` across the redirect."""
    name = request.GET.get("document", "")
    document = knowledge.cited_documents([name]).get(name)
    if document is None or not knowledge.usable(request.user).filter(pk=document.base_id).exists():
        raise Http404("No such document.")
    return redirect(document.get_absolute_url())


@login_required  # type: ignore[untyped-decorator]
@require_safe  # type: ignore[untyped-decorator]
def document_file(request: HttpRequest, pk: int, uuid: Any) -> FileResponse:
    """Our copy of a document, to whoever may use its base (a PDF opens at `#page=N`)."""
    base = knowledge.usable_base_or_404(request.user, pk)
    document = knowledge.document_or_404(base, uuid)
    try:
        handle = document.file.storage.open(document.file.name, "rb")
    except FileNotFoundError:
        raise Http404("No such document.") from None
    inline = document.mime_type in knowledge.INLINE_TYPES
    response = FileResponse(
        handle,
        # Markdown shows as text; HTML and Word documents are downloads, never pages here.
        content_type="text/plain; charset=utf-8"
        if document.mime_type.startswith("text/") and inline
        else document.mime_type,
        as_attachment=not inline,
        filename=document.name,
    )
    for header, value in FILE_HEADERS.items():
        response[header] = value
    if document.mime_type == "application/pdf":
        # The browser's PDF viewer does not run in a sandboxed document.
        response["Content-Security-Policy"] = "default-src 'none'"
    return response
