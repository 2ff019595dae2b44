"""What the delivery tests share: a scripted fake transport installed at ``transport_for`` (the one choke
point), a recorder of what is enqueued, and channels, alerts and firings to deliver."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.conditions import condition_clean
from alerts.models import Alert, AlertEvent, Channel, Delivery
from alerts.transports import Message


@dataclass
class FakeTransport:
    """Answers each send with the next scripted outcome (None: accepted; an exception: raised), then
    accepts; records every (channel id, message)."""

    script: list = field(default_factory=list)
    calls: list[tuple[int, Message]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    before_send: object = None  # called inside send, e.g. to hold two senders at the same point

    def send(self, channel: Channel, message: Message) -> None:
        if self.before_send:
            self.before_send()
        with self.lock:
            self.calls.append((channel.pk, message))
            outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome


@pytest.fixture
def fake(monkeypatch) -> FakeTransport:
    transport = FakeTransport()
    monkeypatch.setattr("alerts.transports.transport_for", lambda kind: transport)
    return transport


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[list[int], float]]:
    """(ids, delay) of every deliveries_enqueue call, instead of sending."""
    calls = []
    monkeypatch.setattr("alerts.dispatch.deliveries_enqueue", lambda ids, *, delay=0.0: calls.append((ids, delay)))
    return calls


def channel_make(user, kind: str = "webhook", **fields) -> Channel:
    targets = {"email": {"address": "t@example.com"}, "telegram": {"chat_id": "42"}}
    defaults = targets.get(kind, {"url": "https://hooks.example.com/in", "secret": "whsec_dGVzdHRlc3R0ZXN0dGVzdA=="})
    return Channel.objects.create(user=user, kind=kind, **{**defaults, **fields})


def alert_with(user, coin, *channels: Channel, **fields) -> Alert:
    condition = condition_clean({"kind": "crossing_up", "level": 100})
    alert = Alert.objects.create(
        user=user, coin=coin, kind=condition["kind"], condition=condition, frequency="every_time", cooldown=0, **fields
    )
    alert.channels.set(channels)
    return alert


def delivery_make(alert: Alert, channel: Channel, *, ago: float = 1.0, **fields) -> Delivery:
    """A pending delivery of a new firing of ``alert``, fired ``ago`` seconds ago."""
    fired_at = timezone.now() - timedelta(seconds=ago)
    event = AlertEvent.objects.create(
        alert=alert,
        key=f"t:{fired_at.timestamp()}:{AlertEvent.objects.count()}",
        fired_at=fired_at,
        price=101.5,
        values={"previous": 99.0},
        message=f"{alert.coin.symbol} crossed 100 at 101.5",
    )
    return Delivery.objects.create(event=event, channel=channel, **fields)
