"""Schemathesis over the whole OpenAPI schema, against the real app on the test database: every
operation, anonymous and with a JWT, must answer without a 5xx, as its schema says (status, body,
headers, content type), accept every request its schema calls valid and refuse the invalid ones.

An endpoint added later is fuzzed from the day it lands: the operations come from /api/schema/.
Every check schemathesis has runs (positive_data_acceptance through valid_requests_accepted
below) except max_response_time: speed is measured by bench/, not by timed tests.
``pytest -n 0 -s scalpaiboard/tests/test_api_fuzz.py`` prints the requests sent and their answers.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conftest import TEST_PROFILES
from markets import snapshot
from markets.services import market_flush
from markets.sources.simulated import SimulatedSource
from markets.sources.simulation import SimulatedExchange
from markets.tests.analysis_data import MIDNIGHT, NOW, bars_store, random_walk
from scalpaiboard.accounts.models import User

# Reproducible in CI: a fixed seed, derandomized Hypothesis, no example database on disk. To dig
# deeper by hand: FUZZ_EXAMPLES=400 FUZZ_SEED=<any number> (how empty list items were found accepted).
CONFIG = {
    "seed": int(os.environ.get("FUZZ_SEED", 11)),
    "generation": {
        "max-examples": int(os.environ.get("FUZZ_EXAMPLES", 15)),
        "deterministic": "FUZZ_SEED" not in os.environ,
        "database": "none",
    },
}
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=schemathesis.Config.from_dict(CONFIG))

pytestmark = pytest.mark.django_db

SYMBOLS = [p.symbol for p in TEST_PROFILES]
OUTCOMES: Counter = Counter()


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time a coin that exists (any case), so that its data is fuzzed, not only the 404."""
    if "symbol" not in (path_parameters or {}):
        return st.just(path_parameters)
    symbols = st.one_of(st.sampled_from([*SYMBOLS, "btc", "Eth"]), st.just(path_parameters["symbol"]))
    return symbols.map(lambda symbol: {**path_parameters, "symbol": symbol})


@schema.hook
def flatmap_body(context, body):
    """Half the time a listed coin in an alert body (and in each alert of an import), so that alerts
    are created, not only refused. Only a symbol the schema calls valid is replaced, by another valid
    one: an invalid body stays invalid."""
    alerts = body.get("alerts") if isinstance(body, dict) else None
    items = [body, *(alerts if isinstance(alerts, list) else [])]
    if not any(_valid_symbol(item) for item in items):
        return st.just(body)
    listed = st.sampled_from([*SYMBOLS, "btc", "Eth"])
    return st.tuples(st.booleans(), listed).map(lambda choice: _with_symbol(body, choice[1]) if choice[0] else body)


def _valid_symbol(item) -> bool:
    symbol = item.get("symbol") if isinstance(item, dict) else None
    return isinstance(symbol, str) and 0 < len(symbol) <= 20 and symbol.strip() != "" and "\x00" not in symbol


def _with_symbol(body: dict, symbol: str) -> dict:
    def replaced(item):
        return {**item, "symbol": symbol} if _valid_symbol(item) else item

    if isinstance(body.get("alerts"), list):
        return {**replaced(body), "alerts": [replaced(item) for item in body["alerts"]]}
    return replaced(body)


# JSON Schema has no bounds for a date-time; the API takes instants from 1970 to 9999 (UTC), at
# any offset up to a day.
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
INSTANTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS)
schemathesis.openapi.format("date-time", INSTANTS.map(datetime.isoformat))


@pytest.fixture
def market(coins, monkeypatch, settings):
    """A running market (the five test coins, as the feed publishes them, BTC and ETH with hours
    and days of history) and no abuse limits in the way."""
    monkeypatch.setattr(
        "rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES",
        {"anon": None, "user": None, "login": None, "ai_chat": None, "backtest": None, "notify_test": None},
    )
    settings.AXES_FAILURE_LIMIT = 10**6  # failed log-ins are still logged, never locked out
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # log-ins by the dozen
    feed_publish()
    for symbol, seed in (("BTC", 1), ("ETH", 2)):
        bars_store(symbol, "1h", random_walk(600, seed=seed))
        bars_store(symbol, "1d", random_walk(300, seed=seed, end=MIDNIGHT, seconds=86400))


