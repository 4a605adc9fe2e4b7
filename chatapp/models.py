"""Conversations as trees of turns; each turn is one user message and the model's answer.

A turn keeps the upstream `interaction_id`; its parent's id is sent as
`previous_interaction_id`. Editing a message or regenerating an answer adds a sibling turn
(same parent), so a conversation is a tree and the page shows one branch of it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import pgettext_lazy

# Defined apart, models of this app all the same.
from .admin_models import (  # noqa: F401
    ArchivedUsage,
    AuditEvent,
    UserLimits,
    default_messages_per_minute,
    default_tokens_per_day,
)
from .file_refs import OWNER
from .folder_models import Folder
from .knowledge_models import KnowledgeBase, KnowledgeDocument  # noqa: F401
from .mcp_models import McpServer  # noqa: F401
from .preference_models import Preferences  # noqa: F401
from .pricing_models import ModelPrice  # noqa: F401
from .team_models import GroupLimits, Invitation  # noqa: F401


class Conversation(models.Model):
    class ThinkingLevel(models.TextChoices):
        DEFAULT = "", pgettext_lazy("thinking level", "default")
        MINIMAL = "minimal", pgettext_lazy("thinking level", "minimal")
        LOW = "low", pgettext_lazy("thinking level", "low")
        MEDIUM = "medium", pgettext_lazy("thinking level", "medium")
        HIGH = "high", pgettext_lazy("thinking level", "high")

    # The settings a person chooses, in one place: the settings form, export and import
    # carry exactly these (chatapp.forms, chatapp.export, chatapp.importer).
    SETTINGS = (
        "model",
        "system_instruction",
        "temperature",
        "thinking_level",
        "stateless",
        "google_search",
        "google_maps",
        "url_context",
        "code_execution",
        "tools",
        "mcp_servers",
        "response_schema",
        "background",
    )
    # The on/off settings; the grounding ones are sent upstream as built-in tools.
    SWITCHES = (
        "stateless",
        "google_search",
        "google_maps",
        "url_context",
        "code_execution",
        "background",
    )
    GROUNDING = ("google_search", "google_maps", "url_context", "code_execution")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=100)
    system_instruction = models.TextField(blank=True)
    temperature = models.FloatField(null=True, blank=True)
    thinking_level = models.CharField(max_length=16, blank=True, choices=ThinkingLevel.choices)
    # "Don't store on Google's servers": store=false and the whole branch re-sent each turn.
    stateless = models.BooleanField(default=False)
    # Grounding and tools switched on for this conversation.
    google_search = models.BooleanField(default=False)
    google_maps = models.BooleanField(default=False)
    url_context = models.BooleanField(default=False)
    code_execution = models.BooleanField(default=False)
    tools = models.JSONField(default=list, blank=True)  # names from settings.CHAT_TOOLS
    mcp_servers = models.JSONField(default=list, blank=True)  # names of McpServer rows
    # A JSON schema for structured answers (response_format); empty means free text.
    response_schema = models.JSONField(null=True, blank=True)
    # Long tasks run as background interactions, polled until done.
    background = models.BooleanField(default=False)
    # The agent sandbox of this conversation, reused by follow-ups.
    environment_id = models.CharField(max_length=200, blank=True)
    # A background answer finished while its owner was elsewhere: a badge in the sidebar.
    unseen = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    # The person named it: model-written titles (chatapp.titles) no longer replace it.
    title_by_hand = models.BooleanField(default=False)
    # Moved out, not deleted, when its folder goes.
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    # File search stores the answers may search (chatapp.knowledge checks who may use them).
    knowledge_bases = models.ManyToManyField(KnowledgeBase, blank=True, related_name="+")
    # The leaf of the branch the owner looked at last, so a reload shows the same branch.
    current_turn = models.ForeignKey(
        "Turn", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The sidebar: one owner's conversations, pinned first, newest first.
            models.Index(fields=["owner", "archived", "-pinned", "-updated"], name="sidebar"),
        ]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"

    def get_absolute_url(self) -> str:
        return f"/c/{self.pk}/"


def owned_conversation_or_404(user: Any, pk: Any) -> Conversation:
    """The one ownership check: another user's conversation is a 404, never a 403."""
    return get_object_or_404(Conversation, pk=pk, owner=user)


class Turn(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        INCOMPLETE = "incomplete"
        REQUIRES_ACTION = "requires_action"
        STOPPED = "stopped"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.IN_PROGRESS)

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # What the user sent: the `content` of a user_input step, exactly as sent upstream.
    user_input = models.JSONField(default=list)
    user_text = models.TextField(blank=True)
    model = models.CharField(max_length=100)
    interaction_id = models.CharField(max_length=200, blank=True)
    # Whether the upstream keeps this interaction (usable as previous_interaction_id).
    stored = models.BooleanField(default=True)
    # The model's steps exactly as received (thought signatures included).
    steps = models.JSONField(default=list)
    answer_text = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    usage = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    # For a structured-output conversation: whether the answer matched its schema.
    structured = models.JSONField(null=True, blank=True)
    # How long the model thought, in ms, over all its calls ("Thought for N s" after a reload).
    thinking_ms = models.PositiveIntegerField(null=True, blank=True)
    # Resume cursor of the upstream stream, saved with each finished step.
    last_event_id = models.CharField(max_length=200, blank=True)
    # Which worker runs the generation, and when it last showed it was alive.
    worker = models.CharField(max_length=200, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Loading one conversation's whole tree in a single query.
            models.Index(fields=["conversation", "created"], name="turn_tree"),
            # Crash recovery: active turns whose worker went quiet.
            models.Index(fields=["status", "heartbeat"], name="turn_recovery"),
        ]

    def __str__(self) -> str:
        return f"Turn {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


def attachment_path(attachment: Attachment, filename: str) -> str:
    # Stored names never come from the user: only the id-like uuid and a safe extension.
    return f"attachments/{attachment.owner_id}/{attachment.uuid.hex}{attachment.extension}"


class Attachment(models.Model):
    """A file a user uploaded or a model generated, served only to its owner."""

    class Kind(models.TextChoices):
        IMAGE = "image"
        AUDIO = "audio"
        VIDEO = "video"
        DOCUMENT = "document"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    turn = models.ForeignKey(
        Turn, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    mime_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField()
    # The name the user's file had, for display only (escaped wherever shown).
    name = models.CharField(max_length=255, blank=True)
    generated = models.BooleanField(default=False)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    created = models.DateTimeField(default=timezone.now)
    # Our upload of this file to Gemini's Files API (chatapp.remote_files), while it lasts.
    upstream_name = models.CharField(max_length=200, blank=True)
    upstream_uri = models.CharField(max_length=500, blank=True)
    upstream_expires = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.uuid}"

    def get_absolute_url(self) -> str:
        return f"{OWNER.prefix}{self.uuid}"


# Defined apart; they refer to the models above by name.
from .research_models import (  # noqa: E402,F401
    AgentTrigger,
    ResearchStart,
    TriggerRun,
    WebhookDelivery,
)
from .schedule_models import Schedule  # noqa: E402,F401
from .share_models import ShareLink, share_content_path  # noqa: E402,F401
