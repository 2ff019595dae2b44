"""JWT for API clients: refresh tokens rotate and a used one is refused; lifetimes from the environment."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from scalpaiboard.accounts.models import User
from scalpaiboard.tests.test_settings import settings_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens():
    User.objects.create_user(username="trader", password="pl4in-Sailing!", email="trader@example.com")
    response = APIClient().post("/api/auth/token/", {"username": "trader", "password": "pl4in-Sailing!"}, format="json")
    assert response.status_code == 200
    return response.json()


def refresh(token: str):
    return APIClient().post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def test_a_refresh_answers_a_new_refresh_token(tokens):
    body = refresh(tokens["refresh"]).json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != tokens["refresh"]
    assert refresh(body["refresh"]).status_code == 200


def test_a_used_refresh_token_is_refused_the_second_time(tokens):
    assert refresh(tokens["refresh"]).status_code == 200
    second = refresh(tokens["refresh"])
    assert second.status_code == 401
    assert second.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}


def test_a_log_in_by_jwt_records_last_login(tokens):
    assert User.objects.get(username="trader").last_login is not None


def test_token_lifetimes_are_the_defaults(tokens):
    access, refresh_token = AccessToken(tokens["access"]), RefreshToken(tokens["refresh"])
    assert access["exp"] - access["iat"] == 30 * 60
    assert refresh_token["exp"] - refresh_token["iat"] == 7 * 86400


def test_token_lifetimes_come_from_the_environment(tmp_path):
    code = "j = settings.SIMPLE_JWT; print(j['ACCESS_TOKEN_LIFETIME'], j['REFRESH_TOKEN_LIFETIME'])"
    result = settings_of(VAR_DIR=str(tmp_path), JWT_ACCESS_MINUTES="5", JWT_REFRESH_DAYS="2", code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0:05:00 2 days, 0:00:00"
