"""Alert pages: the manager and its HTMX partials, the form (fields by kind, errors inline), the
history, deletion, the bell's notifications, and another user's alert answering 404 everywhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertEvent, Notification
from alerts.services import alert_create

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user("trader", password="a long pass phrase", email="t@example.com")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("other", password="another long phrase", email="o@example.com")


@pytest.fixture
def signed_in(client, coins, trader):
    client.force_login(trader)
    return client


def make_alert(user, symbol="BTC", **condition) -> Alert:
    condition = condition or {"kind": "crossing_up", "level": 100}
    return alert_create(user=user, data={"symbol": symbol, "condition": condition})


def fire(alert: Alert, *, price: float, at: datetime, unread: bool = True) -> Notification:
    event = AlertEvent.objects.create(alert=alert, key=f"t:{int(at.timestamp() * 1000)}", fired_at=at, price=price)
    Alert.objects.filter(pk=alert.pk).update(last_fired_at=at, fire_count=alert.fire_count + 1)
    return Notification.objects.create(
        user=alert.user, alert=alert, event=event, symbol=alert.coin.symbol, message=f"{alert.coin.symbol} at {price}",
        price=price, fired_at=at, read_at=None if unread else at,
    )  # fmt: skip


def form_data(**fields) -> dict:
    return {"symbol": "BTC", "kind": "crossing_up", "level": "101.5", "frequency": "once_per_bar", "timeframe": "1m",
            "cooldown": "60", "expires_at": "", "message": "", "note": "", **fields}  # fmt: skip


def field_errors(html: str, name: str) -> list[str]:
    """The error texts under field ``name`` (its <label class="field invalid"> or fieldset)."""
    field = rf'<(label|div) class="field[^"]*invalid[^"]*"[^>]*>(?:(?!</\1>).)*?name="{name}"(.*?)</\1>'
    match = re.search(field, html, re.S)
    return [unescape(e) for e in re.findall(r'<small class="error">(.*?)</small>', match.group(0))] if match else []


# --- the manager ----------------------------------------------------------------------------------


def test_manager_lists_each_alert_with_its_condition_in_words_status_last_firing_and_count(signed_in, trader):
    alert = make_alert(trader, "ETH", kind="entering_channel", low=2900, high=3100)
    fire(alert, price=2950.0, at=datetime(2026, 12, 7, 3, 59, 58, tzinfo=UTC))
    html = signed_in.get("/alerts").content.decode()
    row = html.split(f'id="alert-{alert.pk}"')[1].split("</tr>")[0]
    assert "ETH" in row and "enters the channel 2900 to 3100" in row
    assert "Active" in row and "12-07 03:59:58" in row and '<td class="num col-count">1</td>' in row


def test_manager_filters_by_status_coin_and_kind_in_its_table_partial(signed_in, trader):
    btc = make_alert(trader, "BTC")
    eth = make_alert(trader, "ETH", kind="rsi_above", level=70)
    Alert.objects.filter(pk=eth.pk).update(status="paused")
    html = signed_in.get("/alerts", {"symbol": "eth"}, **htmx("alert-table")).content.decode()
    assert "<html" not in html and f'id="alert-{eth.pk}"' in html and f'id="alert-{btc.pk}"' not in html
    html = signed_in.get("/alerts", {"status": "active"}, **htmx("alert-table")).content.decode()
    assert f'id="alert-{btc.pk}"' in html and f'id="alert-{eth.pk}"' not in html
    html = signed_in.get("/alerts", {"kind": "rsi_above"}, **htmx("alert-table")).content.decode()
    assert f'id="alert-{eth.pk}"' in html and f'id="alert-{btc.pk}"' not in html


def test_manager_names_a_bad_filter_instead_of_failing(signed_in, trader):
    make_alert(trader)
    response = signed_in.get("/alerts", {"status": "sleeping"}, **htmx("alert-table"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>status</strong>" in html and "Fix the filters above to see alerts." in html


def test_manager_without_alerts_invites_to_create_one_and_filtered_empty_says_so(signed_in, trader):
    html = signed_in.get("/alerts").content.decode()
    assert "No alerts yet." in html and 'href="/alerts/new"' in html
    make_alert(trader)
    html = signed_in.get("/alerts", {"symbol": "SOL"}, **htmx("alert-table")).content.decode()
    assert "No alerts match these filters." in html


def test_manager_page_makes_the_same_number_of_queries_for_3_and_30_alerts(signed_in, trader):
    for _ in range(3):
        make_alert(trader)
    with CaptureQueriesContext(connection) as few:
        assert signed_in.get("/alerts").status_code == 200
    for _ in range(27):
        make_alert(trader, "ETH")
    with CaptureQueriesContext(connection) as many:
        html = signed_in.get("/alerts").content.decode()
    assert html.count('class="alert-row') == 30
    assert len(many) == len(few), [q["sql"] for q in many]


def test_manager_table_partial_takes_a_fixed_number_of_queries(signed_in, trader, django_assert_num_queries):
    for _ in range(12):
        make_alert(trader)
    # session, user, count for the pager, the page of alerts with their coins
    with django_assert_num_queries(4):
        signed_in.get("/alerts", **htmx("alert-table"))


def test_alert_pages_send_a_visitor_to_log_in(client, coins, trader):
    alert = make_alert(trader)
    for path in ("/alerts", "/alerts/new", f"/alerts/{alert.pk}", f"/alerts/{alert.pk}/edit", "/alerts/notifications"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path


def test_a_row_partial_answers_the_managers_live_refresh(signed_in, trader):
    alert = make_alert(trader)
    fire(alert, price=101.0, at=datetime(2026, 12, 7, 4, 0, 1, tzinfo=UTC))
    html = signed_in.get(f"/alerts/{alert.pk}", **htmx(f"alert-{alert.pk}")).content.decode()
    assert html.startswith(f'<tr id="alert-{alert.pk}"') and "12-07 04:00:01" in html


# --- bulk actions ---------------------------------------------------------------------------------


def test_bulk_pause_changes_only_the_checked_alerts_and_answers_the_table(signed_in, trader):
    first, second = make_alert(trader), make_alert(trader, "ETH")
    response = signed_in.post("/alerts/bulk", {"action": "pause", "ids": [first.pk]}, **htmx("alert-table"))
    html = response.content.decode()
    assert {a.pk: a.status for a in Alert.objects.all()} == {first.pk: "paused", second.pk: "active"}
    assert "Paused 1 alert." in html and "<html" not in html


def test_bulk_resume_and_delete(signed_in, trader):
    first, second = make_alert(trader), make_alert(trader, "ETH")
    Alert.objects.update(status="paused")
    signed_in.post("/alerts/bulk", {"action": "resume", "ids": [first.pk, second.pk]}, **htmx("alert-table"))
    assert set(Alert.objects.values_list("status", flat=True)) == {"active"}
    response = signed_in.post("/alerts/bulk", {"action": "delete", "ids": [second.pk]})
    assert response.status_code == 302 and list(Alert.objects.values_list("pk", flat=True)) == [first.pk]


def test_bulk_actions_leave_another_users_alerts_alone(signed_in, other):
    theirs = make_alert(other)
    signed_in.post("/alerts/bulk", {"action": "delete", "ids": [theirs.pk]}, **htmx("alert-table"))
    signed_in.post("/alerts/bulk", {"action": "pause", "ids": [theirs.pk]}, **htmx("alert-table"))
    assert Alert.objects.get(pk=theirs.pk).status == "active"


def test_bulk_without_a_choice_says_what_to_do(signed_in, trader):
    make_alert(trader)
    html = signed_in.post("/alerts/bulk", {"action": "pause"}, **htmx("alert-table")).content.decode()
    assert "Tick the alerts to change first." in html


# --- another user's alert -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("get", "/edit"), ("post", "/edit"), ("get", "/delete"), ("post", "/delete")],
)
def test_another_users_alert_is_404_on_every_page(signed_in, other, method, path):
    theirs = make_alert(other)
    response = getattr(signed_in, method)(f"/alerts/{theirs.pk}{path}", form_data() if method == "post" else {})
    assert response.status_code == 404
    assert Alert.objects.filter(pk=theirs.pk, condition__level=100).exists()


def test_another_users_alert_row_partial_is_404(signed_in, other):
    theirs = make_alert(other)
    assert signed_in.get(f"/alerts/{theirs.pk}", **htmx(f"alert-{theirs.pk}")).status_code == 404


# --- the form -------------------------------------------------------------------------------------


def test_form_has_the_parameter_fields_of_the_kind_in_the_query(signed_in):
    html = signed_in.get("/alerts/new", {"symbol": "ETH", "kind": "entering_channel", "low": "2900"}).content.decode()
    assert 'name="low"' in html and 'name="high"' in html and 'name="level"' not in html
    assert '<option value="entering_channel" selected>' in html and 'data-kind="entering_channel"' in html
    assert re.search(r'name="low"[^>]*value="2900"|value="2900"[^>]*name="low"', html)
    assert re.search(r'name="symbol"[^>]*value="ETH"|value="ETH"[^>]*name="symbol"', html)


def test_changing_the_kind_swaps_only_the_parameter_fieldset(signed_in):
    params = {"kind": "rsi_crosses_below", "level": "70"}
    html = signed_in.get("/alerts/new", params, **htmx("condition-params")).content.decode()
    assert "<form" not in html and "<legend>Parameters</legend>" in html
    assert 'name="level"' in html and 'name="length"' in html and 'placeholder="14"' in html


def test_form_explains_each_frequency_with_a_worked_example(signed_in):
    html = signed_in.get("/alerts/new").content.decode()
    for value in ("only_once", "once_per_bar", "once_per_bar_close", "every_time"):
        assert f'value="{value}"' in html
    assert html.count("Example: ") == 4
    assert "Indicator conditions fire at bar closes whatever the frequency." in html


def test_creating_an_alert_saves_it_and_opens_its_page(signed_in, trader):
    response = signed_in.post("/alerts/new", form_data(note="breakout"))
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}"
    assert (alert.user, alert.coin.symbol, alert.condition) == (trader, "BTC", {"kind": "crossing_up", "level": 101.5})
    assert (alert.frequency, alert.note) == ("once_per_bar", "breakout")
    assert "Alert created: BTC crosses up 101.5." in signed_in.get(response["Location"]).content.decode()


def test_a_missing_level_is_named_under_the_level_field(signed_in):
    response = signed_in.post("/alerts/new", form_data(level=""))
    html = response.content.decode()
    assert response.status_code == 400 and not Alert.objects.exists()
    assert field_errors(html, "level") == ["This parameter is required."]


def test_each_bad_field_shows_its_own_error_inline(signed_in):
    data = form_data(kind="entering_channel", low="3000", high="2000", symbol="NOPE", message="{{pnl}}", cooldown="x")
    html = signed_in.post("/alerts/new", data).content.decode()
    assert any("Unknown coin 'NOPE'" in e for e in field_errors(html, "symbol"))
    assert any("Unknown placeholders {{pnl}}" in e for e in field_errors(html, "message"))
    assert any("whole number of seconds" in e for e in field_errors(html, "cooldown"))


def test_a_channel_whose_low_is_not_under_its_high_is_named_on_low(signed_in):
    html = signed_in.post("/alerts/new", form_data(kind="entering_channel", low="3000", high="2000")).content.decode()
    assert field_errors(html, "low") == ["Must be lower than high."]


def test_a_typed_word_for_a_number_gets_the_services_message(signed_in):
    html = signed_in.post("/alerts/new", form_data(level="abc")).content.decode()
    assert field_errors(html, "level") == ["Must be a number."]


def test_an_all_of_conditions_error_names_the_inner_condition(signed_in):
    conditions = '[{"kind": "crossing_up", "level": 100}, {"kind": "rsi_above", "level": -1}]'
    html = signed_in.post("/alerts/new", form_data(kind="all_of", conditions=conditions)).content.decode()
    assert field_errors(html, "conditions") == ["[1].level: Must be greater than 0 and at most 100."]


def test_an_all_of_alert_is_created_from_its_json(signed_in):
    conditions = '[{"kind": "crossing_up", "level": 100}, {"kind": "rsi_above", "level": 60}]'
    assert signed_in.post("/alerts/new", form_data(kind="all_of", conditions=conditions)).status_code == 302
    assert Alert.objects.get().condition["conditions"][1] == {"kind": "rsi_above", "level": 60.0, "length": 14}


def test_an_expiry_in_the_past_is_named_under_expires(signed_in):
    html = signed_in.post("/alerts/new", form_data(expires_at="2020-01-01T10:00")).content.decode()
    assert any("Must be in the future" in e for e in field_errors(html, "expires_at"))


def test_edit_form_is_prefilled_and_saves_the_change(signed_in, trader):
    alert = make_alert(trader, "ETH", kind="moving_up", percent=5, bars=12)
    html = signed_in.get(f"/alerts/{alert.pk}/edit").content.decode()
    assert re.search(r'name="percent"[^>]*value="5"', html) and re.search(r'name="bars"[^>]*value="12"', html)
    data = form_data(symbol="ETH", kind="moving_up", percent="7.5", bars="12", level="")
    response = signed_in.post(f"/alerts/{alert.pk}/edit", data)
    assert response.status_code == 302
    assert Alert.objects.get().condition == {"kind": "moving_up", "percent": 7.5, "bars": 12}


def test_an_htmx_create_from_the_coin_chart_answers_a_short_confirmation(signed_in):
    data = {"symbol": "BTC", "kind": "crossing", "level": "97000", "frequency": "only_once", "timeframe": "1m"}
    html = signed_in.post("/alerts/new", data, **htmx("price-alert-result")).content.decode()
    alert = Alert.objects.get()
    assert f'data-created="{alert.pk}"' in html and "Alert set: BTC crosses 97000." in html
    html = signed_in.post("/alerts/new", {**data, "level": "-1"}, **htmx("price-alert-result")).content.decode()
    assert "Must be greater than 0" in html and Alert.objects.count() == 1


# --- history and deletion -------------------------------------------------------------------------


def test_history_lists_each_firing_and_gives_the_chart_its_markers(signed_in, trader):
    alert = make_alert(trader)
    now = datetime.now(UTC).replace(microsecond=0)
    fire(alert, price=101.25, at=now - timedelta(minutes=30))
    fire(alert, price=100.5, at=now - timedelta(minutes=5))
    html = signed_in.get(f"/alerts/{alert.pk}").content.decode()
    assert html.count("<tr data-event=") == 2 and "101.25" in html
    chart = re.search(r'class="mini-chart history-chart"[^>]*', html).group(0)
    assert 'data-candles-url="/api/coins/BTC/candles"' in chart and 'data-timeframe="1m"' in chart
    assert chart.count("&quot;price&quot;") == 2


def test_history_panel_partial_refreshes_on_a_firing(signed_in, trader):
    alert = make_alert(trader)
    fire(alert, price=101.0, at=datetime.now(UTC))
    html = signed_in.get(f"/alerts/{alert.pk}", **htmx("alert-history")).content.decode()
    assert "<html" not in html and html.count("<tr data-event=") == 1


def test_history_of_an_alert_that_never_fired_says_so(signed_in, trader):
    alert = make_alert(trader)
    assert "Not fired yet." in signed_in.get(f"/alerts/{alert.pk}").content.decode()


def test_delete_asks_first_then_deletes(signed_in, trader):
    alert = make_alert(trader)
    html = signed_in.get(f"/alerts/{alert.pk}/delete").content.decode()
    assert "Delete this alert?" in html and "crosses up 100" in html and Alert.objects.exists()
    response = signed_in.post(f"/alerts/{alert.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/alerts" and not Alert.objects.exists()


# --- the bell -------------------------------------------------------------------------------------


def test_header_shows_the_unread_count_on_every_page(signed_in, trader):
    alert = make_alert(trader)
    for minute in range(3):
        fire(alert, price=100.0, at=datetime(2026, 12, 7, 4, minute, tzinfo=UTC), unread=minute > 0)
    html = signed_in.get("/").content.decode()
    assert re.search(r'<span class="bell-count" id="bell-count" data-count="2">2</span>', html)
    assert "js/bell.js" in html


def test_a_visitor_has_no_bell(client, coins):
    html = client.get("/").content.decode()
    assert 'id="bell"' not in html and "js/bell.js" not in html


def test_alerts_is_a_live_menu_entry(signed_in):
    html = signed_in.get("/alerts").content.decode()
    assert '<a class="nav-item active" href="/alerts">Alerts</a>' in html and "Alerts <small>soon" not in html


def test_dropdown_lists_recent_notifications_and_the_count_out_of_band(signed_in, trader):
    alert = make_alert(trader)
    for minute in range(12):
        fire(alert, price=100.0 + minute, at=datetime(2026, 12, 7, 4, minute, tzinfo=UTC))
    html = signed_in.get("/alerts/notifications", **htmx("bell-menu")).content.decode()
    assert html.count("data-notification=") == 10
    assert 'id="bell-count" data-count="12" hx-swap-oob="true"' in html
    assert "BTC at 111.0" in html and "BTC at 100.0" not in html  # newest first


def test_marking_one_notification_read(signed_in, trader):
    alert = make_alert(trader)
    first = fire(alert, price=1.0, at=datetime(2026, 12, 7, 4, 0, tzinfo=UTC))
    second = fire(alert, price=2.0, at=datetime(2026, 12, 7, 4, 1, tzinfo=UTC))
    html = signed_in.post("/alerts/notifications/read", {"ids": [first.pk]}, **htmx("bell-menu")).content.decode()
    assert list(Notification.objects.filter(read_at=None).values_list("pk", flat=True)) == [second.pk]
    assert 'data-count="1"' in html


def test_marking_all_notifications_read_leaves_other_users_unread(signed_in, trader, other):
    fire(make_alert(trader), price=1.0, at=datetime(2026, 12, 7, 4, 0, tzinfo=UTC))
    theirs = fire(make_alert(other), price=1.0, at=datetime(2026, 12, 7, 4, 0, tzinfo=UTC))
    html = signed_in.post("/alerts/notifications/read", {"all": "1"}, **htmx("bell-menu")).content.decode()
    assert 'data-count="0"' in html and "Mark all read" not in html
    assert list(Notification.objects.filter(read_at=None).values_list("pk", flat=True)) == [theirs.pk]


def test_an_empty_dropdown_says_what_will_appear(signed_in):
    html = signed_in.get("/alerts/notifications", **htmx("bell-menu")).content.decode()
    assert "No notifications yet." in html


def test_resuming_past_the_limit_says_so(signed_in, trader, settings):
    second = make_alert(trader, "ETH")
    Alert.objects.filter(pk=second.pk).update(status="paused")
    make_alert(trader)
    settings.ALERTS_PER_USER = 1
    response = signed_in.post("/alerts/bulk", {"action": "resume", "ids": [second.pk]}, **htmx("alert-table"))
    html = response.content.decode()
    assert "may have at most 1 (ALERTS_PER_USER)" in html and Alert.objects.get(pk=second.pk).status == "paused"


# --- alerts from the market pages -----------------------------------------------------------------


def suggestion_forms(html: str) -> list[dict]:
    """The hidden fields of each one-click alert form among the analysis page's ideas."""
    forms = re.findall(r'<form method="post" action="/alerts/new" class="suggestion-form">(.*?)</form>', html, re.S)
    return [dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)) for form in forms]


