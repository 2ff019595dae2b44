"""Settings → Notifications: the channel list and its empty state, adding each kind (errors on their
fields), a webhook's secret shown once, test, enable and disable, edit, delete, the Telegram connect
flow, the delivery log's live partial (filters, fixed queries, replay), the alert form's channel
picker, and another user's channel or delivery answering 404 on every page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import transports
from alerts.channels import channel_create
from alerts.models import Alert, AlertEvent, Channel, Delivery
from alerts.services import alert_create

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE = "/settings/notifications"
LOG = "/settings/notifications/deliveries"


def htmx(target: str) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def private_webhooks(settings):
    """Webhooks to this machine are allowed, as in every test that speaks to a local receiver."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


def email(user, address="me@example.com", **fields) -> Channel:
    return channel_create(user=user, data={"kind": "email", "address": address, **fields})


def html_of(response) -> str:
    return unescape(response.content.decode())


def field_errors(html: str, name: str) -> list[str]:
    """The error texts under field ``name`` (its <label class="field invalid">)."""
    match = re.search(rf'<label class="field invalid">(?:(?!</label>).)*?name="{name}"(.*?)</label>', html, re.S)
    return re.findall(r'<small class="error">(.*?)</small>', match[1]) if match else []


class FakeTransport(transports.Transport):
    """The one choke point the delivery machinery sends through, answering as told."""

    def __init__(self, error: transports.TransportError | None = None):
        self.error, self.sent = error, []

    def send(self, channel, message):
        self.sent.append((channel.pk, message))
        if self.error:
            raise self.error


@pytest.fixture
def transport(monkeypatch):
    fake = FakeTransport()
    monkeypatch.setattr(transports, "transport_for", lambda kind: fake)
    return fake


# --- the page ----------------------------------------------------------------------------------


def test_settings_leads_to_notifications_and_is_a_live_menu_entry(signed_in):
    assert signed_in.get("/settings")["Location"] == PAGE
    html = signed_in.get(PAGE).content.decode()
    assert re.search(r'<a class="nav-item active" href="/settings/notifications">Settings</a>', html)
    assert "soon" not in re.search(r'href="/settings/notifications">(.*?)</a>', html)[1]


