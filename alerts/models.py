"""Alerts: what a trader wants to be told (a condition on a coin, how often), each firing, the in-app
notifications they produce, the user's notification channels (email, Telegram, webhooks, Apprise) and
each firing's delivery to each channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from markets.timeframes import Timeframe


class Alert(models.Model):
    """A condition on a coin, evaluated by the engine (``alerts.engine``) on every price update and bar
    close. ``condition`` is stored as ``alerts.conditions.condition_clean`` returns it (defaults filled
    in); ``kind`` repeats its kind for filtering and for the engine's grouping.

    An alert on a watchlist (``watchlist`` set, no coin) is what its user sees and edits; the engine never
    reads it. It keeps one member alert per coin on the list (``parent`` set, the same body, a coin of
    its own), which the engine evaluates like any other (see ``alerts.watchlist_alerts``)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        TRIGGERED = "triggered", "triggered (an only_once alert that fired)"
        EXPIRED = "expired"
        AUTO_PAUSED = "auto_paused", "auto-paused (fired too often)"

    class Frequency(models.TextChoices):
        ONLY_ONCE = "only_once", "only once"
        ONCE_PER_BAR = "once_per_bar", "once per bar"
        ONCE_PER_BAR_CLOSE = "once_per_bar_close", "once per bar close"
        EVERY_TIME = "every_time", "every time"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    coin = models.ForeignKey(
        "markets.Coin",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
        help_text="None: on a watchlist.",
    )
    watchlist = models.ForeignKey(
        "watchlists.Watchlist",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
        help_text="An alert on every coin of this list (deleted with it).",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="members",
        help_text="The watchlist alert this one follows for its coin (kept by alerts.watchlist_alerts).",
    )
    kind = models.CharField(max_length=32, db_index=True)
    condition = models.JSONField()
    frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.ONLY_ONCE)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices, default=Timeframe.M1)
    cooldown = models.PositiveIntegerField(default=60, help_text="Seconds between firings (every_time only).")
    expires_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_fired_at = models.DateTimeField(null=True, blank=True, help_text="Exchange time of the last firing.")
    # Open time (epoch seconds) of the bar of ``timeframe`` the alert last fired in: once_per_bar,
    # once_per_bar_close and bar conditions fire at most once per bar.
    last_fired_bar = models.BigIntegerField(null=True, blank=True)
    fire_count = models.PositiveIntegerField(default=0)
    # What the engine remembers between evaluations beyond the above (pattern findings already reported).
    engine_state = models.JSONField(default=dict, blank=True)
    # Where a firing goes besides the in-app bell (always): each channel gets one Delivery per firing.
    channels = models.ManyToManyField("Channel", blank=True, related_name="alerts")
    urgent = models.BooleanField(default=False, help_text="Delivered during its channels' quiet hours too.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "coin"], name="alert_status_coin"),
            models.Index(fields=["user", "status"], name="alert_user_status"),
        ]
        constraints = [
            # On a coin (a member also has a parent), or on a watchlist: never both, never neither.
            models.CheckConstraint(
                condition=models.Q(coin__isnull=False, watchlist__isnull=True)
                | models.Q(coin__isnull=True, watchlist__isnull=False, parent__isnull=True),
                name="alert_coin_or_watchlist",
            ),
            models.UniqueConstraint(
                fields=["parent", "coin"], condition=models.Q(parent__isnull=False), name="alert_member_once"
            ),
        ]

    def __str__(self) -> str:
        where = f"watchlist {self.watchlist_id}" if self.watchlist_id else self.coin_id
        return f"{where} {self.kind} ({self.status})"

    @property
    def subject(self) -> str:
        """What it watches, in words: its coin's symbol, or "every coin of <list>"."""
        return self.coin.symbol if self.coin_id else f"every coin of {self.watchlist.name}"


class AlertEvent(models.Model):
    """One firing of an alert. ``key`` names the firing instant or bar, unique per alert, so that however
    many engines evaluate the same update, a firing is stored once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    key = models.CharField(max_length=40, help_text='"bar:<open epoch s>" or "t:<exchange epoch ms>".')
    fired_at = models.DateTimeField(help_text="Exchange time of the update that fired it, or the bar's close.")
    price = models.FloatField()
    bar_open = models.DateTimeField(null=True, blank=True, help_text="Open time of the bar it fired in.")
    values = models.JSONField(default=dict, blank=True, help_text="The readings that made it fire.")
    message = models.CharField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["alert", "key"], name="alert_event_once")]
        indexes = [models.Index(fields=["alert", "-fired_at"], name="alert_event_history")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} at {self.fired_at:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    """An in-app notification (the bell): an alert fired or was auto-paused, a channel was disabled, an AI
    provider reached 80 % of its monthly budget."""

    class Kind(models.TextChoices):
        FIRED = "fired"
        AUTO_PAUSED = "auto_paused", "auto-paused"
        CHANNEL_DISABLED = "channel_disabled", "channel disabled"
        AI_BUDGET = "ai_budget", "AI budget"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FIRED)
    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications")
    event = models.OneToOneField(
        AlertEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="notification"
    )
    symbol = models.CharField(max_length=20)
    message = models.CharField(max_length=2000)
    price = models.FloatField(null=True, blank=True)
    fired_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.message[:40]}"

    @property
    def unread(self) -> bool:
        return self.read_at is None


class Channel(models.Model):
    """Where a user's alert firings are delivered besides the bell. Each kind uses its own fields:
    email ``address``; telegram ``chat_id``; webhook ``url``, ``secret`` (``whsec_…``) and ``body`` (a
    message template); apprise ``url``. A permanent delivery error disables it (``disabled_reason``).
    Deliveries inside the quiet hours (``quiet_start`` to ``quiet_end`` in ``quiet_timezone``) are held and
    sent as one digest when they end, unless the alert is urgent."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        TELEGRAM = "telegram"
        WEBHOOK = "webhook"
        APPRISE = "apprise"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True, help_text="A label for pickers; the target when empty.")
    address = models.CharField(max_length=254, blank=True)
    chat_id = models.CharField(max_length=32, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    secret = models.CharField(max_length=100, blank=True)
    body = models.CharField(max_length=4000, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=1000, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    quiet_timezone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}"

    @property
    def target(self) -> str:
        """Where it sends: the address, chat, or URL."""
        return self.address or self.chat_id or self.url


class Delivery(models.Model):
    """One firing (``event``) sent to one channel: created in the firing's transaction, claimed by a
    worker with a conditional UPDATE before sending, its outcome recorded after. ``failed`` retries at
    ``next_attempt_at``; ``dead`` will not. A replay is a new delivery whose ``replay_of`` is the first
    one, and shares its ``webhook_id``."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        DEAD = "dead"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    replay_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a failed delivery retries, or a held one is released."
    )
    held = models.BooleanField(default=False, help_text="Held by the channel's quiet hours, for the digest.")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker claimed it to send.")
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="From the firing to the hand-off.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel"], condition=models.Q(replay_of__isnull=True), name="delivery_once"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["channel", "-created_at"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} to channel {self.channel_id} ({self.state})"

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header: the same on every retry and every replay of one delivery."""
        return f"msg_{self.replay_of_id or self.pk}"
