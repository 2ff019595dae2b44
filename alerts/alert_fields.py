"""The alert as the API takes it (POST /api/alerts, an item of an import, a backtest's body), checked
field by field: errors named by their dotted path (``alerts[2].condition.level``) with what is allowed.
The writes in ``alerts.services`` store what these return."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial as bind

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.conditions import ALL_OF, KINDS, PRICE_KINDS, ConditionError, condition_clean
from alerts.messages import PLACEHOLDERS, message_unknown_placeholders
from alerts.models import Alert, Channel
from markets.models import Coin
from markets.timeframes import TIMEFRAME_SECONDS
from scalpaiboard.api import ApplicationError
from watchlists.models import Watchlist

# The body of an alert (POST /api/alerts, an item of an import), and what a field left out means.
FIELDS = (
    "symbol",
    "watchlist",
    "condition",
    "frequency",
    "timeframe",
    "cooldown",
    "expires_at",
    "message",
    "note",
    "channels",
    "urgent",
)
REQUIRED = ("condition",)  # and exactly one of TARGETS
TARGETS = ("symbol", "watchlist")
DEFAULTS = {
    "frequency": Alert.Frequency.ONLY_ONCE.value,
    "timeframe": "1m",
    "cooldown": 60,
    "expires_at": None,
    "message": "",
    "note": "",
    "channels": [],
    "urgent": False,
}
# What the answer adds, which a client may send back unchanged but never sets.
READ_ONLY = ("id", "status", "created_at", "last_fired_at", "fire_count", "condition_text")
MAX_COOLDOWN = 7 * 86400  # a week: a longer quiet time is a paused alert
MAX_TEXT = 1000  # the model's message and note
MAX_IMPORT = 1000
MAX_CHANNELS = 100  # per alert: more is a mistake, not a use
BACKTEST_DAYS, MAX_BACKTEST_DAYS = 30, 365
FREQUENCIES = tuple(Alert.Frequency.values)
TIMEFRAMES = tuple(TIMEFRAME_SECONDS)

Status = Alert.Status
PAUSABLE = (Status.ACTIVE, Status.AUTO_PAUSED)
# Resuming re-arms a spent only_once alert, and an expired one whose expiry was moved later.
RESUMABLE = (Status.PAUSED, Status.AUTO_PAUSED, Status.TRIGGERED, Status.EXPIRED)


class AlertInvalid(ApplicationError):
    """A refused alert: ``errors`` maps each field's dotted path (``condition.level``,
    ``alerts[2].symbol``) to what is wrong and allowed; the 400 body is ``{"detail", **errors}``."""

    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        self.errors = errors
        super().__init__(message or f"Not a valid alert: see {', '.join(errors)}.", extra=errors)


class _Refused(Exception):
    """One field's value refused, with what is allowed."""


# --- Cleaning --------------------------------------------------------------------------------------


def alert_clean(*, user, data: dict, alert: Alert | None = None, partial: bool = False) -> dict:
    """The model fields of the alert ``data`` describes (a new one, or ``alert`` edited: every field
    with PUT, those given with ``partial``): symbol as its coin (or watchlist as the user's list),
    condition with its defaults, and the rest checked. A new alert must fit in the user's
    ALERTS_PER_USER. Raises AlertInvalid."""
    fields, errors = fields_clean(data, user=user, alert=alert, partial=partial)
    if errors:
        raise AlertInvalid(errors)
    if alert is None:
        room_check(user=user, adding=1)
    return fields


def fields_clean(
    data, *, user=None, alert: Alert | None = None, partial: bool = False, prefix: str = ""
) -> tuple[dict, dict]:
    """(model fields, errors by dotted path) of one alert's body; paths start with ``prefix``.
    ``channels`` must be the ``user``'s (any ids, without a user: a backtest stores nothing)."""
    if not isinstance(data, dict):
        where = prefix.removesuffix(".") or "non_field_errors"
        return {}, {where: ["Must be a JSON object: an alert, e.g. " + EXAMPLE + "."]}
    errors = {_field_path(name, prefix): [_unknown(name)] for name in data if name not in FIELDS}
    # A target given as null is one not given: an export says "symbol": null of a watchlist alert.
    values = {name: data[name] for name in FIELDS if name in data and not (name in TARGETS and data[name] is None)}
    if not partial:
        errors.update({prefix + name: ["This field is required."] for name in REQUIRED if data.get(name) is None})
        values = {**DEFAULTS, **values}
    errors.update(_targets_check(values, alert=alert, partial=partial, prefix=prefix))
    fields = {}
    cleaners = {**CLEANERS, "channels": bind(_channels, user=user), "watchlist": bind(_watchlist, user=user)}
    for name, value in values.items():
        if prefix + name in errors:
            continue
        try:
            fields.update(cleaners[name](value, path=prefix + name, alert=alert))
        except _Refused as refused:
            errors[prefix + name] = [str(refused)]
        except ConditionError as error:
            errors.update(error.errors)
    on_watchlist = "watchlist" in values if alert is None or not partial else alert.watchlist_id is not None
    if on_watchlist and "condition" in fields and prefix + "condition" not in errors:
        errors.update(_across_coins_check(fields["condition"], path=prefix + "condition"))
    return fields, errors