def test_a_visitor_is_sent_to_log_in(client, db):
    for path in (PAGE, LOG, "/settings/notifications/channels/1/edit"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path


def test_without_channels_the_page_says_what_to_add(signed_in):
    html = signed_in.get(PAGE).content.decode()
    assert 'id="channels-empty"' in html and "No channels yet." in html
    assert 'id="add-email-form"' in html  # the add form opens on email


def test_each_channel_shows_its_kind_target_state_and_quiet_hours(signed_in, user):
    email(user, name="Phone mail", quiet_hours={"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"})
    channel_create(user=user, data={"kind": "telegram", "chat_id": "4242", "enabled": False})
    html = html_of(signed_in.get(PAGE))
    assert "Phone mail" in html and "me@example.com" in html
    assert "Quiet hours 22:00\u201307:00 Europe/Paris" in html
    assert re.search(r'data-kind="telegram">.*?4242.*?Disabled.*?name="enabled" value="true"', html, re.S)


def test_a_channel_turned_off_by_a_permanent_error_says_why(signed_in, user):
    channel = email(user)
    Channel.objects.filter(pk=channel.pk).update(enabled=False, disabled_reason="550 5.1.1 mailbox unknown")
    html = html_of(signed_in.get(PAGE))
    assert re.search(r'class="banner error channel-reason".*?550 5.1.1 mailbox unknown', html, re.S)


def test_the_add_panel_partial_follows_the_chosen_kind(signed_in):
    response = signed_in.get(PAGE, {"add": "webhook"}, **htmx("add-channel"))
    html = html_of(response)
    assert "<html" not in html and 'id="add-webhook-form"' in html
    assert 'name="body"' in html and "{{symbol}}" in html  # the body template, with the placeholders
    assert 'name="quiet_start"' not in html  # webhooks have no quiet hours
    html = html_of(signed_in.get(PAGE, {"add": "apprise"}, **htmx("add-channel")))
    assert "github.com/caronc/apprise/wiki" in html and 'name="quiet_timezone"' in html


# --- adding ------------------------------------------------------------------------------------


def add(client, kind: str, **fields):
    return client.post("/settings/notifications/channels", {"kind": kind, "name": "", **fields})


def test_adding_an_email_channel(signed_in, user):
    response = add(signed_in, "email", address="me@example.com", quiet_start="22:30", quiet_end="06:00",
                   quiet_timezone="Asia/Tokyo")  # fmt: skip
    channel = Channel.objects.get(user=user)
    assert response.status_code == 302 and response["Location"] == f"{PAGE}#channel-{channel.pk}"
    assert (channel.kind, channel.address, channel.quiet_timezone) == ("email", "me@example.com", "Asia/Tokyo")
    assert channel.quiet_start.strftime("%H:%M") == "22:30"


def test_adding_a_telegram_chat_by_its_id(signed_in, user):
    assert add(signed_in, "telegram", chat_id="-1001234567890").status_code == 302
    assert Channel.objects.get(user=user).chat_id == "-1001234567890"


def test_adding_an_apprise_url(signed_in, user):
    assert add(signed_in, "apprise", url="ntfy://alerts-topic").status_code == 302
    assert Channel.objects.get(user=user).url == "ntfy://alerts-topic"


def test_adding_a_webhook_shows_its_secret_once_only(signed_in, user, private_webhooks):
    response = add(signed_in, "webhook", url="http://127.0.0.1:9/hook", body='{"text": "{{symbol}}"}')
    assert response.status_code == 302
    secret = Channel.objects.get(user=user).secret
    assert secret.startswith("whsec_")
    first = signed_in.get(response["Location"]).content.decode()
    assert first.count(secret) == 1 and 'id="copy-secret"' in first
    assert "from standardwebhooks.webhooks import Webhook" in unescape(first) and "hmac.compare_digest" in first
    assert secret not in signed_in.get(PAGE).content.decode()  # never again
    edit = f"/settings/notifications/channels/{Channel.objects.get().pk}/edit"
    assert secret not in signed_in.get(edit).content.decode()


def test_a_bad_address_is_named_on_its_field(signed_in, user):
    response = add(signed_in, "email", address="not-an-address")
    html = html_of(response)
    assert response.status_code == 400 and not Channel.objects.exists()
    assert field_errors(html, "address") and "email address" in field_errors(html, "address")[0]
    assert 'value="not-an-address"' in html  # what was typed stays


def test_a_bad_chat_id_and_quiet_hours_are_named_on_their_fields(signed_in):
    html = html_of(add(signed_in, "telegram", chat_id="my chat", quiet_start="25:00", quiet_end="07:00"))
    assert field_errors(html, "chat_id") and field_errors(html, "quiet_start")


def test_an_ftp_webhook_is_named_on_its_url(signed_in):
    html = html_of(add(signed_in, "webhook", url="ftp://example.com/x"))
    assert "http" in " ".join(field_errors(html, "url"))


def test_an_unknown_kind_adds_nothing_and_says_which_exist(signed_in):
    response = add(signed_in, "pigeon", url="x")
    assert response.status_code == 302 and not Channel.objects.exists()
    assert "email, telegram, webhook, apprise" in html_of(signed_in.get(PAGE))


# --- one channel -------------------------------------------------------------------------------


def test_test_answers_sent_in_place(signed_in, user, transport):
    channel = email(user)
    response = signed_in.post(f"/settings/notifications/channels/{channel.pk}/test", **HTMX)
    html = html_of(response)
    assert "<html" not in html and re.search(r"Sent in \d+ ms", html)
    assert transport.sent[0][0] == channel.pk


def test_test_answers_the_error_in_place_and_leaves_the_channel_on(signed_in, user, transport):
    transport.error = transports.TransportError("550 no such mailbox", permanent=True)
    channel = email(user)
    html = html_of(signed_in.post(f"/settings/notifications/channels/{channel.pk}/test", **HTMX))
    assert "Not sent: 550 no such mailbox" in html and "permanent" in html
    assert Channel.objects.get(pk=channel.pk).enabled


def test_disable_then_enable_answers_the_row_and_clears_the_reason(signed_in, user):
    channel = email(user)
    url = f"/settings/notifications/channels/{channel.pk}/enabled"
    html = html_of(signed_in.post(url, {"enabled": "false"}, **HTMX))
    assert html.startswith(f'<li class="channel channel-off" id="channel-{channel.pk}"')
    assert not Channel.objects.get(pk=channel.pk).enabled
    Channel.objects.filter(pk=channel.pk).update(disabled_reason="410 Gone")
    signed_in.post(url, {"enabled": "true"}, **HTMX)
    channel.refresh_from_db()
    assert channel.enabled and channel.disabled_reason == ""


def test_edit_is_prefilled_and_saves_name_target_and_quiet_hours(signed_in, user):
    channel = email(user, name="Work")
    url = f"/settings/notifications/channels/{channel.pk}/edit"
    html = html_of(signed_in.get(url))
    assert 'value="Work"' in html and 'value="me@example.com"' in html
    response = signed_in.post(url, {"name": "Home", "address": "home@example.com", "quiet_start": "23:00",
                                    "quiet_end": "06:30", "quiet_timezone": "UTC"})  # fmt: skip
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.address, channel.quiet_end.strftime("%H:%M")) == ("Home", "home@example.com", "06:30")