@pytest.fixture
def btc_hours(coins):
    from markets.tests.analysis_data import bars_store, random_walk

    bars_store("BTC", "1h", random_walk(250, seed=9, drift=0.004))


def test_analysis_ideas_become_alerts_in_one_click(signed_in, btc_hours):
    html = signed_in.get("/coins/BTC/analysis", {"timeframe": "1h"}).content.decode()
    forms = suggestion_forms(html)
    rsi = next(f for f in forms if f["kind"].startswith("rsi_"))
    assert (rsi["symbol"], rsi["timeframe"], rsi["frequency"]) == ("BTC", "1h", "only_once")
    assert rsi["level"] in ("30", "70") and "csrfmiddlewaretoken" in rsi
    response = signed_in.post("/alerts/new", rsi)
    alert = Alert.objects.get()
    assert response.status_code == 302 and alert.timeframe == "1h"
    assert alert.condition == {"kind": rsi["kind"], "level": float(rsi["level"]), "length": 14}


def test_every_analysis_idea_makes_a_valid_alert(signed_in, btc_hours):
    forms = suggestion_forms(signed_in.get("/coins/BTC/analysis", {"timeframe": "1h"}).content.decode())
    assert len(forms) >= 3
    for fields in forms:
        assert signed_in.post("/alerts/new", fields).status_code == 302, fields
    assert Alert.objects.count() == len(forms)


