"""The knowledge bases service: who may use or manage a base, and its upstream store.

A base is a Gemini file search store. Anyone signed in may make their own; only an admin
shares one with everybody (the team). Its owner or an admin manages it (documents, name,
deletion); whoever may use it can attach it to a conversation and open its documents. Another
person's base is a 404, never a 403, as for conversations. Views call these synchronous
functions; the upstream calls run on the event loop through `async_to_sync`.
"""

from __future__ import annotations

import codecs
import logging
import posixpath
import zipfile
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext, gettext_lazy

from interactions_client import AsyncClient, InteractionsError, NotFoundError

from . import upstream
from .models import Conversation, KnowledgeBase, KnowledgeDocument
from .uploads import UploadError, clean_name, human_size

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ACCEPTED = gettext_lazy("Add PDF, Word (DOCX), plain text, Markdown or HTML documents.")
# Served in the browser (a PDF opens at its cited page); anything else is a download.
INLINE_TYPES = {"application/pdf", "text/plain", "text/markdown"}
STATES = {
    "STATE_ACTIVE": KnowledgeDocument.State.ACTIVE,
    "STATE_FAILED": KnowledgeDocument.State.FAILED,
}


# --- access ---


def usable(user: Any) -> QuerySet[KnowledgeBase]:
    """The bases a person may attach to a conversation: their own and the shared ones."""
    return KnowledgeBase.objects.filter(Q(owner=user) | Q(shared=True))


def managed(user: Any) -> QuerySet[KnowledgeBase]:
    """The bases a person may change: their own (every one, for an admin)."""
    bases = KnowledgeBase.objects.all()
    return bases if user.is_staff else bases.filter(owner=user)


def usable_base_or_404(user: Any, pk: Any) -> KnowledgeBase:
    return get_object_or_404(usable(user), pk=pk)


def managed_base_or_404(user: Any, pk: Any) -> KnowledgeBase:
    return get_object_or_404(managed(user), pk=pk)


def document_or_404(base: KnowledgeBase, uuid: Any) -> KnowledgeDocument:
    return get_object_or_404(KnowledgeDocument, base=base, uuid=uuid)