def test_edit_clears_quiet_hours_when_both_times_are_emptied(signed_in, user):
    channel = email(user, quiet_hours={"start": "22:00", "end": "07:00", "timezone": "UTC"})
    url = f"/settings/notifications/channels/{channel.pk}/edit"
    cleared = {"name": "", "address": "me@example.com", "quiet_start": "", "quiet_end": "", "quiet_timezone": "UTC"}
    signed_in.post(url, cleared)
    channel.refresh_from_db()
    assert channel.quiet_start is None


def test_an_edit_with_a_bad_target_is_named_on_its_field(signed_in, user, private_webhooks):
    channel = channel_create(user=user, data={"kind": "webhook", "url": "http://127.0.0.1:9/"})
    response = signed_in.post(f"/settings/notifications/channels/{channel.pk}/edit", {"url": "gopher://x", "body": ""})
    assert response.status_code == 400 and field_errors(html_of(response), "url")


def test_delete_asks_first_then_deletes(signed_in, user):
    channel = email(user)
    url = f"/settings/notifications/channels/{channel.pk}/delete"
    assert "Delete this channel?" in signed_in.get(url).content.decode()
    assert Channel.objects.filter(pk=channel.pk).exists()
    assert signed_in.post(url)["Location"] == PAGE
    assert not Channel.objects.filter(pk=channel.pk).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/settings/notifications/channels/{}/edit"),
        ("post", "/settings/notifications/channels/{}/edit"),
        ("post", "/settings/notifications/channels/{}/enabled"),
        ("post", "/settings/notifications/channels/{}/test"),
        ("get", "/settings/notifications/channels/{}/delete"),
        ("post", "/settings/notifications/channels/{}/delete"),
    ],
)
def test_another_users_channel_is_404_on_every_page(signed_in, other, method, path):
    theirs = email(other)
    response = getattr(signed_in, method)(path.format(theirs.pk), {"enabled": "false", "address": "x@example.com"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled and theirs.address == "me@example.com"


def test_another_users_channels_are_not_listed(signed_in, other):
    email(other, address="theirs@example.com")
    assert "theirs@example.com" not in signed_in.get(PAGE).content.decode()


# --- Telegram's connect flow -------------------------------------------------------------------


def test_connect_shows_the_code_and_the_bot_link_then_polls_until_the_chat_is_linked(signed_in, user, telegram_api):
    from alerts.telegram_connect import telegram_updates_poll

    html = html_of(signed_in.post("/settings/notifications/telegram/connect", **HTMX))
    code = re.search(r'<code id="telegram-code">/start (\S+)</code>', html)[1]
    assert f'href="https://t.me/scalpaiboard_test_bot?start={code}"' in html
    wait = re.search(r'id="telegram-wait" hx-get="([^"]+)" hx-trigger="every 2s"', html)[1]
    assert 'id="telegram-wait"' in signed_in.get(wait, **HTMX).content.decode()  # not yet

    telegram_api.user_sends(31337, f"/start {code}")
    telegram_updates_poll()  # the beat task
    html = html_of(signed_in.get(wait, **HTMX))
    assert "Connected: Telegram chat <code>31337</code>" in html and "hx-trigger" not in html
    assert Channel.objects.get(user=user, kind="telegram").chat_id == "31337"


def test_connect_without_a_bot_says_to_use_another_kind(signed_in, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    html = html_of(signed_in.post("/settings/notifications/telegram/connect", **HTMX))
    assert "TELEGRAM_BOT_TOKEN is empty" in html and "hx-trigger" not in html
    assert "TELEGRAM_BOT_TOKEN is empty" in html_of(signed_in.get(PAGE, {"add": "telegram"}, **htmx("add-channel")))


def test_the_poll_waits_until_the_chat_appears_then_lists_it_out_of_band(signed_in, user):
    since = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    wait = f"/settings/notifications/telegram/wait?since={since}"
    assert 'id="telegram-wait"' in signed_in.get(wait, **HTMX).content.decode()
    channel_create(user=user, data={"kind": "telegram", "chat_id": "777"})
    html = html_of(signed_in.get(wait, **HTMX))
    assert 'id="telegram-wait"' not in html and "Connected: Telegram chat <code>777</code>" in html
    assert re.search(r'<ul class="channel-list" id="channel-list" hx-swap-oob="true">.*777', html, re.S)


def test_an_expired_code_stops_the_poll(signed_in):
    since = int((datetime.now(UTC) - timedelta(minutes=16)).timestamp())
    html = signed_in.get(f"/settings/notifications/telegram/wait?since={since}", **HTMX).content.decode()
    assert 'id="telegram-expired"' in html and "hx-trigger" not in html


# --- the delivery log --------------------------------------------------------------------------


def firing(alert: Alert, *, seconds_ago: int = 0) -> AlertEvent:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return AlertEvent.objects.create(alert=alert, key=f"t:{int(at.timestamp() * 1000)}", fired_at=at, price=100.0)


def delivery(channel: Channel, event: AlertEvent, **fields) -> Delivery:
    return Delivery.objects.create(channel=channel, event=event, **fields)


@pytest.fixture
def logged(user):
    """Two channels, two alerts and three deliveries: sent, failed (retrying) and dead."""
    mail, hook = email(user), channel_create(user=user, data={"kind": "telegram", "chat_id": "55"})
    btc = alert_create(user=user, data={"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100}})
    eth = alert_create(user=user, data={"symbol": "ETH", "condition": {"kind": "crossing_up", "level": 100}})
    retry = datetime.now(UTC) + timedelta(seconds=30)
    sent = delivery(mail, firing(btc, seconds_ago=3), state="sent", attempts=1, latency_ms=412)
    failed = delivery(
        hook, firing(btc, seconds_ago=2), state="failed", attempts=2, last_error="HTTP 502", next_attempt_at=retry
    )
    dead = delivery(mail, firing(eth, seconds_ago=1), state="dead", attempts=1, last_error="550 no mailbox")
    return {"sent": sent, "failed": failed, "dead": dead, "mail": mail, "telegram": hook, "btc": btc, "eth": eth}


def log_rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="delivery-(\d+)"', html)]


def test_the_log_lists_time_alert_channel_state_attempts_latency_error_and_next_try(signed_in, logged):
    html = html_of(signed_in.get(LOG))
    assert log_rows(html) == [logged["dead"].pk, logged["failed"].pk, logged["sent"].pk]
    row = re.search(rf'<tr id="delivery-{logged["failed"].pk}".*?</tr>', html, re.S)[0]
    assert f'href="/alerts/{logged["btc"].pk}"' in row and "BTC" in row and "55" in row
    assert 'class="state-badge state-failed">Failed' in row and "HTTP 502" in row and ">Replay<" in row
    assert f"{logged['failed'].next_attempt_at:%m-%d %H:%M:%S}" in row
    assert "412 ms" in html


def test_the_log_partial_filters_by_state_channel_and_alert_and_keeps_them_for_its_refresh(signed_in, logged):
    def rows(**params) -> list[int]:
        response = signed_in.get(LOG, params, **htmx("delivery-log"))
        assert "<html" not in response.content.decode()
        return log_rows(response.content.decode())

    assert rows(state="dead") == [logged["dead"].pk]
    assert rows(channel=logged["mail"].pk) == [logged["dead"].pk, logged["sent"].pk]
    assert rows(alert=logged["btc"].pk, channel=logged["mail"].pk) == [logged["sent"].pk]
    html = signed_in.get(LOG, {"state": "dead"}, **htmx("delivery-log")).content.decode()
    poll = rf'<div id="delivery-log"[^>]* hx-get="{LOG}\?state=dead&amp;page=1" hx-trigger="every 3s"'
    assert re.search(poll, html)  # the refresh keeps the filters


def test_the_log_without_deliveries_says_what_will_appear_and_a_filter_says_none_match(signed_in, user):
    assert "No deliveries yet." in signed_in.get(LOG).content.decode()
    assert "No deliveries match these filters." in signed_in.get(LOG, {"state": "sent"}).content.decode()


def test_a_bad_filter_is_named_instead_of_failing(signed_in, logged):
    html = html_of(signed_in.get(LOG, {"state": "lost", "alert": "x"}, **htmx("delivery-log")))
    assert 'class="banner error"' in html and "state" in html and "alert" in html


def test_the_log_partial_takes_the_same_queries_for_3_and_30_deliveries(signed_in, logged):
    with CaptureQueriesContext(connection) as few:
        signed_in.get(LOG, **htmx("delivery-log"))
    for n in range(27):
        delivery(logged["mail"], firing(logged["eth"], seconds_ago=10 + n), state="sent")
    with CaptureQueriesContext(connection) as many:
        response = signed_in.get(LOG, **htmx("delivery-log"))
    assert len(log_rows(response.content.decode())) == 25  # a page
    assert len(many) == len(few) <= 5, [q["sql"] for q in many]


def test_the_log_shows_only_the_users_deliveries(signed_in, logged, other):
    theirs = email(other)
    alert = alert_create(user=other, data={"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 1}})
    foreign = delivery(theirs, firing(alert))
    assert foreign.pk not in log_rows(signed_in.get(LOG).content.decode())
    assert log_rows(signed_in.get(LOG, {"channel": theirs.pk}).content.decode()) == []


def test_replay_makes_a_new_delivery_and_answers_the_log_as_filtered(signed_in, logged):
    dead = logged["dead"]
    response = signed_in.post(f"{LOG}/{dead.pk}/replay", {"state": "pending"}, **HTMX)
    replay = Delivery.objects.get(replay_of=dead)
    assert replay.state == "pending" and replay.webhook_id == dead.webhook_id
    html = html_of(response)
    assert log_rows(html) == [replay.pk] and f"Delivery {dead.pk} replayed as delivery {replay.pk}." in html


def test_another_users_delivery_cannot_be_replayed(signed_in, other):
    theirs = email(other)
    alert = alert_create(user=other, data={"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 1}})
    foreign = delivery(theirs, firing(alert), state="dead")
    assert signed_in.post(f"{LOG}/{foreign.pk}/replay").status_code == 404
    assert not Delivery.objects.filter(replay_of=foreign).exists()


# --- the alert form's channel picker -----------------------------------------------------------


def alert_form(**fields) -> dict:
    return {"symbol": "BTC", "kind": "crossing_up", "level": "101.5", "frequency": "once_per_bar", "timeframe": "1m",
            "cooldown": "60", "expires_at": "", "message": "", "note": "", **fields}  # fmt: skip


def test_the_alert_form_without_channels_points_to_the_settings(signed_in):
    html = html_of(signed_in.get("/alerts/new"))
    assert 'id="no-channels"' in html and 'href="/settings/notifications"' in html
    assert 'name="urgent"' in html


def test_the_alert_form_lists_the_users_channels_and_marks_disabled_ones(signed_in, user, other):
    mine = email(user, name="Phone mail")
    off = channel_create(user=user, data={"kind": "telegram", "chat_id": "9", "enabled": False})
    email(other, address="theirs@example.com")
    html = html_of(signed_in.get("/alerts/new"))
    assert f'name="channels" value="{mine.pk}"' in html and "Phone mail" in html
    assert re.search(rf'<label class="check off"><input[^>]+value="{off.pk}".*?disabled</span>', html, re.S)
    assert "theirs@example.com" not in html


def test_an_alert_saved_with_channels_and_urgent_keeps_them_and_the_edit_form_shows_them(signed_in, user):
    mine = email(user)
    response = signed_in.post("/alerts/new", alert_form(channels=[str(mine.pk)], urgent="on"))
    alert = Alert.objects.get(user=user)
    assert response.status_code == 302 and list(alert.channels.all()) == [mine] and alert.urgent
    html = signed_in.get(f"/alerts/{alert.pk}/edit").content.decode()
    assert re.search(rf'<input type="checkbox" name="channels" value="{mine.pk}"[^>]* checked', html)
    assert re.search(r'<input type="checkbox" name="urgent"[^>]* checked', html)


def test_another_users_channel_on_an_alert_is_named_on_the_picker(signed_in, other):
    theirs = email(other)
    response = signed_in.post("/alerts/new", alert_form(channels=[str(theirs.pk)]))
    html = html_of(response)
    assert response.status_code == 400 and not Alert.objects.exists()
    assert re.search(r'id="channel-picker">.*?<small class="error">[^<]+</small>', html, re.S)