def test_a_visitor_is_asked_to_log_in_for_one_click_ideas(client, btc_hours):
    html = client.get("/coins/BTC/analysis", {"timeframe": "1h"}).content.decode()
    assert not suggestion_forms(html) and "to set these alerts in one click." in html


def test_the_coin_chart_offers_a_price_alert_to_a_signed_in_trader(signed_in):
    html = signed_in.get("/coins/BTC").content.decode()
    form = re.search(r'<form class="price-alert" id="price-alert".*?</form>', html, re.S).group(0)
    assert 'hx-post="/alerts/new"' in form and 'name="kind" value="crossing"' in form and 'name="level"' in form
    assert "js/price_alert.js" in html


def test_a_visitor_gets_no_price_alert_form(client, coins):
    html = client.get("/coins/BTC").content.decode()
    assert 'id="price-alert"' not in html and "to set an alert by clicking a price on the chart." in html


# --- the backtest preview -------------------------------------------------------------------------


def minute_closes(closes: list[float]):
    """1m bars with these closes, the last one closed a minute ago."""
    import numpy as np

    from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME

    end = int(datetime.now(UTC).timestamp()) // 60 * 60 - 60
    bars = np.zeros((len(closes), 6))
    bars[:, TIME] = end - 60 * np.arange(len(closes) - 1, -1, -1)
    bars[:, OPEN] = bars[:, HIGH] = bars[:, LOW] = bars[:, CLOSE] = closes
    bars[:, VOLUME] = 1.0
    return bars


def test_preview_tells_how_often_the_alert_would_have_fired_and_where(signed_in):
    from markets.tests.analysis_data import bars_store

    bars_store("BTC", "1m", minute_closes([100, 102, 98, 103, 99]))  # crosses up 101 twice
    html = signed_in.post("/alerts/preview", form_data(level="101")).content.decode()
    assert "Would have fired 2 times in 30 days" in html and "replayed on 1m closes" in html
    chart = re.search(r'<div class="mini-chart"[^>]*>', html).group(0)
    assert 'data-candles-url="/api/coins/BTC/candles"' in chart and chart.count("&quot;time&quot;") == 2
    assert not Alert.objects.exists()  # a preview saves nothing


def test_preview_of_an_incomplete_alert_says_what_is_missing(signed_in):
    html = signed_in.post("/alerts/preview", form_data(level="")).content.decode()
    assert "The preview needs a complete alert" in html
    assert "<strong>Level</strong>: This parameter is required." in html
