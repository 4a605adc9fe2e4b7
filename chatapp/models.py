"""Conversations as trees of turns; each turn is one user message and the model's answer.

A turn keeps the upstream `interaction_id`; its parent's id is sent as
`previous_interaction_id`. Editing a message or regenerating an answer adds a sibling turn
(same parent), so a conversation is a tree and the page shows one branch of it.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .file_refs import OWNER

# Defined apart, models of this app all the same.
from .knowledge_models import KnowledgeBase, KnowledgeDocument  # noqa: F401
from .preference_models import Preferences  # noqa: F401
from .pricing_models import ModelPrice  # noqa: F401
from .team_models import GroupLimits, Invitation  # noqa: F401


class Conversation(models.Model):
    class ThinkingLevel(models.TextChoices):
        DEFAULT = "", "default"
        MINIMAL = "minimal", "minimal"
        LOW = "low", "low"
        MEDIUM = "medium", "medium"
        HIGH = "high", "high"

    # The settings a person chooses, in one place: the settings form, export and import
    # carry exactly these (chatapp.forms, chatapp.export, chatapp.importer).
    SETTINGS = (
        "model",
        "system_instruction",
        "temperature",
        "thinking_level",
        "stateless",
        "google_search",
        "url_context",
        "code_execution",
        "tools",
        "response_schema",
        "background",
    )
    # The on/off settings; the grounding ones are sent upstream as built-in tools.
    SWITCHES = ("stateless", "google_search", "url_context", "code_execution", "background")
    GROUNDING = ("google_search", "url_context", "code_execution")

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
    url_context = models.BooleanField(default=False)
    code_execution = models.BooleanField(default=False)
    tools = models.JSONField(default=list, blank=True)  # names from settings.CHAT_TOOLS
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


def share_content_path(link: ShareLink, filename: str) -> str:
    return f"shares/{secrets.token_hex(16)}.json"


class ShareLink(models.Model):
    """A public, read-only snapshot of one branch of a conversation, at an unguessable URL.

    The branch is copied at publish time (`snapshot`), so later edits, regenerations and new
    branches never show through. A revoked link stays revoked: sharing again makes a new one.
    """

    token = models.CharField(max_length=64, unique=True, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="share_links"
    )
    # The conversation's title when the link was made (shown on the shared page).
    title = models.CharField(max_length=200, blank=True)
    # The ids of the shared turns, root first, and a frozen copy of what each showed.
    turn_ids = models.JSONField(default=list)
    snapshot = models.JSONField(default=list)
    # Whether the answers came from the offline simulator (badge on the shared page).
    simulated = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    revoked = models.DateTimeField(null=True, blank=True)
    # The shared turns as HTML, rendered once when the link is made and served as stored: a
    # page rendered per request cost 10 s of CPU per anonymous view of a 2 MB branch.
    # `rendered` is null for links made before; their first view renders and stores them.
    html = models.TextField(blank=True)
    rendered = models.DateTimeField(null=True, blank=True)
    # The canonical uuids of the files the shared turns show, so a file request needs no
    # walk over the snapshot.
    files = models.JSONField(default=list)
    # The frozen branch and its rendered page, as one JSON file in the media storage (the
    # local disk or the object store): `snapshot` and `html` above stay empty for links made
    # since, and are read only for older ones.
    content = models.FileField(upload_to=share_content_path, blank=True, max_length=300)
    # The last shared question, for the owner's list of links.
    preview = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return f"Share link {self.pk} of conversation {self.conversation_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.token:
            self.token = secrets.token_urlsafe(24)
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.revoked is None

    def get_absolute_url(self) -> str:
        return f"/s/{self.token}"


# --- administration: per-user limits, usage kept past deletions, the audit log ---


def default_messages_per_minute() -> int | None:
    return settings.DEFAULT_MESSAGES_PER_MINUTE  # type: ignore[no-any-return]


def default_tokens_per_day() -> int | None:
    return settings.DEFAULT_TOKENS_PER_DAY  # type: ignore[no-any-return]


class UserLimits(models.Model):
    """What one user may send, set by an admin. Empty means no limit.

    A user without a row follows the server defaults (DEFAULT_MESSAGES_PER_MINUTE,
    DEFAULT_TOKENS_PER_DAY); a row, once saved, is that user's own and no longer follows them.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_limits"
    )
    messages_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=default_messages_per_minute,
        validators=[MinValueValidator(1)],
        help_text="Messages per minute, edits included. Empty: no limit.",
    )
    tokens_per_day = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        default=default_tokens_per_day,
        validators=[MinValueValidator(1)],
        help_text="Tokens per day (UTC), input and output. Empty: no limit.",
    )

    class Meta:
        verbose_name = "chat limits"
        verbose_name_plural = "chat limits"

    def __str__(self) -> str:
        return f"Limits of user {self.user_id}"


class ArchivedUsage(models.Model):
    """Usage whose turns no longer hold it, per user per UTC day.

    Daily usage is read off the turns themselves; this keeps what deleting a conversation or
    retrying an answer would otherwise erase, so neither resets a user's daily tokens.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    messages = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="archived_usage_user_day")
        ]

    def __str__(self) -> str:
        return f"Archived usage of user {self.user_id} on {self.day}"


class AuditEvent(models.Model):
    """Who did what, from where: sign-ins, admin changes, share links. Never message text."""

    created = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The actor's username at the time, kept when the account is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_name or 'anonymous'} at {self.created:%Y-%m-%d %H:%M}"


class Schedule(models.Model):
    """A prompt the server sends into a conversation at set times, with no browser open
    (`chatapp.schedules`): once, daily, on weekdays, weekly, or by a cron expression, in the
    person's time zone."""

    class Kind(models.TextChoices):
        ONCE = "once", "Once"
        DAILY = "daily", "Every day"
        WEEKDAYS = "weekdays", "Monday to Friday"
        WEEKLY = "weekly", "Every week"
        CRON = "cron", "Cron expression"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="schedules"
    )
    prompt = models.TextField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DAILY)
    # When, in `time_zone`: the first run for ONCE; the time of day otherwise.
    at = models.DateTimeField()
    cron = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # The next run (UTC); null once a single run is done. Workers claim a run by moving it.
    next_run = models.DateTimeField(null=True, blank=True, db_index=True)
    paused = models.BooleanField(default=False)
    failures = models.PositiveIntegerField(default=0)  # in a row; too many pause it
    last_run = models.DateTimeField(null=True, blank=True)
    last_turn = models.ForeignKey(
        Turn, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["next_run", "pk"]

    def __str__(self) -> str:
        return f"Schedule {self.pk} of conversation {self.conversation_id}"
