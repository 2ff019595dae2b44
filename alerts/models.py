"""Alerts: what a trader wants to be told (a condition on a coin, how often), each firing, and the
in-app notifications they produce."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from markets.timeframes import Timeframe


class Alert(models.Model):
    """A condition on a coin, evaluated by the engine (``alerts.engine``) on every price update and bar
    close. ``condition`` is stored as ``alerts.conditions.condition_clean`` returns it (defaults filled
    in); ``kind`` repeats its kind for filtering and for the engine's grouping."""

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
    coin = models.ForeignKey("markets.Coin", on_delete=models.PROTECT, related_name="alerts")
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "coin"], name="alert_status_coin"),
            models.Index(fields=["user", "status"], name="alert_user_status"),
        ]

    def __str__(self) -> str:
        return f"{self.coin_id} {self.kind} ({self.status})"


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
    """An in-app notification (the bell): an alert fired, or was auto-paused."""

    class Kind(models.TextChoices):
        FIRED = "fired"
        AUTO_PAUSED = "auto_paused", "auto-paused"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.FIRED)
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
