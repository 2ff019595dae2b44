"""Writes of alerts and notifications: the alert as the API takes it, checked field by field (errors
named by their dotted path, with what is allowed), then created, edited, paused, resumed, deleted or
imported; notifications marked read. Pages, the API and the assistant's tools all call these.

Every write that changes what the engine evaluates calls ``alerts_changed()``, so that engines holding
the alerts in memory reload them once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial as bind

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.changes import alerts_changed
from alerts.conditions import ALL_OF, KINDS, PRICE_KINDS, ConditionError, condition_clean
from alerts.messages import PLACEHOLDERS, message_unknown_placeholders
from alerts.models import Alert, Channel, Notification
from alerts.selectors import CHANNEL_IDS, alert_as_json, alerts_list
from alerts.watchlist_alerts import members_sync, members_update, watchlist_coins
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
    fields, errors = _fields_clean(data, user=user, alert=alert, partial=partial)
    if errors:
        raise AlertInvalid(errors)
    if alert is None:
        _room_check(user=user, adding=1)
    return fields


def _fields_clean(
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


def _room_check(*, user, adding: int) -> None:
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


def _user_lock(user) -> None:
    """Serialise one user's writes that count active alerts, so that two requests at once cannot
    both take the last place (PostgreSQL; SQLite's writes are serialised anyway)."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def backtest_clean(*, data: dict) -> dict:
    """The arguments of ``alerts.backtest.alert_backtest`` from its body: an alert as POST /api/alerts
    takes it, and ``days`` (1 to 365, default 30). Raises AlertInvalid."""
    own = ("days", "watchlist")
    alert_body = {name: value for name, value in data.items() if name not in own} if isinstance(data, dict) else data
    fields, errors = _fields_clean(alert_body)
    if isinstance(data, dict) and "watchlist" in data:
        errors["watchlist"] = ["A backtest replays one coin: give symbol instead (backtest a list's coins one by one)."]
    days = data.get("days", BACKTEST_DAYS) if isinstance(data, dict) else BACKTEST_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BACKTEST_DAYS:
        errors["days"] = [f"Must be a whole number of days from 1 to {MAX_BACKTEST_DAYS}."]
    if errors:
        raise AlertInvalid(errors, f"Not a valid backtest: see {', '.join(errors)}.")
    names = ("condition", "frequency", "timeframe", "cooldown")
    return {"symbol": fields["coin"].symbol, **{name: fields[name] for name in names}, "days": days}


# --- One alert -------------------------------------------------------------------------------------


def alert_create(*, user, data: dict) -> Alert:
    """A new active alert from the API's body; raises AlertInvalid."""
    with transaction.atomic():
        _user_lock(user)
        fields = alert_clean(user=user, data=data)
        channels = fields.pop("channels")
        alert = Alert.objects.create(user=user, **fields)
        alert.channels.set(channels)
        if alert.watchlist_id:
            members_sync([alert], watchlist_coins(alert.watchlist_id))
        alerts_changed()
    return alert


def alert_update(*, alert: Alert, data: dict, partial: bool = False) -> Alert:
    """``alert`` edited (every field, or those given with ``partial``); its status stays. Raises AlertInvalid."""
    fields = alert_clean(user=alert.user_id, data=data, alert=alert, partial=partial)
    channels = fields.pop("channels", None)
    watched = _watched(alert)
    for name, value in fields.items():
        setattr(alert, name, value)
    changed = [*fields, "updated_at"]
    # What the engine remembered (patterns already reported) was about the old condition.
    forget = watched != _watched(alert)
    if forget:
        alert.engine_state = {}
        changed.append("engine_state")
    with transaction.atomic():
        # Only these fields: the engine may be changing the status or the last firing at the same time.
        alert.save(update_fields=changed)
        if channels is not None:
            alert.channels.set(channels)
        if alert.watchlist_id:
            members_update(alert, fields=changed, reset_state=forget)
            if watched["watchlist"] != alert.watchlist_id:
                members_sync([alert], watchlist_coins(alert.watchlist_id))
        alerts_changed()
    return alert


def _watched(alert: Alert) -> dict:
    return {
        "coin": alert.coin_id,
        "watchlist": alert.watchlist_id,
        "condition": alert.condition,
        "timeframe": alert.timeframe,
    }


def alert_delete(*, alert: Alert) -> None:
    """Delete ``alert`` with its history; its notifications stay, without the link."""
    alert.delete()
    alerts_changed()


# --- Several alerts --------------------------------------------------------------------------------


def _owned(user, ids) -> QuerySet[Alert]:
    """The user's alerts among ``ids``: those the user sees (a watchlist alert's members are not)."""
    return Alert.objects.filter(user=user, pk__in=list(ids), parent=None)


def alerts_pause(*, user, ids) -> int:
    """Pause the user's active (or auto-paused) alerts among ``ids``, a watchlist alert with each coin's
    member; others' ids are ignored. Returns how many were paused."""
    now = timezone.now()
    with transaction.atomic():
        pausable = list(_owned(user, ids).filter(status__in=PAUSABLE).values_list("pk", flat=True))
        paused = Alert.objects.filter(pk__in=pausable, status__in=PAUSABLE).update(status=Status.PAUSED, updated_at=now)
        Alert.objects.filter(parent__in=pausable, status__in=PAUSABLE).update(status=Status.PAUSED, updated_at=now)
        if paused:
            alerts_changed()
    return paused


def alerts_resume(*, user, ids) -> int:
    """Re-arm the user's paused, auto-paused, triggered or expired alerts among ``ids`` (an expired
    one only when its expiry is now later or gone), and every such member of a watchlist alert among
    them (one coin's member auto-paused, or spent only_once); raises AlertInvalid past ALERTS_PER_USER.
    Returns how many of the user's alerts were re-armed."""
    now = timezone.now()
    unexpired = Q(expires_at=None) | Q(expires_at__gt=now)
    with transaction.atomic():
        _user_lock(user)
        owned = _owned(user, ids).filter(unexpired)
        resumable = set(owned.filter(status__in=RESUMABLE).values_list("pk", flat=True))
        _room_check(user=user, adding=len(resumable))
        parents = owned.filter(watchlist__isnull=False, status__in=(*RESUMABLE, Status.ACTIVE))
        members = Alert.objects.filter(unexpired, parent__in=parents, status__in=RESUMABLE)
        rearmed = set(members.values_list("parent_id", flat=True))
        members.update(status=Status.ACTIVE, updated_at=now)
        Alert.objects.filter(pk__in=resumable).update(status=Status.ACTIVE, updated_at=now)
        if resumable or rearmed:
            alerts_changed()
    return len(resumable | rearmed)


def alerts_delete(*, user, ids) -> int:
    """Delete the user's alerts among ``ids`` (a watchlist alert with its members); returns how many."""
    with transaction.atomic():
        owned = list(_owned(user, ids).values_list("pk", flat=True))
        Alert.objects.filter(pk__in=owned).delete()
        if owned:
            alerts_changed()
    return len(owned)


def alerts_export(*, user) -> list[dict]:
    """The user's alerts in the shape POST /api/alerts and alerts_import take, newest first."""
    return [
        {name: answer[name] for name in FIELDS}
        for answer in map(alert_as_json, alerts_list(user=user, with_channels=True))
    ]


def alerts_import(*, user, items: list) -> list[Alert]:
    """New active alerts, one per item of ``items`` (each as POST /api/alerts takes it): all of them, or
    none when any is refused, with AlertInvalid naming each bad field (``alerts[2].condition.level``)."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_IMPORT:
        raise AlertInvalid({"alerts": [f"Must be a list of 1 to {MAX_IMPORT} alerts."]})
    with transaction.atomic():
        _user_lock(user)
        cleaned, errors = [], {}
        for index, item in enumerate(items):
            fields, refused = _fields_clean(item, user=user, prefix=f"alerts[{index}].")
            cleaned.append(fields)
            errors.update(refused)
        if errors:
            bad = len({path.split(".", 1)[0] for path in errors})
            raise AlertInvalid(errors, f"{bad} of the {len(items)} alerts are not valid; none was imported.")
        _room_check(user=user, adding=len(cleaned))
        # Created last to first, so that the list (newest first) and a new export keep the items' order.
        channels = [fields.pop("channels") for fields in reversed(cleaned)]
        alerts = Alert.objects.bulk_create([Alert(user=user, **fields) for fields in reversed(cleaned)])
        _channels_link(alerts, channels)
        _members_create([alert for alert in alerts if alert.watchlist_id])
        alerts_changed()
    return alerts[::-1]


def _members_create(parents: list[Alert]) -> None:
    """Each new watchlist alert's members, one query per list."""
    by_list: dict[int, list[Alert]] = {}
    for parent in parents:
        by_list.setdefault(parent.watchlist_id, []).append(parent)
    for watchlist_id, alerts in by_list.items():
        members_sync(alerts, watchlist_coins(watchlist_id))


def _channels_link(alerts: list[Alert], channels: list[list[int]]) -> None:
    """Each new alert linked to its channels, in one INSERT, and those links read back in one query
    for the answer."""
    link = Alert.channels.through
    rows = [link(alert_id=alert.pk, channel_id=id) for alert, ids in zip(alerts, channels, strict=True) for id in ids]
    link.objects.bulk_create(rows)
    prefetch_related_objects(alerts, CHANNEL_IDS)


# --- Notifications ---------------------------------------------------------------------------------


def notifications_read(*, user, ids: list | None) -> int:
    """Mark the user's unread notifications among ``ids`` (all of them with None) read; returns how many."""
    unread = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
