"""Alert writes: the checks of the body (each error named by its path), the defaults, the per-user cap,
edits that keep what the engine writes, bulk changes limited to the user's own alerts, import all or
none, and notifications marked read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.alert_fields import AlertInvalid, alert_clean
from alerts.changes import alerts_version
from alerts.models import Alert, AlertEvent, Notification
from alerts.services import (
    alert_create,
    alert_delete,
    alert_update,
    alerts_delete,
    alerts_export,
    alerts_import,
    alerts_pause,
    alerts_resume,
    notifications_read,
)

CROSSING = {"kind": "crossing_up", "level": 101.5}


def body(**fields) -> dict:
    return {"symbol": "BTC", "condition": CROSSING, **fields}


def refused(user, data: dict, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(AlertInvalid) as caught:
        alert_clean(user=user, data=data, **kwargs)
    return caught.value.errors


def later(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


# --- creating ----------------------------------------------------------------------------------------


def test_a_new_alert_has_the_defaults_and_is_active(user):
    alert = alert_create(user=user, data=body())
    assert (alert.frequency, alert.timeframe, alert.cooldown, alert.expires_at) == ("only_once", "1m", 60, None)
    assert (alert.message, alert.note, alert.status, alert.fire_count) == ("", "", "active", 0)
    assert (alert.coin.symbol, alert.kind, alert.condition) == ("BTC", "crossing_up", CROSSING)


def test_the_condition_is_stored_with_its_defaults(user):
    alert = alert_create(user=user, data=body(condition={"kind": "rsi_above", "level": 70}))
    assert alert.condition == {"kind": "rsi_above", "level": 70.0, "length": 14}


def test_creating_an_alert_tells_the_engines_after_the_commit(user, django_capture_on_commit_callbacks):
    before = alerts_version()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert_create(user=user, data=body())
    assert alerts_version() == before
    for callback in callbacks:
        callback()
    assert alerts_version() != before


def test_the_symbol_is_read_in_any_case(user):
    assert alert_create(user=user, data=body(symbol=" eth ")).coin.symbol == "ETH"


def test_a_coin_no_longer_listed_takes_no_new_alert(user, coins):
    coins["SOL"].is_active = False
    coins["SOL"].save()
    assert list(refused(user, body(symbol="SOL"))) == ["symbol"]


def test_an_alert_keeps_its_coin_once_the_feed_stops_listing_it(user, coins):
    alert = alert_create(user=user, data=body(symbol="SOL"))
    coins["SOL"].is_active = False
    coins["SOL"].save()
    assert alert_update(alert=alert, data=body(symbol="SOL", note="still here")).note == "still here"


def test_unknown_fields_are_refused_by_name(user):
    errors = refused(user, body(colour="red", status="paused"))
    assert set(errors) == {"colour", "status"}
    assert "allowed: symbol, watchlist, condition" in errors["colour"][0]
    assert "read-only" in errors["status"][0]


def test_a_field_named_detail_does_not_hide_the_answers_message(user):
    assert set(refused(user, body(detail="x"))) == {"non_field_errors"}


def test_a_body_that_is_not_an_object_is_refused(user):
    assert set(refused(user, ["BTC"])) == {"non_field_errors"}


def test_symbol_and_condition_are_required(user):
    # No target: both are named (exactly one of the two is required).
    assert set(refused(user, {})) == {"symbol", "watchlist", "condition"}


@pytest.mark.parametrize("cooldown", [-1, 7 * 86400 + 1, 1.5, "60", True])
def test_cooldown_is_whole_seconds_up_to_a_week(user, cooldown):
    assert list(refused(user, body(cooldown=cooldown))) == ["cooldown"]


def test_an_expiry_without_offset_is_utc(user):
    alert = alert_create(user=user, data=body(expires_at="2999-01-31T18:00:00"))
    assert alert.expires_at == datetime(2999, 1, 31, 18, tzinfo=UTC)


def test_an_expiry_with_an_offset_is_the_same_instant(user):
    alert = alert_create(user=user, data=body(expires_at="2999-01-31T18:00:00+02:00"))
    assert alert.expires_at == datetime(2999, 1, 31, 16, tzinfo=UTC)


@pytest.mark.parametrize("expires_at", ["tomorrow", "2999-02-30T00:00:00Z", 1893456000, "9999-12-31T23:00:00-14:00"])
def test_an_expiry_that_is_no_instant_is_refused(user, expires_at):
    errors = refused(user, body(expires_at=expires_at))
    assert list(errors) == ["expires_at"] and "ISO 8601" in errors["expires_at"][0]


def test_messages_name_known_placeholders_only(user):
    alert = alert_create(user=user, data=body(message="{{symbol}} {{ price }} {{rsi}} {{note}}"))
    assert alert.message == "{{symbol}} {{ price }} {{rsi}} {{note}}"


def test_text_longer_than_the_model_takes_is_refused(user):
    assert set(refused(user, body(message="x" * 1001, note="y" * 1001))) == {"message", "note"}


def test_text_with_nul_is_refused(user):
    assert set(refused(user, body(note="a\x00b", symbol="BT\x00C"))) == {"note", "symbol"}


def test_every_bad_field_is_named_at_once(user):
    errors = refused(user, {"symbol": "NOPE", "condition": {"kind": "crossing_up"}, "timeframe": "2m"})
    assert set(errors) == {"symbol", "condition.level", "timeframe"}


# --- ALERTS_PER_USER -----------------------------------------------------------------------------------


def test_the_alert_past_alerts_per_user_is_refused(user, settings):
    settings.ALERTS_PER_USER = 2
    for _ in range(2):
        alert_create(user=user, data=body())
    with pytest.raises(AlertInvalid, match=r"at most 2 \(ALERTS_PER_USER\)"):
        alert_create(user=user, data=body())
    assert Alert.objects.count() == 2


def test_paused_alerts_leave_room_under_alerts_per_user(user, settings):
    settings.ALERTS_PER_USER = 1
    first = alert_create(user=user, data=body())
    alerts_pause(user=user, ids=[first.pk])
    assert alert_create(user=user, data=body()).status == "active"


def test_resuming_past_alerts_per_user_is_refused(user, settings):
    settings.ALERTS_PER_USER = 1
    first = alert_create(user=user, data=body())
    alerts_pause(user=user, ids=[first.pk])
    alert_create(user=user, data=body())
    with pytest.raises(AlertInvalid, match="ALERTS_PER_USER"):
        alerts_resume(user=user, ids=[first.pk])
    first.refresh_from_db()
    assert first.status == "paused"


def test_other_users_alerts_do_not_count_towards_alerts_per_user(user, other, settings):
    settings.ALERTS_PER_USER = 1
    alert_create(user=other, data=body())
    assert alert_create(user=user, data=body()).user == user


# --- editing -----------------------------------------------------------------------------------------


def test_a_full_edit_resets_the_fields_left_out_to_their_defaults(user):
    alert = alert_create(user=user, data=body(frequency="every_time", cooldown=5, note="n"))
    alert_update(alert=alert, data=body())
    alert.refresh_from_db()
    assert (alert.frequency, alert.cooldown, alert.note) == ("only_once", 60, "")


def test_a_partial_edit_changes_only_the_fields_given(user):
    alert = alert_create(user=user, data=body(frequency="every_time", note="n"))
    alert_update(alert=alert, data={"cooldown": 300}, partial=True)
    alert.refresh_from_db()
    assert (alert.frequency, alert.cooldown, alert.note, alert.condition) == ("every_time", 300, "n", CROSSING)


def test_an_edit_keeps_the_status_and_firings_the_engine_wrote_meanwhile(user):
    alert = alert_create(user=user, data=body())
    fired = timezone.now()
    Alert.objects.filter(pk=alert.pk).update(status="triggered", fire_count=1, last_fired_at=fired)
    alert_update(alert=alert, data={"note": "edited"}, partial=True)  # ``alert`` still says active
    alert.refresh_from_db()
    assert (alert.status, alert.fire_count, alert.last_fired_at, alert.note) == ("triggered", 1, fired, "edited")


def test_a_new_condition_forgets_what_the_engine_remembered(user):
    alert = alert_create(user=user, data=body(condition={"kind": "pattern_detected", "patterns": ["bull_flag"]}))
    Alert.objects.filter(pk=alert.pk).update(engine_state={"reported": [1]})
    alert.refresh_from_db()
    alert_update(alert=alert, data={"condition": {"kind": "pattern_detected", "patterns": ["pennant"]}}, partial=True)
    alert.refresh_from_db()
    assert alert.engine_state == {}


def test_a_note_edit_keeps_what_the_engine_remembered(user):
    alert = alert_create(user=user, data=body())
    Alert.objects.filter(pk=alert.pk).update(engine_state={"reported": [1]})
    alert.refresh_from_db()
    alert_update(alert=alert, data={"note": "n"}, partial=True)
    alert.refresh_from_db()
    assert alert.engine_state == {"reported": [1]}


def test_a_refused_edit_changes_nothing(user):
    alert = alert_create(user=user, data=body())
    with pytest.raises(AlertInvalid):
        alert_update(alert=alert, data={"note": "n", "frequency": "hourly"}, partial=True)
    alert.refresh_from_db()
    assert (alert.note, alert.frequency) == ("", "only_once")


def test_deleting_an_alert_keeps_its_notifications_without_the_link(user):
    alert = alert_create(user=user, data=body())
    notification = Notification.objects.create(
        user=user, alert=alert, symbol="BTC", message="m", fired_at=timezone.now()
    )
    alert_delete(alert=alert)
    notification.refresh_from_db()
    assert notification.alert is None and not Alert.objects.exists()


# --- several at once -----------------------------------------------------------------------------------


def test_pause_changes_the_users_active_alerts_only(user, other):
    mine = [alert_create(user=user, data=body()) for _ in range(2)]
    theirs = alert_create(user=other, data=body())
    assert alerts_pause(user=user, ids=[mine[0].pk, theirs.pk]) == 1
    assert list(Alert.objects.order_by("pk").values_list("status", flat=True)) == ["paused", "active", "active"]


def test_resume_re_arms_a_triggered_alert(user):
    alert = alert_create(user=user, data=body())
    Alert.objects.filter(pk=alert.pk).update(status="triggered")
    assert alerts_resume(user=user, ids=[alert.pk]) == 1
    alert.refresh_from_db()
    assert alert.status == "active"


def test_resume_leaves_an_alert_whose_expiry_has_passed(user):
    alert = alert_create(user=user, data=body(expires_at=later(hours=1)))
    Alert.objects.filter(pk=alert.pk).update(status="expired", expires_at=timezone.now() - timedelta(minutes=1))
    assert alerts_resume(user=user, ids=[alert.pk]) == 0


def test_resume_re_arms_an_expired_alert_given_a_later_expiry(user):
    alert = alert_create(user=user, data=body(expires_at=later(hours=1)))
    Alert.objects.filter(pk=alert.pk).update(status="expired")
    assert alerts_resume(user=user, ids=[alert.pk]) == 1


def test_bulk_delete_deletes_the_users_alerts_only(user, other):
    mine = alert_create(user=user, data=body())
    theirs = alert_create(user=other, data=body())
    AlertEvent.objects.create(alert=mine, key="t:1", fired_at=timezone.now(), price=1.0)
    assert alerts_delete(user=user, ids=[mine.pk, theirs.pk, 10**12]) == 1
    assert list(Alert.objects.values_list("pk", flat=True)) == [theirs.pk]


# --- export and import ---------------------------------------------------------------------------------


def test_export_then_import_gives_the_same_alerts(user, other):
    alert_create(user=user, data=body(frequency="every_time", cooldown=30, message="{{price}}", note="a"))
    alert_create(user=user, data=body(symbol="ETH", condition={"kind": "volume_spike", "factor": 3, "bars": 20}))
    exported = alerts_export(user=user)
    alerts_import(user=other, items=exported)
    assert alerts_export(user=other) == exported


def test_an_import_with_a_bad_alert_imports_none_and_names_each_bad_one(user):
    items = [body(), body(symbol="NOPE"), body(condition={"kind": "crossing_up", "level": -1}), "BTC"]
    with pytest.raises(AlertInvalid) as caught:
        alerts_import(user=user, items=items)
    assert set(caught.value.errors) == {"alerts[1].symbol", "alerts[2].condition.level", "alerts[3]"}
    assert caught.value.message == "3 of the 4 alerts are not valid; none was imported."
    assert not Alert.objects.exists()


def test_an_import_past_alerts_per_user_imports_none(user, settings):
    settings.ALERTS_PER_USER = 2
    alert_create(user=user, data=body())
    with pytest.raises(AlertInvalid, match="ALERTS_PER_USER"):
        alerts_import(user=user, items=[body(), body()])
    assert Alert.objects.count() == 1


@pytest.mark.parametrize("items", [[], {"alerts": []}, None])
def test_an_import_needs_a_list_of_alerts(user, items):
    with pytest.raises(AlertInvalid) as caught:
        alerts_import(user=user, items=items)
    assert list(caught.value.errors) == ["alerts"]


# --- notifications -------------------------------------------------------------------------------------


def notify(user, count: int) -> list[Notification]:
    return [
        Notification.objects.create(user=user, symbol="BTC", message=f"m{n}", fired_at=timezone.now())
        for n in range(count)
    ]


def test_reading_some_notifications_marks_those_only(user, other):
    mine, theirs = notify(user, 3), notify(other, 1)
    assert notifications_read(user=user, ids=[mine[0].pk, theirs[0].pk]) == 1
    assert Notification.objects.filter(read_at=None).count() == 3


def test_reading_all_notifications_marks_the_users_unread_ones(user, other):
    notify(user, 3)
    notify(other, 1)
    notifications_read(user=user, ids=[Notification.objects.filter(user=user).first().pk])
    assert notifications_read(user=user, ids=None) == 2
    assert list(Notification.objects.filter(read_at=None).values_list("user", flat=True)) == [other.pk]
