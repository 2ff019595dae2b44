"""``create_alert``: an alert from exactly the body POST /api/alerts takes, through the same service and checks
(``alerts.services.alert_create``): an alert the assistant makes is the one the form or the API would make.
Undone by deleting it."""

from __future__ import annotations

from django.urls import reverse

from alerts.alert_fields import FIELDS
from alerts.selectors import alert_as_json
from alerts.services import alert_create, alerts_delete
from assistant.tools.arguments import coin_link, id_of
from assistant.tools.base import ToolError, ToolOutcome
from assistant.tools.schemas import CREATE_ALERT
from scalpaiboard.api import ApplicationError

ANSWER = ("id", "symbol", "watchlist", "condition", "condition_text", "frequency", "timeframe", "cooldown")
ANSWER_MORE = ("expires_at", "message", "note", "channels", "urgent", "status")


class CreateAlert:
    name = "create_alert"
    description = (
        "Create an alert for the user, with exactly the fields of POST /api/alerts: symbol, condition "
        '(e.g. {"kind": "crossing_up", "level": 100000} or {"kind": "rsi_crosses_above", "level": 50}), and '
        f"optionally {', '.join(name for name in FIELDS if name not in ('symbol', 'watchlist', 'condition'))}. "
        "Channels must be ids of the user's own notification channels."
    )
    parameters = CREATE_ALERT
    mutates = True

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        if not isinstance(arguments, dict):
            raise ToolError("arguments: must be a JSON object, the body of POST /api/alerts.")
        try:
            alert = alert_create(user=user, data=arguments)
        except ApplicationError as refused:
            raise ToolError(refused_words(refused)) from None
        answer = alert_as_json(alert)
        result = {key: answer[key] for key in (*ANSWER, *ANSWER_MORE)}
        links = [{"label": f"Alert {alert.pk}", "url": reverse("alerts:detail", args=[alert.pk])}]
        if alert.coin_id:
            links.append(coin_link(alert.coin.symbol))
        return ToolOutcome(result=result, links=links, undo={"alert_id": alert.pk})

    def undo(self, *, user, undo: dict) -> None:
        """Delete the alert, if it is still the user's (another user's id deletes nothing)."""
        alert_id = id_of(undo, "alert_id")
        if alert_id is not None:
            alerts_delete(user=user, ids=[alert_id])


def refused_words(refused: ApplicationError) -> str:
    """A service's refusal as one line the model can act on: each field with what is wrong and allowed."""
    fields = {name: messages for name, messages in refused.extra.items() if isinstance(messages, list)}
    if not fields:
        return refused.message
    return "; ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in fields.items())
