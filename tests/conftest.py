"""Fixtures for the end-to-end tests: a committed market that separate processes can read."""

from __future__ import annotations

import time

import pytest

from conftest import TEST_PROFILES
from markets.services import coins_seed, history_extend
from markets.sources.simulated import SimulatedSource


@pytest.fixture
def seeded_market(transactional_db):
    """The five test coins with a full simulated history up to now, committed."""
    coins_seed(profiles=TEST_PROFILES)
    history_extend(source=SimulatedSource(seed=7), until=int(time.time()))
    return [p.symbol for p in TEST_PROFILES]
