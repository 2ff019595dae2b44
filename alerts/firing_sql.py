"""The PostgreSQL statements of ``firing``: each step for a whole batch of firings in one statement over
arrays (``unnest``), with times passed as epoch milliseconds and turned into timestamps by the database,
so that 10,000 firings cost no Python datetime or model object each on the way in.
"""

from __future__ import annotations

from django.db import connection

# Exact integer arithmetic: the same instant as datetime.fromtimestamp(ms / 1000, UTC).
MOMENT = "(TIMESTAMPTZ 'epoch' + {} * INTERVAL '1 millisecond')"
LOCK_SQL = "SELECT id FROM alerts_alert WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE"
CLAIM_SQL = f"""
UPDATE alerts_alert AS a SET
    last_fired_at = v.fired_at, last_fired_bar = v.bar_open, fire_count = a.fire_count + 1,
    status = CASE WHEN a.frequency = 'only_once' THEN 'triggered' ELSE a.status END, updated_at = now()
FROM (
    SELECT id, {MOMENT.format("fired")} AS fired_at, bar_open, bar_guard, {MOMENT.format("since")} AS since
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS u(id, fired, bar_open,
                                                                                          bar_guard, since)
) AS v, markets_coin AS c
WHERE a.id = v.id AND c.id = a.coin_id AND a.status = 'active'
    AND (a.expires_at IS NULL OR a.expires_at > v.fired_at)
    AND (v.bar_guard IS NULL OR a.last_fired_bar IS NULL OR a.last_fired_bar < v.bar_guard)
    AND (v.since IS NULL OR a.last_fired_at IS NULL OR (a.last_fired_at <= v.since AND a.last_fired_at < v.fired_at))
RETURNING a.id, a.user_id, a.message, a.note, a.condition, a.timeframe, a.frequency, c.symbol, a.parent_id
"""
EVENTS_SQL = f"""
INSERT INTO alerts_alertevent (alert_id, key, fired_at, price, bar_open, "values", message)
SELECT a, k, {MOMENT.format("f")}, p, TIMESTAMPTZ 'epoch' + b * INTERVAL '1 second', v, m
FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::float8[], %s::bigint[], %s::jsonb[], %s::varchar[])
    AS t(a, k, f, p, b, v, m)
ON CONFLICT (alert_id, key) DO NOTHING
RETURNING id, alert_id, key
"""
NOTIFICATIONS_SQL = f"""
INSERT INTO alerts_notification (user_id, kind, alert_id, event_id, symbol, message, price, fired_at, created_at)
SELECT u, 'fired', a, e, s, m, p, {MOMENT.format("f")}, now()
FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::float8[], %s::bigint[])
    AS t(u, a, e, s, m, p, f)
RETURNING id
"""
# One pending delivery per enabled channel of each new event's alert: (event, alert) pairs in, ids out.
# The new ids come grouped by channel kind, Telegram's last: a batch of webhooks never waits on a paced
# Telegram send, and the paced ones (30 a second per bot) come after the others rather than before.
DELIVERIES_SQL = """
WITH created AS (
    INSERT INTO alerts_delivery (channel_id, event_id, state, attempts, held, last_error, created_at)
    SELECT ac.channel_id, t.e, 'pending', 0, false, '', now()
    FROM unnest(%s::bigint[], %s::bigint[]) AS t(e, a)
        JOIN alerts_alert_channels AS ac ON ac.alert_id = t.a
        JOIN alerts_channel AS c ON c.id = ac.channel_id AND c.enabled
    RETURNING id, channel_id
)
SELECT created.id FROM created JOIN alerts_channel AS c ON c.id = created.channel_id
ORDER BY c.kind = 'telegram', c.kind, created.id
"""
# Each alert's events within the window before its latest firing (the window in seconds).
RECENT_SQL = f"""
SELECT e.alert_id, count(*)
FROM alerts_alertevent AS e JOIN unnest(%s::bigint[], %s::bigint[]) AS l(alert_id, fired) ON e.alert_id = l.alert_id
WHERE e.fired_at > {MOMENT.format("l.fired")} - %s * INTERVAL '1 second'
GROUP BY e.alert_id
"""


def rows_fetch(sql: str, params: list) -> list[tuple]:
    """Run one statement; return the rows it returns."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def alerts_lock(ids: list[int]) -> None:
    """Lock the alerts' rows in id order, so that two engines claiming overlapping batches never deadlock."""
    rows_fetch(LOCK_SQL, [sorted(ids)])


def columns(rows: list[tuple]) -> list[list]:
    """Rows (at least one) as lists per column, for ``unnest``."""
    return [list(column) for column in zip(*rows, strict=True)]


def int_array(values) -> str:
    """Integers as PostgreSQL's array text (``{1,2,3}``) for a ``%s::bigint[]`` parameter: psycopg2
    adapts a Python list item by item, ~3 ms per 1,000, ten times the cost of this."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"