def usable_or_404(user: Any, ids: Iterable[object]) -> list[KnowledgeBase]:
    """The bases these ids name, all usable by `user`; any other id (another person's, a
    missing one, garbage) is a 404, so nobody learns which bases exist."""
    wanted: set[int] = set()
    for raw in ids:
        text = str(raw)
        if not text.isdigit() or len(text) > 18:
            raise Http404("No such knowledge base.")
        wanted.add(int(text))
    found = list(usable(user).filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise Http404("No such knowledge base.")
    return found


def store_names(conversation: Conversation) -> list[str]:
    """The stores a turn of this conversation searches: attached bases its owner may still use."""
    bases = conversation.knowledge_bases.filter(
        Q(owner_id=conversation.owner_id) | Q(shared=True)
    ).exclude(store_name="")
    return sorted(bases.values_list("store_name", flat=True))


def cited_documents(names: Iterable[str]) -> dict[str, KnowledgeDocument]:
    """Our documents by upstream name (`fileSearchStores/…/documents/…`), for citations."""
    wanted = {n for n in names if isinstance(n, str) and n}
    found = KnowledgeDocument.objects.filter(upstream_name__in=wanted) if wanted else []
    return {d.upstream_name: d for d in found}


# --- the upstream ---


def _upstream(call: Callable[[AsyncClient], Awaitable[T]]) -> T:
    async def run() -> T:
        return await call(upstream.client())

    return async_to_sync(run)()


def create_base(user: Any, name: str, shared: bool) -> KnowledgeBase:
    name = " ".join(name.split())[:120]
    if not name:
        raise UploadError(gettext("Give the knowledge base a name."))
    store = _upstream(lambda c: c.file_search_stores.create(display_name=name))
    return KnowledgeBase.objects.create(
        owner=user, name=name, shared=shared and user.is_staff, store_name=str(store.name)
    )


def delete_base(base: KnowledgeBase) -> None:
    """The base, its documents and (by the signals below) their files and the store upstream;
    turns still using it end with a clear error."""
    base.delete()


@receiver(post_delete, sender=KnowledgeBase)
def _store_goes_too(sender: Any, instance: KnowledgeBase, **kwargs: Any) -> None:
    # Also when its owner's account is deleted (a cascade).
    if name := instance.store_name:
        transaction.on_commit(lambda: _delete_store(name))


@receiver(post_delete, sender=KnowledgeDocument)
def _copy_goes_too(sender: Any, instance: KnowledgeDocument, **kwargs: Any) -> None:
    instance.file.delete(save=False)


def _delete_store(name: str) -> None:
    try:
        _upstream(lambda c: c.file_search_stores.delete(name, force=True))
    except NotFoundError:
        pass  # already gone
    except (InteractionsError, RuntimeError) as exc:  # RuntimeError: called on an event loop
        log.warning("deleting file search store %s: %r", name, exc)


# --- documents ---


def document_type(head: bytes, name: str, upload: UploadedFile) -> tuple[str, str]:
    """(mime_type, extension) of a document, from its bytes (the name only tells text kinds
    apart: Markdown from plain text); refused with an `UploadError` saying why."""
    ext = posixpath.splitext(name.lower())[1]
    if head.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if head.startswith(b"PK\x03\x04"):
        upload.seek(0)
        try:
            with zipfile.ZipFile(upload) as archive:
                is_docx = "word/document.xml" in archive.namelist()
        except zipfile.BadZipFile:
            is_docx = False
        if is_docx:
            return DOCX, ".docx"
        raise UploadError(gettext("That ZIP archive is not a Word document.") + f" {ACCEPTED}")
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        raise UploadError(_not_supported()) from None
    if "\x00" in text:
        raise UploadError(_not_supported())
    start = text[:1024].lstrip("\ufeff \t\r\n").lower()
    if ext in (".html", ".htm") or start.startswith(("<!doctype html", "<html")):
        return "text/html", ".html"
    if ext in (".md", ".markdown"):
        return "text/markdown", ".md"
    return "text/plain", ".txt"


def add_document(base: KnowledgeBase, uploaded: UploadedFile) -> KnowledgeDocument:
    """Keep our copy of a document, then send it to the base's store to be indexed."""
    name = clean_name(uploaded.name) or "document"
    size = uploaded.size or 0
    limit = settings.KNOWLEDGE_MAX_DOCUMENT_BYTES
    if size > limit:
        raise UploadError(
            gettext("That document is too large (%(size)s): the limit is %(limit)s.")
            % {"size": human_size(size), "limit": human_size(limit)},
            status=413,
        )
    uploaded.seek(0)
    head = uploaded.read(64 * 1024)
    if not head:
        raise UploadError(gettext("That file is empty."))
    mime_type, extension = document_type(head, name, uploaded)
    document = KnowledgeDocument(
        base=base, name=name, mime_type=mime_type, extension=extension, size=size
    )
    uploaded.seek(0)
    document.file.save(f"document{extension}", uploaded, save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    _index(document)
    return document


def _index(document: KnowledgeDocument) -> None:
    async def upload(client: AsyncClient) -> Any:
        with document.file.storage.open(document.file.name, "rb") as handle:
            return await client.file_search_stores.upload(
                document.base.store_name,
                handle,
                mime_type=document.mime_type,
                display_name=document.name,
            )

    try:
        operation = _upstream(upload)
    except InteractionsError as exc:
        log.warning("indexing document %s failed: %r", document.pk, exc)
        _settle(document, None, gettext("Gemini did not take this document: %s") % _message(exc))
        return
    document.operation = str(operation.name or "")
    document.save(update_fields=["operation"])
    if operation.done:
        _settle_operation(document, operation)


def _operation(name: str) -> Any:
    return _upstream(lambda c: c.file_search_stores.get_operation(name))


def refresh(base: KnowledgeBase) -> list[KnowledgeDocument]:
    """The base's documents, those still indexing asked about once more."""
    documents = list(base.documents.all())
    for document in documents:
        if document.state != KnowledgeDocument.State.PENDING or not document.operation:
            continue
        try:
            operation = _operation(str(document.operation))
        except InteractionsError as exc:
            log.info("operation of document %s: %r", document.pk, exc)
            continue
        if operation.done:
            _settle_operation(document, operation)
    return documents


def _settle_operation(document: KnowledgeDocument, operation: Any) -> None:
    if operation.error is not None:
        reason = operation.error.message or gettext("no reason given")
        _settle(document, None, gettext("Indexing failed: %s") % reason)
    else:
        name = operation.response.document_name if operation.response else None
        _settle(document, name, "")


def _settle(document: KnowledgeDocument, upstream_name: str | None, error: str) -> None:
    document.state = KnowledgeDocument.State.FAILED if error else KnowledgeDocument.State.ACTIVE
    document.error = error[:2000]
    document.upstream_name = upstream_name or ""
    document.save(update_fields=["state", "error", "upstream_name"])


def remove_document(document: KnowledgeDocument) -> None:
    if document.upstream_name:
        try:
            name = document.upstream_name
            _upstream(lambda c: c.file_search_stores.documents.delete(name, force=True))
        except NotFoundError:
            pass
    document.delete()


def _not_supported() -> str:
    return gettext("This type of document is not supported.") + f" {ACCEPTED}"


def rename(obj: KnowledgeBase | KnowledgeDocument, name: str) -> None:
    """A new display name here (citations show it; the store keeps the name it was given)."""
    if isinstance(obj, KnowledgeDocument):
        name = clean_name(name)
    else:
        name = " ".join(name.split())[:120]
    if not name:
        raise UploadError(gettext("A name cannot be empty."))
    obj.name = name
    obj.save(update_fields=["name"])


def _message(exc: InteractionsError) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text)[:300]
