"""The users every watchlists test file works with: ``user`` (with the default list sign-up gives) and
``other``, whose lists must stay out of reach."""

from __future__ import annotations

import pytest

from watchlists.models import Watchlist
from watchlists.selectors import watchlist_default_get
from watchlists.tests.watchlist_fixtures import user_make


@pytest.fixture
def user(coins):
    return user_make("trader")


@pytest.fixture
def other(coins):
    return user_make("other")


@pytest.fixture
def default(user) -> Watchlist:
    return watchlist_default_get(user=user)
