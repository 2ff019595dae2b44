"""Fixtures the alerts tests share: two users on the test market, and an API client signed in as the first."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scalpaiboard.accounts.models import User


@pytest.fixture
def user(coins):
    return User.objects.create_user(username="trader", email="trader@example.com")


@pytest.fixture
def other(coins):
    return User.objects.create_user(username="other", email="other@example.com")


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client
