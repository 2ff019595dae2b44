"""AI provider configurations, their monthly budget ledger, and a usage record per provider request."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ProviderConfig(models.Model):
    """A provider a user (or, with no user, the operator for everyone) can send requests to.

    Secrets (API key, AWS keys, Google service-account JSON) live in ``secrets``, one MultiFernet
    token (providers/crypto.py); ``key_hint`` is the only trace of them the API shows. Requests try
    the enabled providers by ``priority``, lowest number first."""

    class Kind(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        GOOGLE = "google", "Google Gemini / Vertex AI"
        BEDROCK = "bedrock", "AWS Bedrock"
        TOGETHER = "together", "Together AI"
        HUGGINGFACE = "huggingface", "Hugging Face"
        MISTRAL = "mistral", "Mistral"
        GROQ = "groq", "Groq"
        OPENROUTER = "openrouter", "OpenRouter"
        OLLAMA = "ollama", "Ollama"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="ai_providers",
        help_text="Empty: the operator's provider, offered to every user.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    base_url = models.CharField(max_length=500, blank=True, help_text="Empty: the provider's own address.")
    secrets = models.TextField(blank=True, editable=False)
    key_hint = models.CharField(max_length=16, blank=True, editable=False)
    aws_region = models.CharField(max_length=32, blank=True)
    google_project = models.CharField(max_length=100, blank=True)
    google_location = models.CharField(max_length=64, blank=True)
    monthly_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    block_at_budget = models.BooleanField(default=True)
    priority = models.PositiveIntegerField(default=0, help_text="Fallback order: lowest first.")
    enabled = models.BooleanField(default=True)
    price_input_per_mtok = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    price_cached_input_per_mtok = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    price_output_per_mtok = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        indexes = [models.Index(fields=["user", "enabled", "priority"], name="provider_choice")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def has_key(self) -> bool:
        return bool(self.secrets)

    @property
    def shared(self) -> bool:
        return self.user_id is None


class ProviderMonth(models.Model):
    """One provider's spend in one calendar month (UTC): ``spent_usd`` of finished requests and
    ``reserved_usd`` held by requests under way. A request reserves its worst case with one
    conditional UPDATE (providers/budgets.py), so concurrent requests cannot pass the budget together."""

    provider = models.ForeignKey(ProviderConfig, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(help_text="The month's first day.")
    spent_usd = models.DecimalField(max_digits=24, decimal_places=12, default=0)
    reserved_usd = models.DecimalField(max_digits=24, decimal_places=12, default=0)
    warned_at = models.DateTimeField(null=True, blank=True, help_text="When the 80 % notice went out.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "month"], name="provider_month_unique")]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.month:%Y-%m}: {self.spent_usd}"


class UsageRecord(models.Model):
    """One request to a provider: its tokens, the prices they were charged at and the exact cost
    (``cost_usd`` empty when the model's price is unknown — unknown is not zero)."""

    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        CANCELLED = "cancelled"
        BLOCKED = "blocked", "blocked by the budget"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ai_usage")
    provider = models.ForeignKey(ProviderConfig, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage")
    provider_kind = models.CharField(max_length=16)
    provider_name = models.CharField(max_length=100, help_text="Kept when the provider is deleted.")
    model = models.CharField(max_length=200)
    input_tokens = models.PositiveIntegerField(default=0, help_text="Every prompt token, cached ones included.")
    cached_input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    price_input_per_mtok = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    price_cached_input_per_mtok = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    price_output_per_mtok = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    reserved_usd = models.DecimalField(max_digits=24, decimal_places=12, default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    error = models.CharField(max_length=1000, blank=True)
    # The assistant's conversation (assistant app), by id: providers does not depend on the assistant.
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="usage_by_user"),
            models.Index(
                fields=["conversation_id"], name="usage_by_conversation", condition=Q(conversation_id__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_name} {self.model}: {self.cost_usd}"
