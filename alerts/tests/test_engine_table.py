# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""Loading alerts into the engine's arrays: the PostgreSQL COPY reads what the ORM reads, and the
table files each alert where the engine looks for it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection

from alerts.engine_load import _rows_postgres, alerts_table_load
from alerts.engine_table import NOT_A_TERM, alert_rows_orm, coins_index
from alerts.models import Alert
from alerts.tests.engine_helpers import T0, alert_make, trader  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY loader is PostgreSQL's")

MIXED = [
    ({"kind": "crossing_up", "level": 0.1 + 0.2}, {"frequency": "every_time", "cooldown": 7}),
    ({"kind": "price_below", "level": 1e-12}, {"expires_at": datetime.fromtimestamp(T0 + 3600.5, UTC)}),
    ({"kind": "exiting_channel", "low": 99.99, "high": 101.5}, {"frequency": "once_per_bar", "timeframe": "5m"}),
    ({"kind": "moving_down", "percent": 2.5, "bars": 3}, {"timeframe": "1h"}),
    ({"kind": "crossing", "level": 101.5}, {"frequency": "once_per_bar_close", "timeframe": "15m"}),
    ({"kind": "rsi_above", "level": 70}, {"timeframe": "4h"}),
    (
        {
            "kind": "all_of",
            "conditions": [{"kind": "price_above", "level": 1}, {"kind": "moving_up", "percent": 3, "bars": 2}],
        },
        {"frequency": "once_per_bar"},
    ),
    ({"kind": "all_of", "conditions": [{"kind": "price_above", "level": 1}, {"kind": "rsi_below", "level": 30}]}, {}),
]


def mixed_alerts(trader, coins) -> list[Alert]:
    made = [alert_make(trader, coins["BTC" if i % 2 else "ETH"], c, **f) for i, (c, f) in enumerate(MIXED)]
    Alert.objects.filter(pk=made[0].pk).update(last_fired_at=datetime.fromtimestamp(T0 + 1.25, UTC))
    Alert.objects.filter(pk=made[2].pk).update(last_fired_bar=T0)
    alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 5}, status="paused")
    return made


@on_postgres
def test_the_copy_loader_reads_the_same_columns_as_the_orm(coins, trader):
    mixed_alerts(trader, coins)
    coin_ids, _ = coins_index()
    copied, read = _rows_postgres(coin_ids, None), alert_rows_orm(coin_ids=coin_ids)
    for name in ("ids", "coin", "freq", "tf", "cooldown_ms", "last_bar", "last_ms", "expires_ms", "kind", "a", "b"):
        np.testing.assert_array_equal(getattr(copied, name), getattr(read, name), err_msg=name)
        assert getattr(copied, name).dtype == getattr(read, name).dtype, name
    assert copied.conditions == read.conditions


@on_postgres
def test_the_copy_loader_reads_only_the_alerts_asked_for(coins, trader):
    made = mixed_alerts(trader, coins)
    coin_ids, _ = coins_index()
    assert _rows_postgres(coin_ids, [made[1].pk, made[5].pk]).ids.tolist() == [made[1].pk, made[5].pk]


def test_no_active_alert_loads_an_empty_table(coins, trader):
    alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 5}, status="paused")
    table = alerts_table_load()
    assert (len(table.ids), table.groups, table.at_close) == (0, {}, {})


def test_single_price_terms_are_read_as_numbers_and_the_rest_keep_their_condition(coins, trader):
    made = mixed_alerts(trader, coins)
    rows = alerts_table_load().rows
    kept = [m.pk for m in made if m.kind in ("rsi_above", "all_of") or m.frequency == "once_per_bar_close"]
    assert sorted(rows.conditions) == kept
    assert (rows.kind[[rows.ids.tolist().index(pk) for pk in kept]] == NOT_A_TERM).sum() == 3
    assert (rows.a[0], rows.a[2], rows.b[2], rows.b[3]) == (0.1 + 0.2, 99.99, 101.5, 3)


def test_each_alert_is_filed_under_its_term_groups_or_its_bar_closes(coins, trader):
    made = mixed_alerts(trader, coins)
    table = alerts_table_load()
    row = {m.pk: table.row_of(m.pk) for m in made}
    owners = {kind: sorted(group.owner.tolist()) for kind, group in table.groups.items()}
    assert owners == {
        "price_above": [row[made[6].pk]],
        "price_below": [row[made[1].pk]],
        "crossing_up": [row[made[0].pk]],
        "exiting_channel": [row[made[2].pk]],
        "moving_up": [row[made[6].pk]],
        "moving_down": [row[made[3].pk]],
    }
    assert table.terms.tolist() == [1, 1, 1, 1, 0, 0, 2, 0]
    closing = {
        tf: sorted(a.row for alerts in by_coin.values() for a in alerts) for tf, by_coin in table.at_close.items()
    }
    assert closing == {"15m": [row[made[4].pk]], "4h": [row[made[5].pk]], "1m": [row[made[7].pk]]}
