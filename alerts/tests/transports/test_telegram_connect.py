"""Connecting a Telegram chat: the one-time code and link, /start <code> linking the chat (by polling
getUpdates or through the webhook Telegram posts to), the management command registering the webhook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alerts.models import Channel
from alerts.tasks import telegram_updates_poll as telegram_updates_poll_task
from alerts.telegram_connect import (
    CONNECTED,
    NO_CODE,
    UNKNOWN_CODE,
    connect_code_create,
    telegram_updates_handle,
    telegram_updates_poll,
    telegram_webhook_secret,
)
from alerts.transports import TransportError
from alerts.transports.telegram import telegram_call

pytestmark = pytest.mark.django_db
WEBHOOK = "/api/notifications/telegram/webhook"


def telegram_channels(user) -> list[tuple[str, str, bool]]:
    return list(Channel.objects.filter(user=user, kind="telegram").values_list("chat_id", "name", "enabled"))


def test_a_code_comes_with_the_bot_link_and_expires_in_15_minutes(telegram_api, user):
    connect = connect_code_create(user=user)
    assert connect["link"] == f"https://t.me/scalpaiboard_test_bot?start={connect['code']}"
    assert len(connect["code"]) >= 16
    assert abs(connect["expires_at"] - (timezone.now() + timedelta(minutes=15))) < timedelta(seconds=5)
    assert connect_code_create(user=user)["code"] != connect["code"]


def test_without_a_bot_there_is_no_code(settings, user):
    settings.TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(TransportError, match="TELEGRAM_BOT_TOKEN is empty"):
        connect_code_create(user=user)


def test_start_with_the_code_links_the_chat_and_says_so(telegram_api, user):
    code = connect_code_create(user=user)["code"]
    telegram_api.user_sends(5001, f"/start {code}", first_name="Ann", username="ann")
    assert telegram_updates_poll() == 1
    assert telegram_channels(user) == [("5001", "Telegram @ann", True)]
    assert [m.text for m in telegram_api.messages_to(5001)] == [CONNECTED]


def test_a_code_links_one_chat_once(telegram_api, user):
    code = connect_code_create(user=user)["code"]
    telegram_api.user_sends(5001, f"/start {code}")
    telegram_api.user_sends(5002, f"/start {code}")
    assert telegram_updates_poll() == 1
    assert [c[0] for c in telegram_channels(user)] == ["5001"]
    assert [m.text for m in telegram_api.messages_to(5002)] == [UNKNOWN_CODE]


def test_a_group_is_linked_by_a_start_command_addressed_to_the_bot(telegram_api, user):
    code = connect_code_create(user=user)["code"]
    telegram_api.user_sends(-4001, f"/start@scalpaiboard_test_bot {code}")
    assert telegram_updates_poll() == 1
    assert telegram_channels(user) == [("-4001", "Telegram Group 4001", True)]


def test_linking_a_disabled_chat_again_enables_it(telegram_api, user):
    Channel.objects.create(user=user, kind="telegram", chat_id="5001", enabled=False, disabled_reason="blocked")
    telegram_api.user_sends(5001, f"/start {connect_code_create(user=user)['code']}")
    telegram_updates_poll()
    assert telegram_channels(user) == [("5001", "", True)]
    assert Channel.objects.get(user=user).disabled_reason == ""


@pytest.mark.parametrize(("text", "answer"), [("/start", NO_CODE), ("/start nosuchcode", UNKNOWN_CODE)])
def test_start_without_a_valid_code_says_what_to_do(telegram_api, user, text, answer):
    telegram_api.user_sends(5001, text)
    assert telegram_updates_poll() == 0
    assert Channel.objects.count() == 0
    assert [m.text for m in telegram_api.messages_to(5001)] == [answer]


def test_other_messages_and_updates_are_ignored(telegram_api, user):
    assert telegram_updates_handle([{"update_id": 1, "edited_message": {}}, {"update_id": 2, "message": {}}]) == 0
    telegram_api.user_sends(5001, "hello bot")
    assert telegram_updates_poll() == 0
    assert telegram_api.messages == []


def test_each_poll_asks_for_the_updates_after_the_last_one_seen(telegram_api, user):
    sent = telegram_api.user_sends(5001, "/start")
    telegram_updates_poll()
    telegram_updates_poll()
    offsets = [c.params.get("offset") for c in telegram_api.calls if c.method == "getUpdates"]
    assert offsets == [None, sent["update_id"] + 1]
    assert telegram_api.updates == []  # the offset confirmed them: Telegram forgets them
    assert len(telegram_api.messages_to(5001)) == 1


def test_the_task_polls(telegram_api, user):
    telegram_api.user_sends(5001, f"/start {connect_code_create(user=user)['code']}")
    assert telegram_updates_poll_task() == 1


def test_the_beat_polls_every_3_seconds():
    entry = django_settings.CELERY_BEAT_SCHEDULE["telegram-updates-poll"]
    assert entry["task"] == "alerts.tasks.telegram_updates_poll"
    assert entry["schedule"] == timedelta(seconds=3)


def test_polling_stops_when_updates_go_to_a_webhook(telegram_api, settings):
    settings.TELEGRAM_WEBHOOK_URL = "https://board.example/api/notifications/telegram/webhook"
    assert telegram_updates_poll() == 0
    assert telegram_api.calls == []


def test_polling_without_a_bot_does_nothing(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    assert telegram_updates_poll() == 0


def test_a_failed_poll_is_logged_not_raised(telegram_api, caplog):
    from alerts.tests.telegram_imitation import SERVER_ERROR

    telegram_api.fail_method("getUpdates", SERVER_ERROR)
    assert telegram_updates_poll() == 0
    assert "Telegram getUpdates failed: Telegram: Internal Server Error" in caplog.text


# --- the webhook --------------------------------------------------------------------------------


def test_an_update_telegram_posts_to_the_webhook_links_the_chat(telegram_api, webhook_receiver, user):
    """Telegram (the imitation) posts the update, with its secret header, to a receiver standing in for
    the site; the request it made is replayed to the view."""
    telegram_api.webhook_https_only = False
    telegram_call("setWebhook", url=webhook_receiver.url, secret_token=telegram_webhook_secret())
    telegram_api.user_sends(5001, f"/start {connect_code_create(user=user)['code']}")
    (posted,) = webhook_receiver.wait_for(1)
    response = Client().post(
        WEBHOOK,
        posted.body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": posted.headers["x-telegram-bot-api-secret-token"]},
    )
    assert response.status_code == 200
    assert telegram_channels(user) == [("5001", "Telegram @ann", True)]


def update(text: str) -> str:
    return json.dumps(
        {"update_id": 7, "message": {"message_id": 1, "chat": {"id": 5001, "type": "private"}, "text": text}}
    )


def test_the_webhook_refuses_a_wrong_or_missing_secret(telegram_api, user):
    code = connect_code_create(user=user)["code"]
    wrong = Client().post(
        WEBHOOK,
        update(f"/start {code}"),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "x"},
    )
    missing = Client().post(WEBHOOK, update(f"/start {code}"), content_type="application/json")
    assert wrong.status_code == missing.status_code == 403
    assert wrong.json()["detail"] == "X-Telegram-Bot-Api-Secret-Token: missing or wrong."
    assert Channel.objects.count() == 0


@pytest.mark.parametrize("body", ["not json", "[" * 100 + "]" * 100])
def test_the_webhook_answers_400_to_a_body_that_is_no_update(telegram_api, body):
    response = Client().post(
        WEBHOOK,
        body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": telegram_webhook_secret()},
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Request body: not a Telegram update (JSON object)."


def test_the_webhook_takes_only_posts(telegram_api):
    response = Client().get(WEBHOOK)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_the_webhook_is_not_found_without_a_bot(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    assert Client().post(WEBHOOK, "{}", content_type="application/json").status_code == 404


# --- the management command -----------------------------------------------------------------------


def test_the_command_registers_the_webhook_with_the_secret_token(telegram_api, settings, capsys):
    settings.TELEGRAM_WEBHOOK_URL = "https://board.example/api/notifications/telegram/webhook"
    call_command("telegram_webhook")
    assert telegram_api.webhook.url == settings.TELEGRAM_WEBHOOK_URL
    assert telegram_api.webhook.secret_token == telegram_webhook_secret()
    assert telegram_api.webhook.allowed_updates == ["message"]
    assert "Telegram posts the bot's updates to https://board.example/" in capsys.readouterr().out


def test_the_command_deletes_the_webhook_without_a_url(telegram_api, settings):
    settings.TELEGRAM_WEBHOOK_URL = "https://board.example/api/notifications/telegram/webhook"
    call_command("telegram_webhook")
    settings.TELEGRAM_WEBHOOK_URL = None
    call_command("telegram_webhook")
    assert telegram_api.webhook.url == ""


def test_the_command_says_why_telegram_refused(telegram_api, settings):
    from django.core.management import CommandError

    settings.TELEGRAM_WEBHOOK_URL = "http://board.example/hook"
    with pytest.raises(CommandError, match="An HTTPS URL must be provided for webhook"):
        call_command("telegram_webhook")
