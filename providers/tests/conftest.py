"""Users and providers the providers tests share: ``user`` and ``other``, whose providers must stay
out of reach, and ``provider_make`` to add a configuration through the service the API uses."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from providers.services import provider_create

API_KEY = "sk-test-secret-0123456789abcdef"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        username="trader", email="trader@example.com", password="a-long-test-password"
    )


@pytest.fixture
def other(db):
    return get_user_model().objects.create_user(
        username="other", email="other@example.com", password="a-long-test-password"
    )


@pytest.fixture
def provider_make():
    def make(user, **fields):
        data = {"kind": "openai", "model": "gpt-4o-mini", "api_key": API_KEY, **fields}
        return provider_create(user=user, data=data)

    return make


@pytest.fixture
def api(client, user):
    client.force_login(user)
    return client