BOTH = "Give exactly one of symbol (an alert on a coin) or watchlist (an alert on every coin of your list)."


def _targets_check(values: dict, *, alert: Alert | None, partial: bool, prefix: str) -> dict[str, list[str]]:
    """Errors when the body does not name exactly one target (a new alert, or every field with PUT), or
    would move an alert between a coin and a watchlist (it stays what it was created as)."""
    given = [name for name in TARGETS if name in values]
    if not partial and len(given) != 1:
        return {prefix + name: [BOTH] for name in TARGETS}
    if alert is None:
        return {}
    wrong = "symbol" if alert.watchlist_id else "watchlist"
    if wrong in given:
        kept = "watchlist" if alert.watchlist_id else "coin"
        return {prefix + wrong: [f"This alert is on a {kept} and stays on one: create a new alert instead."]}
    return {}


# Kinds whose numbers are prices of one coin: on a watchlist, 101.5 means nothing for most coins.
PRICE_LEVEL_KINDS = frozenset(PRICE_KINDS) - {"moving_up", "moving_down"}
ACROSS_COINS = tuple(kind for kind in KINDS if kind not in PRICE_LEVEL_KINDS)


def _across_coins_check(condition: dict, *, path: str) -> dict[str, list[str]]:
    """An error when a watchlist alert's condition names a price level (a coin's price in USDT)."""
    terms = condition["conditions"] if condition["kind"] == ALL_OF else [condition]
    kinds = sorted({term["kind"] for term in terms} & PRICE_LEVEL_KINDS)
    if not kinds:
        return {}
    return {
        path: [
            f"A watchlist alert's condition must make sense on every coin of the list: {', '.join(kinds)} "
            f"compare with a price in USDT. Allowed kinds: {', '.join(ACROSS_COINS)} (percent moves and "
            "indicators)."
        ]
    }


EXAMPLE = '{"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 101.5}}'


def _field_path(name: str, prefix: str) -> str:
    # "detail" is the answer's own message: an unknown field of that name is told about apart.
    return f"{prefix}non_field_errors" if not prefix and name in ("detail", "request_id") else prefix + name


def _unknown(name: str) -> str:
    if name in READ_ONLY:
        return f"{name} is read-only: leave it out (the answer tells it)."
    shown = name if len(name) <= 40 else name[:40] + "…"
    return f"Unknown field {shown!r}; allowed: {', '.join(FIELDS)}."


def _symbol(value, *, path: str, alert: Alert | None) -> dict:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise _Refused("Must be a coin's symbol, e.g. BTC.")
    coin = Coin.objects.filter(symbol=value.strip().upper()).first()
    # An alert keeps its coin after the feed stops listing it; a new one needs a listed coin.
    if coin is None or not (coin.is_active or (alert is not None and alert.coin_id == coin.pk)):
        shown = value if len(value) <= 20 else value[:20] + "…"
        raise _Refused(f"Unknown coin {shown.upper()!r}: GET /api/coins lists the coins an alert can watch.")
    return {"coin": coin}


def _condition(value, *, path: str, alert: Alert | None) -> dict:
    condition = condition_clean(value, path=path)
    return {"condition": condition, "kind": condition["kind"]}


def _choice(name: str, allowed: tuple[str, ...]) -> Callable:
    def clean(value, *, path: str, alert: Alert | None) -> dict:
        if not isinstance(value, str) or value not in allowed:
            raise _Refused(f"Must be one of: {', '.join(allowed)}.")
        return {name: value}

    return clean


def _cooldown(value, *, path: str, alert: Alert | None) -> dict:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COOLDOWN:
        raise _Refused(f"Must be a whole number of seconds from 0 to {MAX_COOLDOWN}.")
    return {"cooldown": value}


def _expires_at(value, *, path: str, alert: Alert | None) -> dict:
    if value is None:
        return {"expires_at": None}
    moment = _instant(value)
    if moment is None:
        raise _Refused("Must be null or an ISO 8601 date-time, e.g. 2027-01-31T18:00:00Z (UTC when no offset).")
    if moment <= timezone.now():
        raise _Refused(f"Must be in the future: {moment:%Y-%m-%d %H:%M:%S} UTC has passed.")
    return {"expires_at": moment}


