"""/ws notifications: signed in by the session cookie or by a JWT (a message or ?token=), refused
tokens and anonymous sockets answered with errors, and each user's notifications to that user only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from alerts.models import Alert, Notification
from alerts.notifications import notification_payload, notifications_send_on_commit
from markets.models import Coin
from markets.tests.test_consumers import HOST, ORIGIN, connect, subscribe

pytestmark = [pytest.mark.django_db(transaction=True)]

NOTIFICATIONS = {"type": "subscribed", "channel": "notifications"}


@pytest.fixture
def make_user(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # users by the dozen, quickly

    async def make(username: str, **fields):
        create = sync_to_async(django_user_model.objects.create_user)
        return await create(username, email=f"{username}@example.com", password="pw-123456789", **fields)

    return make


@sync_to_async
def notify(user, message: str) -> dict:
    """Store a notification of a fired alert of ``user`` and send it when the transaction commits, as
    firing does; return the /ws message it should make."""
    with transaction.atomic():
        alert = Alert.objects.create(
            user=user,
            coin=Coin.objects.get(symbol="BTC"),
            kind="price_above",
            condition={"kind": "price_above", "level": 1.0},
        )
        notification = Notification.objects.create(
            user=user, alert=alert, symbol="BTC", message=message, price=1.5, fired_at=timezone.now()
        )
        notifications_send_on_commit([notification])
    return notification_payload(notification)


def access_token(user, **changes) -> str:
    token = AccessToken.for_user(user)
    if changes.get("expired"):
        token.set_exp(from_time=timezone.now() - timedelta(hours=2))
    return str(token)


async def session_socket(user):
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return await connect(headers=[ORIGIN, HOST, (b"cookie", cookie)])


async def jwt_socket(user):
    ws = await connect()
    await ws.send_json_to({"action": "auth", "token": access_token(user)})
    assert await ws.receive_json_from() == {"type": "authenticated"}
    return ws


async def test_a_session_user_receives_a_notification_once_it_is_committed(coins, make_user):
    user = await make_user("trader")
    ws = await session_socket(user)
    assert await subscribe(ws, channel="notifications") == NOTIFICATIONS

    payload = await notify(user, "BTC crossed 1.0")

    assert await ws.receive_json_from() == payload
    assert payload["type"] == "notification" and payload["message"] == "BTC crossed 1.0"
    await ws.disconnect()


async def test_a_jwt_sent_as_a_message_signs_the_socket_in_for_notifications(coins, make_user):
    user = await make_user("api-client")
    ws = await jwt_socket(user)
    assert await subscribe(ws, channel="notifications") == NOTIFICATIONS

    payload = await notify(user, "from the API")

    assert await ws.receive_json_from() == payload
    await ws.disconnect()


async def test_a_jwt_on_the_url_signs_the_socket_in_for_notifications(coins, make_user):
    user = await make_user("url-client")
    ws = await connect(f"/ws?token={access_token(user)}")
    assert await ws.receive_json_from() == {"type": "authenticated"}
    assert await subscribe(ws, channel="notifications") == NOTIFICATIONS

    payload = await notify(user, "from the URL")

    assert await ws.receive_json_from() == payload
    await ws.disconnect()


async def test_an_anonymous_subscription_is_refused_saying_how_to_sign_in_and_prices_still_flow(coins):
    ws = await connect()

    reply = await subscribe(ws, channel="notifications")

    assert reply["type"] == "error"
    assert reply["message"].startswith("sign in") and '{"action": "auth", "token": ' in reply["message"]
    assert await subscribe(ws, symbols=["BTC"]) == {"type": "subscribed", "channel": "prices", "symbols": ["BTC"]}
    await ws.disconnect()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(lambda user: access_token(user, expired=True), "Token is expired", id="expired"),
        pytest.param(lambda user: "not.a.jwt", "Token is invalid", id="garbage"),
        pytest.param(lambda user: str(RefreshToken.for_user(user)), "Token has wrong type", id="a refresh token"),
        pytest.param(lambda user: access_token(user)[:-4] + "AAAA", "Token is invalid", id="forged signature"),
    ],
)
async def test_a_refused_token_is_answered_with_an_error_and_the_socket_stays_open(coins, make_user, token, reason):
    user = await make_user("trader")
    ws = await connect()

    await ws.send_json_to({"action": "auth", "token": await sync_to_async(token)(user)})

    reply = await ws.receive_json_from()
    assert reply["type"] == "error" and reply["message"].startswith(f"token refused: {reason}")
    assert (await subscribe(ws, channel="notifications"))["type"] == "error"  # still anonymous
    assert (await subscribe(ws, symbols=["BTC"]))["type"] == "subscribed"
    await ws.disconnect()


async def test_a_refused_token_on_the_url_is_answered_with_an_error_and_the_socket_stays_open(coins):
    ws = await connect("/ws?token=not.a.jwt")

    reply = await ws.receive_json_from()

    assert reply["type"] == "error" and reply["message"].startswith("token refused: Token is invalid")
    assert (await subscribe(ws, symbols=["BTC"]))["type"] == "subscribed"
    await ws.disconnect()


async def test_a_token_of_an_inactive_user_is_refused(coins, make_user):
    user = await make_user("gone", is_active=False)
    ws = await connect()

    await ws.send_json_to({"action": "auth", "token": access_token(user)})

    assert await ws.receive_json_from() == {"type": "error", "message": "token refused: User is inactive"}
    await ws.disconnect()


async def test_an_auth_message_without_a_token_names_the_field(coins):
    ws = await connect()

    await ws.send_json_to({"action": "auth"})

    reply = await ws.receive_json_from()
    assert reply["type"] == "error" and reply["message"].startswith("'token' must be a JWT access token")
    await ws.disconnect()


async def test_a_user_never_receives_another_users_notification(coins, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    alice_ws, bob_ws = await session_socket(alice), await jwt_socket(bob)
    for ws in (alice_ws, bob_ws):
        assert await subscribe(ws, channel="notifications") == NOTIFICATIONS

    for_alice = await notify(alice, "alice's alert")
    for_bob = await notify(bob, "bob's alert")

    # Each socket's first notification is its own user's: the other one's, sent before, never came.
    assert await alice_ws.receive_json_from() == for_alice
    assert await bob_ws.receive_json_from() == for_bob
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_signing_in_as_another_user_moves_the_subscription_to_that_users_notifications(coins, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    ws = await jwt_socket(alice)
    assert await subscribe(ws, channel="notifications") == NOTIFICATIONS

    await ws.send_json_to({"action": "auth", "token": access_token(bob)})
    assert await ws.receive_json_from() == {"type": "authenticated"}
    await notify(alice, "alice's alert")
    for_bob = await notify(bob, "bob's alert")

    assert await ws.receive_json_from() == for_bob
    await ws.disconnect()
