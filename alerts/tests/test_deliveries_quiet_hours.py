# ruff: noqa: F811  (fixtures imported from delivery_helpers)
"""Quiet hours: deliveries inside them are held, then go out as one digest when they end; urgent alerts
go out at once. Ranges are in the channel's time zone and may run across midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from alerts.deliveries import delivery_send, quiet_until
from alerts.models import Channel, Delivery
from alerts.tests.delivery_helpers import (  # noqa: F401 (fixtures)
    alert_with,
    channel_make,
    delivery_make,
    enqueued,
    fake,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _channel(start: time, end: time, zone: str = "Europe/Paris") -> Channel:
    return Channel(kind="telegram", chat_id="42", quiet_start=start, quiet_end=end, quiet_timezone=zone)


def _at(hour: int, minute: int = 0, *, day: int = 15) -> datetime:
    """A January instant in Paris (UTC+1), as UTC."""
    return datetime(2027, 1, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "end"),
    [
        (_at(23, 30), _at(7, day=16)),  # before midnight: ends tomorrow morning
        (_at(3), _at(7)),  # after midnight: ends this morning
        (_at(22), _at(7, day=16)),  # the start is inside
    ],
)
def test_a_range_across_midnight_holds_until_its_end_in_the_channel_s_zone(now, end):
    assert quiet_until(_channel(time(22), time(7)), now) == end


@pytest.mark.parametrize("now", [_at(7), _at(12), _at(21, 59)])
def test_outside_a_range_across_midnight_nothing_is_held(now):
    assert quiet_until(_channel(time(22), time(7)), now) is None


def test_a_daytime_range_holds_only_inside_it():
    channel = _channel(time(12), time(14))
    assert quiet_until(channel, _at(13)) == _at(14)
    assert quiet_until(channel, _at(14)) is None
    assert quiet_until(channel, _at(11, 59)) is None


def test_the_range_is_read_in_the_channel_s_time_zone():
    now = datetime(2027, 1, 15, 23, 30, tzinfo=UTC)  # 08:30 in Tokyo, 00:30 in Paris
    assert quiet_until(_channel(time(22), time(7), "Asia/Tokyo"), now) is None
    assert quiet_until(_channel(time(22), time(7), "Europe/Paris"), now) == _at(7, day=16)


def test_a_channel_without_quiet_hours_never_holds():
    assert quiet_until(Channel(kind="email", address="a@example.com"), _at(3)) is None


def _quiet_now(user, **fields) -> Channel:
    """A channel whose quiet hours (in Tokyo) run from an hour ago to an hour from now."""
    local = timezone.now().astimezone(ZoneInfo("Asia/Tokyo"))
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    return channel_make(user, "telegram", quiet_start=start, quiet_end=end, quiet_timezone="Asia/Tokyo", **fields)


def test_a_delivery_inside_quiet_hours_is_held_until_they_end_without_counting_an_attempt(
    user, coins, fake, enqueued, django_capture_on_commit_callbacks
):
    channel = _quiet_now(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.held, delivery.attempts) == ("pending", True, 0)
    end = quiet_until(channel, timezone.now())
    assert abs((delivery.next_attempt_at - end).total_seconds()) < 1
    [(ids, delay)] = enqueued
    assert ids == [delivery.pk] and 3500 < delay <= 3600
    assert fake.calls == []


def test_an_urgent_alert_goes_out_during_quiet_hours(user, coins, fake):
    channel = _quiet_now(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel, urgent=True), channel)
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, len(fake.calls)) == ("sent", 1)


def test_held_deliveries_go_out_as_one_digest_when_quiet_hours_end(user, coins, fake, enqueued):
    channel = _quiet_now(user)
    alert = alert_with(user, coins["BTC"], channel)
    eth = alert_with(user, coins["ETH"], channel)
    held = [delivery_make(alert, channel, ago=30), delivery_make(eth, channel, ago=20), delivery_make(alert, channel)]
    for delivery in held:
        delivery_send(delivery.pk)
    other = channel_make(user, "email")
    elsewhere = delivery_make(alert, other, held=True, next_attempt_at=timezone.now())  # not this channel's
    Channel.objects.filter(pk=channel.pk).update(quiet_start=None, quiet_end=None)
    Delivery.objects.filter(pk__in=[d.pk for d in held]).update(next_attempt_at=timezone.now())  # they end
    delivery_send(held[1].pk)  # the first task to come due takes them all
    assert Delivery.objects.filter(pk__in=[d.pk for d in held], state="sent", held=False).count() == 3
    [(channel_id, message)] = fake.calls
    assert (channel_id, message.subject) == (channel.pk, "3 alerts during quiet hours")
    lines = message.text.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "BTC crossed 100 at 101.5",
        "ETH crossed 100 at 101.5",
        "BTC crossed 100 at 101.5",
    ]
    for delivery in held:
        delivery_send(delivery.pk)  # their own tasks, later: nothing left to send
    assert len(fake.calls) == 1
    assert Delivery.objects.get(pk=elsewhere.pk).state == "pending"


def test_a_held_delivery_older_than_the_max_age_still_goes_out_in_the_digest(settings, user, coins, fake):
    settings.NOTIFY_MAX_AGE = 3600
    channel = channel_make(user, "telegram")
    alert = alert_with(user, coins["BTC"], channel)
    night = [delivery_make(alert, channel, ago=8 * 3600, held=True, next_attempt_at=timezone.now()) for _ in range(2)]
    delivery_send(night[0].pk)
    assert Delivery.objects.filter(state="sent").count() == 2
    assert fake.calls[0][1].subject == "2 alerts during quiet hours"