def _instant(value) -> datetime | None:
    """An ISO 8601 text as an aware UTC datetime (UTC when it has no offset); None if it is not one."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        moment = parse_datetime(value.strip())
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 2027-02-30, or an offset past year 9999 in UTC
        return None


def _text(name: str) -> Callable:
    def clean(value, *, path: str, alert: Alert | None) -> dict:
        if not isinstance(value, str) or "\x00" in value or len(value) > MAX_TEXT:
            raise _Refused(f"Must be text of at most {MAX_TEXT} characters, without NUL.")
        return {name: value}

    return clean


def _message(value, *, path: str, alert: Alert | None) -> dict:
    fields = _text("message")(value, path=path, alert=alert)
    unknown = message_unknown_placeholders(value)
    if unknown:
        names = ", ".join("{{" + (n if len(n) <= 40 else n[:40] + "…") + "}}" for n in unknown)
        allowed = ", ".join("{{" + n + "}}" for n in PLACEHOLDERS)
        raise _Refused(f"Unknown placeholders {names}; allowed: {allowed}.")
    return fields


def _urgent(value, *, path: str, alert: Alert | None) -> dict:
    if not isinstance(value, bool):
        raise _Refused("Must be true or false (true: delivered during the channels' quiet hours too).")
    return {"urgent": value}


def _channels(value, *, user, path: str, alert: Alert | None) -> dict:
    """``{"channels": [ids]}``: the ids of the user's channels, each once, in order."""
    ints = isinstance(value, list) and all(isinstance(id, int) and not isinstance(id, bool) for id in value)
    if not ints or len(value) > MAX_CHANNELS:
        raise _Refused(f"Must be a list of at most {MAX_CHANNELS} ids of your channels, e.g. [3, 7].")
    ids = sorted(set(value))
    if user is not None and ids:
        storable = [id for id in ids if 0 < id < 2**63]  # beyond: no row has it, and the database refuses it
        yours = set(Channel.objects.filter(user=user, pk__in=storable).values_list("pk", flat=True))
        unknown = [id for id in ids if id not in yours]
        if unknown:
            shown = ", ".join(map(str, unknown[:10]))
            raise _Refused(f"No channel of yours has id {shown}: GET /api/notifications/channels lists yours.")
    return {"channels": ids}


def _watchlist(value, *, user, path: str, alert: Alert | None) -> dict:
    """``{"watchlist": id}``: one of the user's watchlists (the alert covers each coin on it)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
    if not ok:
        raise _Refused("Must be the id of one of your watchlists, e.g. 3: GET /api/watchlists lists yours.")
    watchlist = Watchlist.objects.filter(user=user, pk=value).first() if user is not None else None
    if watchlist is None:
        raise _Refused(f"No watchlist of yours has id {value}: GET /api/watchlists lists yours.")
    return {"watchlist": watchlist}


CLEANERS = {
    "symbol": _symbol,
    "condition": _condition,
    "frequency": _choice("frequency", FREQUENCIES),
    "timeframe": _choice("timeframe", TIMEFRAMES),
    "cooldown": _cooldown,
    "expires_at": _expires_at,
    "message": _message,
    "note": _text("note"),
    "urgent": _urgent,
}


def room_check(*, user, adding: int) -> None:
    """Refuse ``adding`` more active alerts past the user's ALERTS_PER_USER. A watchlist alert counts
    once, however many coins its list has (at most watchlists.models.MAX_ITEMS): its members do not."""
    limit = settings.ALERTS_PER_USER
    active = Alert.objects.filter(user=user, status=Status.ACTIVE, parent=None).count()
    if active + adding > limit:
        raise AlertInvalid(
            {},
            f"You have {active} active alerts and may have at most {limit} (ALERTS_PER_USER): "
            "pause or delete some first.",
        )


def user_lock(user) -> None:
    """Serialise one user's writes that count active alerts, so that two requests at once cannot
    both take the last place (PostgreSQL; SQLite's writes are serialised anyway)."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def backtest_clean(*, data: dict) -> dict:
    """The arguments of ``alerts.backtest.alert_backtest`` from its body: an alert as POST /api/alerts
    takes it, and ``days`` (1 to 365, default 30). Raises AlertInvalid."""
    own = ("days", "watchlist")
    alert_body = {name: value for name, value in data.items() if name not in own} if isinstance(data, dict) else data
    fields, errors = fields_clean(alert_body)
    if isinstance(data, dict) and "watchlist" in data:
        errors["watchlist"] = ["A backtest replays one coin: give symbol instead (backtest a list's coins one by one)."]
    days = data.get("days", BACKTEST_DAYS) if isinstance(data, dict) else BACKTEST_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BACKTEST_DAYS:
        errors["days"] = [f"Must be a whole number of days from 1 to {MAX_BACKTEST_DAYS}."]
    if errors:
        raise AlertInvalid(errors, f"Not a valid backtest: see {', '.join(errors)}.")
    names = ("condition", "frequency", "timeframe", "cooldown")
    return {"symbol": fields["coin"].symbol, **{name: fields[name] for name in names}, "days": days}