def feed_publish() -> None:
    """What the simulated feed has published after a few seconds: tickers and trades of every coin."""
    source = SimulatedSource(seed=1)
    source.exchange = SimulatedExchange(TEST_PROFILES, seed=1, start_ts=NOW)
    for second in range(1, 4):
        ticks = source.exchange.step(NOW + second)
    source._store_trades()
    tickers = {tick.symbol: {k: v for k, v in tick.as_dict().items() if k != "qty"} for tick in ticks}
    market_flush(tickers=tickers, closed=[])
    snapshot.snapshot_store(tickers=tickers, bars={}, version=1, ts=NOW)


@pytest.fixture(params=["anonymous", "jwt"])
def credentials(request, market, client) -> dict:
    """No credentials, or an access token from POST /api/auth/token/ as an API client gets one."""
    if request.param == "anonymous":
        return {}
    User.objects.create_user(username="fuzzer", password="a long fuzzing password")
    tokens = client.post("/api/auth/token/", {"username": "fuzzer", "password": "a long fuzzing password"})
    return {"Authorization": f"Bearer {tokens.json()['access']}"}


@pytest.fixture(autouse=True)
def _answers_end_soon(settings):
    """A chat's answer starts when its transaction commits, which the test's never does: its stream
    ends with the error event after this long instead of ASSISTANT_STREAM_IDLE_SECONDS."""
    settings.ASSISTANT_STREAM_IDLE_SECONDS = 0.1


@pytest.fixture
def in_test_transaction():
    """The app as a server runs it, in this test's transaction: Django closes the connection after
    each request, which would end the transaction (its test client does the same; request last)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Rules between parameters that a schema cannot state; a 400 that names only such a rule refuses
# a request its schema calls valid, rightly (each rule has its own unit test).
CROSS_FIELD_RULES = {
    "start": "Must not be later than end.",
    "macd_fast": "Must be less than macd_slow",
    "timeframes": "Give timeframe or timeframes, not both.",
    "rsi_above": "Must be less than rsi_below",
}


def valid_requests_accepted(ctx, response, case):
    """Schemathesis' positive_data_acceptance, except a 400 for a rule between parameters."""
    if response.status_code == 400 and _only_cross_field_errors(response.json()):
        return None
    return positive_data_acceptance(ctx, response, case)


# Rules of an alert that a schema cannot state either: the coins listed, the clock, the placeholders
# a message may name, and rules between a condition's parameters (alerts/tests test each). Paths
# are compared without their place in an import or an all_of: alerts[2].condition.conditions[1].low.
CROSS_FIELD_RULES |= {
    "symbol": "Unknown coin",
    "expires_at": "Must be in the future",
    "message": "Unknown placeholders",
    "condition.low": "Must be lower than high.",
    "condition.fast": "Must be shorter than slow.",
    "channels": "No channel of yours",
}
# A watchlist alert's: exactly one of symbol and watchlist (JSON Schema could say it only with a oneOf of
# two bodies), the user's own lists, a condition that means the same on every coin, no backtest of a list.
TARGET_RULES = ("Give exactly one of symbol", "This alert is on a")
CROSS_FIELD_RULES |= {
    "symbol": ("Unknown coin", *TARGET_RULES),
    "watchlist": (*TARGET_RULES, "No watchlist of yours", "A backtest replays one coin"),
    "condition": "A watchlist alert's condition",
}
# And a notification channel's: what a target may be (its URL's resolution and Apprise's reading of it,
# an address, a time zone's name) is the server's to judge, and a body's placeholders as a message's.
# The schema lists every kind's fields on a channel, and which belong to which kind is a rule between fields.
OTHER_KIND = "Not a field of"
CROSS_FIELD_RULES |= {
    "url": "",
    "address": ("Must be an email address", OTHER_KIND),
    "chat_id": OTHER_KIND,
    "secret": OTHER_KIND,
    "quiet_hours": ("timezone must be an IANA", "start and end must differ"),
    "body": ("Unknown placeholders", "Renders to nothing", OTHER_KIND),
}
# And a watchlist's: a coin once per list and listed, 500 coins at most, names unique among a user's
# lists, 100 lists at most, the default list kept, an order naming the list's coins, and a target or
# stop refused by the alerts it is kept as (ALERTS_PER_USER).
CROSS_FIELD_RULES |= {
    "symbol": (*CROSS_FIELD_RULES["symbol"], "Already on this list", "Not listed now", "The list is full"),
    "name": ("You already have a list named", "Too many lists"),
    "watchlist": (*CROSS_FIELD_RULES["watchlist"], "The default list cannot be deleted"),
    "symbols": "Must name each of the list's coins exactly once",
    "target_price": "Its alert was refused",
    "stop_price": "Its alert was refused",
}
# And a portfolio transaction's: the time it may have (2009 to now), what was held at that time, the
# price a buy or sell needs, a JSON number's decimal places; a CSV import's rows, which no schema can describe.
CROSS_FIELD_RULES |= {
    "time": "Must be between 2009-01-03 and now",
    "quantity": ("More than was held at that time", "At most 18 decimal places", "Must be greater than 0"),
    "price": ("Required for a buy or a sell", "At most 18 decimal places"),
    "fee": "At most 18 decimal places",
}
# And an AI provider's: which credentials a kind needs (a key; AWS keys and region; a Gemini key or a
# Vertex project, location and service account) is a rule between fields, and a service account key is
# JSON with its own fields, which a string's schema cannot describe.
REQUIRED_FOR = "Required for"
CROSS_FIELD_RULES |= {
    "api_key": REQUIRED_FOR,
    "aws_access_key_id": REQUIRED_FOR,
    "aws_secret_access_key": REQUIRED_FOR,
    "aws_region": REQUIRED_FOR,
    "google_project": REQUIRED_FOR,
    "google_location": REQUIRED_FOR,
    "google_credentials_json": (REQUIRED_FOR, "Must be the service account's JSON key", "Must be a service account"),
}
PLACE_IN_A_LIST = re.compile(r"^alerts\[\d+\]\.|conditions\[\d+\]\.")


