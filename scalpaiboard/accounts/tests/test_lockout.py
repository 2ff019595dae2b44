"""The log-in lock-out on each surface (page, admin, JWT): how many failures until it, what it
says, how long it lasts, and what a success forgives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from scalpaiboard.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "pl4in-Sailing!"
LIMIT = 5  # LOGIN_FAILURE_LIMIT's default
LOCKED = "Too many failed log-ins for this account or from this address (at most 5 in 15 minutes)."


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    """Dozens of log-ins per test: the slow production hasher only costs time here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def trader():
    return User.objects.create_user(username="trader", password=PASSWORD, email="trader@example.com")


@pytest.fixture
def operator():
    return User.objects.create_superuser(username="operator", password=PASSWORD, email="operator@example.com")


def page_login(client: Client, username: str, password: str, *, address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def admin_login(client: Client, username: str, password: str, *, address: str = "10.0.0.1"):
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post("/admin/login/", data, REMOTE_ADDR=address)


def jwt_login(client: Client, username: str, password: str, *, address: str = "10.0.0.1"):
    data = {"username": username, "password": password}
    return APIClient().post("/api/auth/token/", data, format="json", REMOTE_ADDR=address)


def attempts_until_refused(login, username: str) -> int:
    """Wrong passwords sent until an answer is a 429 (at most 60, what the issue measured)."""
    client = Client()
    for attempt in range(1, 61):
        if login(client, username, "wrong").status_code == 429:
            return attempt
    return 0


@pytest.mark.parametrize(("login", "user"), [(page_login, "trader"), (admin_login, "operator"), (jwt_login, "trader")])
def test_every_surface_locks_out_at_the_fifth_wrong_password(trader, operator, login, user):
    assert attempts_until_refused(login, user) == LIMIT


def test_the_log_in_page_says_why_and_when_to_retry(client, trader):
    for _ in range(LIMIT - 1):
        response = page_login(client, "trader", "wrong")
        assert response.status_code == 200 and "correct username and password" in response.content.decode()
    response = page_login(client, "trader", "wrong")
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert response.context["form"].errors["__all__"] == [f"{LOCKED} Try again in 15 minutes."]
    assert 'role="alert"' in response.content.decode() and LOCKED in response.content.decode()


def test_the_admin_log_in_says_why(client, operator):
    for _ in range(LIMIT):
        response = admin_login(client, "operator", "wrong")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert response.templates[0].name == "admin/login.html"


def test_the_jwt_view_answers_429_json_with_retry_after(trader):
    for _ in range(LIMIT):
        response = jwt_login(None, "trader", "wrong")
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert response.json() == {"detail": f"{LOCKED} Try again in 15 minutes.", "retry_after": 900}


@pytest.mark.parametrize("login", [page_login, jwt_login])
def test_the_right_password_is_refused_during_the_lockout(client, trader, login):
    for _ in range(LIMIT):
        login(client, "trader", "wrong")
    assert login(client, "trader", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_account_whatever_the_address(client, trader):
    for number in range(LIMIT):
        page_login(client, "trader", "wrong", address=f"10.0.1.{number}")
    assert page_login(client, "trader", PASSWORD, address="10.0.2.1").status_code == 429


def test_the_lockout_is_per_address_whatever_the_account(client, trader):
    for number in range(LIMIT):
        page_login(client, f"guess{number}", "wrong", address="10.0.3.1")
    assert page_login(client, "trader", PASSWORD, address="10.0.3.1").status_code == 429
    assert page_login(client, "trader", PASSWORD, address="10.0.3.2").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, trader):
    for _ in range(LIMIT):
        page_login(client, "trader", "wrong")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=15))
    assert page_login(client, "trader", PASSWORD).status_code == 302


def test_retry_after_counts_down_from_the_last_failure(trader):
    for _ in range(LIMIT):
        jwt_login(None, "trader", "wrong")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=10))
    response = jwt_login(None, "trader", PASSWORD)
    assert 299 <= int(response["Retry-After"]) <= 300
    assert response.json()["detail"].endswith("Try again in 5 minutes.")


@pytest.mark.parametrize("login", [page_login, jwt_login])
def test_a_success_forgives_that_accounts_failures(client, trader, login):
    for _ in range(LIMIT - 1):
        login(client, "trader", "wrong")
    assert login(client, "trader", PASSWORD).status_code in (200, 302)
    assert not AccessAttempt.objects.exists()
    for _ in range(LIMIT - 1):
        assert login(client, "trader", "wrong").status_code != 429


def test_a_success_on_another_account_forgives_nothing(client, trader):
    """Else an attacker would log in to an account of their own between guesses."""
    User.objects.create_user(username="attacker", password=PASSWORD, email="attacker@example.com")
    for _ in range(LIMIT - 1):
        page_login(client, "trader", "wrong")
    assert page_login(Client(), "attacker", PASSWORD).status_code == 302
    assert page_login(client, "trader", "wrong").status_code == 429


def test_a_forged_forwarded_for_header_does_not_give_a_fresh_address(client):
    for number in range(LIMIT):
        client.post(
            "/accounts/login/",
            {"username": f"guess{number}", "password": "wrong"},
            REMOTE_ADDR="10.0.4.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )
    assert AccessAttempt.objects.filter(ip_address="10.0.4.1").count() == LIMIT
    assert page_login(client, "anyone", "wrong", address="10.0.4.1").status_code == 429


@pytest.mark.parametrize("login", [page_login, admin_login, jwt_login])
def test_a_username_longer_than_the_attempt_log_counts_as_a_failure_not_a_500(login):
    """Axes logs usernames in 255 characters: a longer one was a database error on PostgreSQL."""
    long_name = "x" * 1000
    answers = [login(Client(), long_name, "wrong").status_code for _ in range(LIMIT)]
    assert answers == [401 if login is jwt_login else 200] * (LIMIT - 1) + [429]
    assert AccessAttempt.objects.get().username == long_name[:255]
