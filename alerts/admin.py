"""Admin for alerts, their firings, notifications, channels and deliveries. What the engine writes (status after firing,
the last firing, the count, its memory; firings themselves) is read-only: an operator edits what a
user could, and pauses or resumes through the actions, which tell the engines to reload. Deliveries
are the delivery machinery's record: read-only, replayed through the action."""

from django import forms
from django.contrib import admin, messages

from alerts.alert_fields import AlertInvalid
from alerts.changes import alerts_changed
from alerts.conditions import ConditionError, condition_clean, condition_words
from alerts.deliveries import delivery_replay
from alerts.models import Alert, AlertEvent, Channel, Delivery, Notification
from alerts.services import alerts_pause, alerts_resume


class AlertAdminForm(forms.ModelForm):
    """The condition checked (and completed with its defaults) as the API checks it."""

    class Meta:
        model = Alert
        fields = (
            "user",
            "coin",
            "condition",
            "frequency",
            "timeframe",
            "cooldown",
            "expires_at",
            "message",
            "note",
            "urgent",
            "status",
        )

    def clean_condition(self) -> dict:
        try:
            return condition_clean(self.cleaned_data["condition"])
        except ConditionError as error:
            raise forms.ValidationError(
                [f"{path}: {' '.join(texts)}" for path, texts in error.errors.items()]
            ) from None


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    form = AlertAdminForm
    list_display = ("id", "user", "coin", "condition_text", "frequency", "timeframe", "status", "fire_count")
    list_filter = ("status", "frequency", "timeframe", "kind")
    search_fields = ("=id", "user__username", "coin__symbol", "note", "message")
    list_select_related = ("user", "coin")
    raw_id_fields = ("user", "coin")
    readonly_fields = (
        "kind",
        "watchlist",  # a watchlist alert and its members are kept by alerts.watchlist_alerts
        "parent",
        "created_at",
        "updated_at",
        "last_fired_at",
        "last_fired_bar",
        "fire_count",
        "engine_state",
    )
    actions = ("pause", "resume")

    @admin.display(description="condition")
    def condition_text(self, alert: Alert) -> str:
        return condition_words(alert.condition)

    def save_model(self, request, obj: Alert, form, change: bool) -> None:
        obj.kind = obj.condition["kind"]
        super().save_model(request, obj, form, change)
        alerts_changed()

    def delete_model(self, request, obj: Alert) -> None:
        super().delete_model(request, obj)
        alerts_changed()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        alerts_changed()

    @admin.action(description="Pause the selected alerts")
    def pause(self, request, queryset) -> None:
        self._for_each_owner(request, queryset, alerts_pause, "paused")

    @admin.action(description="Resume (re-arm) the selected alerts")
    def resume(self, request, queryset) -> None:
        self._for_each_owner(request, queryset, alerts_resume, "resumed")

    def _for_each_owner(self, request, queryset, change, done: str) -> None:
        """The service, once per owner of the selected alerts (resuming keeps to ALERTS_PER_USER)."""
        owners: dict = {}
        for alert in queryset.select_related("user"):
            owners.setdefault(alert.user, []).append(alert.pk)
        count = 0
        for user, ids in owners.items():
            try:
                count += change(user=user, ids=ids)
            except AlertInvalid as refused:
                self.message_user(request, f"{user}: {refused.message}", messages.ERROR)
        self.message_user(request, f"{count} alerts {done}.", messages.SUCCESS)


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    """Firings, as the engine stored them."""

    list_display = ("id", "alert", "fired_at", "price", "bar_open", "key")
    list_filter = ("fired_at",)
    search_fields = ("=alert__id", "alert__coin__symbol", "message")
    list_select_related = ("alert", "alert__coin")
    date_hierarchy = "fired_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "symbol", "message", "fired_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "symbol", "message")
    list_select_related = ("user",)
    raw_id_fields = ("user", "alert", "event")
    readonly_fields = ("kind", "alert", "event", "symbol", "message", "price", "fired_at", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """Users' channels; a webhook's secret is not shown."""

    list_display = ("id", "user", "kind", "name", "target", "enabled", "disabled_reason", "created_at")
    list_filter = ("kind", "enabled")
    search_fields = ("=id", "user__username", "name", "address", "chat_id", "url")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    exclude = ("secret",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log, as the delivery machinery records it."""

    list_display = (
        "id",
        "channel",
        "event",
        "state",
        "attempts",
        "next_attempt_at",
        "held",
        "latency_ms",
        "created_at",
    )
    list_filter = ("state", "channel__kind", "held")
    search_fields = ("=id", "channel__user__username", "event__alert__coin__symbol", "last_error")
    list_select_related = ("channel", "event")
    date_hierarchy = "created_at"
    actions = ("replay",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Replay the selected deliveries (same webhook-id)", permissions=["view"])
    def replay(self, request, queryset) -> None:
        replays = [delivery_replay(delivery=delivery) for delivery in queryset]
        self.message_user(request, f"{len(replays)} deliveries replayed.", messages.SUCCESS)
