"""Sign-up, log-in and log-out pages, the user model and the operator login."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command

from scalpaiboard.accounts.models import User

pytestmark = pytest.mark.django_db


def test_sign_up_creates_the_user_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "trader",
            "email": "Trader@Example.com",
            "password1": "pl4in-Sailing!",
            "password2": "pl4in-Sailing!",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="trader")
    assert isinstance(user.pk, uuid.UUID)
    assert user.email == "trader@example.com"
    assert client.get("/").context["user"] == user


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "", "password1": "pl4in-Sailing!", "password2": "pl4in-Sailing!"}, "username", "required"),
        ({"username": "t", "password1": "pl4in-Sailing!", "password2": "other-Sailing!"}, "password2", "didn"),
        ({"username": "t", "password1": "123", "password2": "123"}, "password2", "too short"),
        (
            {"username": "t", "email": "not-an-email", "password1": "pl4in-Sailing!", "password2": "pl4in-Sailing!"},
            "email",
            "valid",
        ),
    ],
)
def test_sign_up_errors_are_shown_on_the_field(client, data, field, message):
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors)
    assert message in response.content.decode()


def test_duplicate_username_is_refused(client):
    User.objects.create_user(username="trader", password="x")
    response = client.post(
        "/accounts/signup/", {"username": "trader", "password1": "pl4in-Sailing!", "password2": "pl4in-Sailing!"}
    )
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1


def test_log_in_and_log_out(client):
    User.objects.create_user(username="trader", password="pl4in-Sailing!")
    assert client.post("/accounts/login/", {"username": "trader", "password": "wrong"}).status_code == 200
    response = client.post("/accounts/login/", {"username": "trader", "password": "pl4in-Sailing!"})
    assert response.status_code == 302
    assert client.get("/").context["user"].is_authenticated
    client.post("/accounts/logout/")
    assert not client.get("/").context["user"].is_authenticated


def test_operator_login_is_printed_when_created_and_never_again(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    call_command("ensure_operator")
    first = capsys.readouterr().out
    call_command("ensure_operator")
    second = capsys.readouterr().out
    assert User.objects.filter(username="admin", is_superuser=True).count() == 1
    password = first.split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    assert (tmp_path / "login.txt").stat().st_mode & 0o077 == 0  # the owner's alone
    assert password not in second and "password:" not in second
    assert "manage.py changepassword admin" in second
