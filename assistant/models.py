"""Conversations with the assistant, their messages, the audit of what its tools changed, each user's
assistant settings, and the files the export tool offers for download."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    """A user's chat; its title comes from the first message's words (no model call)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["user", "-updated_at"], name="conversation_recent")]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    """One turn. An assistant message holds its whole answer: the text, every tool call with its result
    (``tool_calls``: ``[{"id", "name", "arguments", "ok", "result", "round", "links", "action_id"}]``), the
    provider requests it took (``rounds``: ``[{"provider", "model", "input_tokens", "cached_input_tokens",
    "output_tokens", "cost_usd"}]``) and their totals. ``incomplete``: the stream was cut or cancelled;
    what was streamed is kept."""

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    rounds = models.JSONField(default=list, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    incomplete = models.BooleanField(default=False)
    error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"


class ToolAction(models.Model):
    """The audit record of a tool that changes the user's data: what it did (or proposes, when the user
    asked to be asked first), and what undoes it."""

    class State(models.TextChoices):
        DONE = "done"
        PROPOSED = "proposed"
        UNDONE = "undone"
        DECLINED = "declined"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistant_actions")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="actions")
    tool = models.CharField(max_length=50)
    call_id = models.CharField(max_length=200)
    arguments = models.JSONField(default=dict)
    result = models.JSONField(default=dict, blank=True)
    undo = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tool} {self.state}"


class AssistantSettings(models.Model):
    """Per user: with ``ask_before_acting``, tools that change data propose and the user confirms."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistant_settings")
    ask_before_acting = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user_id}: ask before acting" if self.ask_before_acting else f"{self.user_id}: acts"


class Export(models.Model):
    """A file the export tool made: downloadable by its owner only, until ``expires_at``."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistant_exports")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.filename