def _only_cross_field_errors(body: dict) -> bool:
    if isinstance(body.get("rows"), list):  # a refused CSV import: each row's problems, by line and field
        return True
    # An alert's 400 also says in "detail" which fields it names.
    fields = {name: messages for name, messages in body.items() if name != "detail"} if len(body) > 1 else body
    rules = {PLACE_IN_A_LIST.sub("", name): messages for name, messages in fields.items()}
    return bool(rules) and all(
        name in CROSS_FIELD_RULES and all(m.startswith(CROSS_FIELD_RULES[name]) for m in messages)
        for name, messages in rules.items()
    )


def keep_to_the_rules_between_parameters(case) -> None:
    """A valid request names timeframes instead of timeframe, and an RSI range that is not empty:
    the coverage phase sets every parameter, and otherwise most of its valid requests to the
    analysis and the screener stop at the 400 for the rule, never reaching the computation."""
    query = case.query
    if not query or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if query.get("timeframes") not in (None, ""):
        query.pop("timeframe", None)
    above, below = _number(query.get("rsi_above")), _number(query.get("rsi_below"))
    if above is not None and below is not None and above >= below:
        del query["rsi_above"]


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def validate(case, response, credentials: dict) -> None:
    """Every check schemathesis has for a response, with valid_requests_accepted for its own."""
    OUTCOMES[("jwt" if credentials else "anonymous", case.operation.label, response.status_code)] += 1
    excluded = [positive_data_acceptance]
    if response.status_code == 503 and case.operation.label == "POST /api/notifications/telegram/connect":
        excluded.append(not_a_server_error)  # no bot here (TELEGRAM_BOT_TOKEN): the documented 503
    case.validate_response(
        response,
        headers=credentials,
        excluded_checks=excluded,
        additional_checks=[valid_requests_accepted],
    )


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api(case, credentials, in_test_transaction):
    """Each operation on its own: its examples, the boundaries of each parameter (coverage) and
    generated requests, valid and invalid."""
    keep_to_the_rules_between_parameters(case)
    validate(case, case.call(headers=credentials), credentials)


def test_api_workflows(credentials, in_test_transaction):
    """Operations chained through the links schemathesis infers from the responses: a symbol that
    GET /api/coins lists is asked for its detail, candles, order book, trades, analysis, patterns."""

    class Workflow(schema.as_state_machine()):
        def before_call(self, case) -> None:
            keep_to_the_rules_between_parameters(case)

        def get_call_kwargs(self, case) -> dict:
            return {"headers": credentials}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            validate(case, response, credentials)

    Workflow.run(
        settings=settings(
            max_examples=8,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


@pytest.fixture(scope="module", autouse=True)
def _print_outcomes():
    yield
    for (caller, label, status), count in sorted(OUTCOMES.items()):
        print(f"{caller:9} {label:40} {status} {count}")
