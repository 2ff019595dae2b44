"""API throttles: per anonymous address and per user from RATE_LIMIT_RPM, the stricter `login`
scope, answered with 429, a message saying the limit, and Retry-After."""

from __future__ import annotations

import pytest
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from scalpaiboard.accounts.models import User
from scalpaiboard.tests.test_settings import settings_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(monkeypatch):
    """Small limits: DRF's throttles read their rates once, at import, hence the patch."""
    rates = {
        "anon": "5/min",
        "user": "6/min",
        "login": "2/min",
        "ai_chat": None,
        "backtest": "3/min",
        "notify_test": None,
    }
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES", rates)
    return rates


def hammer(client: APIClient, path: str, times: int, **extra) -> list:
    return [client.get(path, **extra) for _ in range(times)]


def test_anonymous_clients_are_throttled_per_address(rates):
    client = APIClient()
    answers = hammer(client, "/api/screener", 6, REMOTE_ADDR="10.1.0.1")
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json() == {
        "detail": "Too many requests: at most 5 requests a minute from one address without a log-in "
        f"(RATE_LIMIT_RPM). Expected available in {refused['Retry-After']} seconds."
    }
    assert client.get("/api/screener", REMOTE_ADDR="10.1.0.2").status_code == 200


def test_coin_list_requests_that_miss_the_cache_are_throttled(rates, coins):
    """Answers from the market cache skip DRF (and the count); a new query string cannot."""
    client = APIClient()
    codes = [client.get("/api/coins", {"offset": n}, REMOTE_ADDR="10.1.0.3").status_code for n in range(6)]
    assert codes == [200] * 5 + [429]


def test_a_forged_forwarded_for_header_is_not_a_new_address(rates):
    client = APIClient()
    codes = [
        client.get("/api/screener", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(6)
    ]
    assert codes == [200] * 5 + [429]


def test_signed_in_users_are_throttled_per_user_at_their_own_rate(rates):
    user = User.objects.create_user(username="trader", password="x", email="t@example.com")
    client = APIClient()
    client.force_authenticate(user)
    assert [r.status_code for r in hammer(client, "/api/screener", 7, REMOTE_ADDR="10.1.2.1")] == [200] * 6 + [429]
    other = APIClient()
    other.force_authenticate(User.objects.create_user(username="other", password="x", email="o@example.com"))
    assert other.get("/api/screener", REMOTE_ADDR="10.1.2.1").status_code == 200


def test_the_jwt_views_have_the_stricter_login_scope(rates):
    client = APIClient()
    codes = [
        client.post("/api/auth/token/refresh/", {"refresh": "x"}, format="json", REMOTE_ADDR="10.1.3.1").status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 429]
    refused = client.post("/api/auth/token/", {"username": "a", "password": "b"}, format="json", REMOTE_ADDR="10.1.3.1")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(
        "Too many requests: at most 2 requests a minute to login endpoints per user or address (RATE_LIMIT_LOGIN_RPM)."
    )
    assert refused["Retry-After"]


def test_the_alert_backtest_has_its_own_stricter_scope(rates, coins):
    client = APIClient()
    client.force_authenticate(User.objects.create_user(username="tester", password="x", email="t@example.com"))
    body = {"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100}}
    codes = [client.post("/api/alerts/backtest", body, format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/alerts").status_code == 200  # the user's other requests still pass


def test_the_default_rates():
    assert api_settings.DEFAULT_THROTTLE_RATES == {
        "anon": "600/min",
        "user": "600/min",
        "login": "20/min",
        "ai_chat": "10/min",
        "backtest": "30/min",
        "notify_test": "10/min",
    }


def test_rate_limits_are_read_from_the_environment(tmp_path):
    code = "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    result = settings_of(VAR_DIR=str(tmp_path), RATE_LIMIT_RPM="0", RATE_LIMIT_LOGIN_RPM="5", code=code)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == "{'anon': None, 'user': None, 'login': '5/min', 'ai_chat': '10/min', 'backtest': '30/min', "
        "'notify_test': '10/min'}"
    )
