"""create_alert: the body POST /api/alerts takes, through the same service: the stored alert equals one made
through the API; its refusals name the field; undo deletes it, the user's only."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from alerts.channels import channel_create
from alerts.models import Alert
from alerts.services import alert_create
from assistant.tests.tools.conftest import run
from assistant.tools import TOOLS, ToolError

CROSSING = {"kind": "crossing_up", "level": 100000}


def email(user, address: str):
    return channel_create(user=user, data={"kind": "email", "address": address})


def stored(alert: Alert) -> dict:
    """What the alert is, apart from its identity and times."""
    fields = model_to_dict(alert, exclude=["id", "channels"])
    return {**fields, "channels": sorted(alert.channels.values_list("pk", flat=True))}


def test_the_alert_equals_one_made_through_the_api_with_the_same_body(user, coins):
    channel = email(user, "me@example.com")
    body = {
        "symbol": "btc",
        "condition": {"kind": "rsi_crosses_above", "level": 50},
        "frequency": "once_per_bar_close",
        "timeframe": "4h",
        "cooldown": 300,
        "expires_at": "2031-01-31T18:00:00Z",
        "message": "{{symbol}} RSI above 50",
        "note": "from the chat",
        "channels": [channel.pk],
        "urgent": True,
    }
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/alerts", body, format="json")
    assert response.status_code == 201
    outcome = run(user, "create_alert", **body)
    by_api, by_tool = Alert.objects.get(pk=response.json()["id"]), Alert.objects.get(pk=outcome.result["id"])
    assert stored(by_tool) == stored(by_api)
    assert stored(by_tool)["channels"] == [channel.pk] and by_tool.user == user
    answer = response.json()
    assert {key: answer[key] for key in outcome.result} == {**outcome.result, "id": answer["id"]}


def test_the_result_links_the_alert_and_the_coin_and_can_be_undone(user, coins):
    outcome = run(user, "create_alert", symbol="SOL", condition={"kind": "price_below", "level": 120})
    alert = Alert.objects.get()
    assert outcome.result["symbol"] == "SOL" and outcome.result["status"] == "active"
    assert outcome.links == [
        {"label": f"Alert {alert.pk}", "url": f"/alerts/{alert.pk}"},
        {"label": "SOL", "url": "/coins/SOL"},
    ]
    assert outcome.undo == {"alert_id": alert.pk}
    TOOLS["create_alert"].undo(user=user, undo=outcome.undo)
    assert not Alert.objects.exists()
    TOOLS["create_alert"].undo(user=user, undo=outcome.undo)  # already gone: nothing happens


def test_a_forged_undo_never_deletes_another_users_alert(user, other):
    theirs = alert_create(user=other, data={"symbol": "BTC", "condition": CROSSING})
    for forged in ({"alert_id": theirs.pk}, {"alert_id": str(theirs.pk)}, {"alert_id": True}, {}, None, []):
        TOOLS["create_alert"].undo(user=user, undo=forged)
    assert Alert.objects.filter(pk=theirs.pk).exists()


def test_another_users_channel_is_refused_naming_channels(user, other):
    theirs = email(other, "them@example.com")
    with pytest.raises(ToolError) as refused:
        run(user, "create_alert", symbol="BTC", condition=CROSSING, channels=[theirs.pk])
    assert refused.value.message.startswith("channels:") and "No channel of yours" in refused.value.message
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"symbol": "BTC", "condition": CROSSING, "colour": "red"}, "colour"),
        ({"symbol": "NOPE", "condition": CROSSING}, "symbol"),
        ({"symbol": "BT\x00C", "condition": CROSSING}, "symbol"),
        ({"symbol": 7, "condition": CROSSING}, "symbol"),
        ({"symbol": "BTC"}, "condition"),
        ({"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 1e300}}, "condition.level"),
        ({"symbol": "BTC", "condition": {"kind": "teleport"}}, "condition.kind"),
        ({"symbol": "BTC", "condition": CROSSING, "cooldown": "60"}, "cooldown"),
        ({"symbol": "BTC", "condition": CROSSING, "cooldown": 10**30}, "cooldown"),
        ({"symbol": "BTC", "condition": CROSSING, "timeframe": "2h"}, "timeframe"),
        ({"symbol": "BTC", "condition": CROSSING, "note": "a\x00b"}, "note"),
        ({"symbol": "BTC", "condition": CROSSING, "expires_at": "yesterday"}, "expires_at"),
        ({"symbol": "BTC", "condition": CROSSING, "channels": [10**30]}, "channels"),
        ({"symbol": "BTC", "condition": CROSSING, "urgent": "yes"}, "urgent"),
    ],
)
def test_bad_arguments_are_a_tool_error_naming_them(user, arguments, named):
    with pytest.raises(ToolError) as refused:
        run(user, "create_alert", **arguments)
    assert named in refused.value.message
    assert not Alert.objects.exists()


def test_arguments_that_are_not_an_object_are_refused(user):
    with pytest.raises(ToolError, match="arguments"):
        TOOLS["create_alert"].run(user=user, arguments=["BTC"])


def test_past_the_users_alert_limit_the_error_says_so(user, settings):
    settings.ALERTS_PER_USER = 1
    run(user, "create_alert", symbol="BTC", condition=CROSSING)
    with pytest.raises(ToolError, match="ALERTS_PER_USER"):
        run(user, "create_alert", symbol="ETH", condition=CROSSING)
