"""What the OpenAPI schema says about alerts: the condition of every kind with its parameters' bounds
(built from ``alerts.conditions``, so that the schema and the checks cannot disagree), the
frequencies' definitions with a worked example each, and example bodies."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from alerts.conditions import ALL_OF, ALL_OF_SIZE, BAR_KINDS, PRICE_KINDS, Param
from markets.analysis.patterns import PATTERN_KINDS

# When each kind holds (p[t] is a price update, p[t-1] the one before it).
HOLDS = {
    "price_above": "p[t] > level; a state, true as long as it lasts.",
    "price_below": "p[t] < level; a state, true as long as it lasts.",
    "crossing_up": "p[t-1] <= level < p[t].",
    "crossing_down": "p[t-1] >= level > p[t].",
    "crossing": "crossing_up or crossing_down.",
    "entering_channel": "p[t-1] outside the closed range [low, high] and p[t] inside it.",
    "exiting_channel": "p[t-1] inside the closed range [low, high] and p[t] outside it.",
    "moving_up": "(p[t] - c) / c * 100 >= percent, c the close of the bar `bars` bars before the forming one.",
    "moving_down": "(p[t] - c) / c * 100 <= -percent, c the close of the bar `bars` bars before the forming one.",
    "rsi_above": "RSI(length) > level at a bar's close.",
    "rsi_below": "RSI(length) < level at a bar's close.",
    "rsi_crosses_above": "the previous bar's RSI <= level < this bar's.",
    "rsi_crosses_below": "the previous bar's RSI >= level > this bar's.",
    "macd_cross_bullish": "the MACD line crosses its signal line upwards (<= then >).",
    "macd_cross_bearish": "the MACD line crosses its signal line downwards (>= then <).",
    "bb_break_upper": "previous close <= previous upper band and close > upper band.",
    "bb_break_lower": "previous close >= previous lower band and close < lower band.",
    "ma_cross_golden": "SMA(fast) crosses above SMA(slow).",
    "ma_cross_death": "SMA(fast) crosses below SMA(slow).",
    "volume_spike": "the bar's volume >= factor * the mean volume of the `bars` bars before it.",
    "pattern_detected": "a new finding of one of `patterns` with confidence >= min_confidence.",
}
# Rules between a kind's parameters, which a schema cannot state (a 400 names them).
CROSS_RULES = {
    **dict.fromkeys(["entering_channel", "exiting_channel"], "low < high."),
    **dict.fromkeys(["ma_cross_golden", "ma_cross_death", "macd_cross_bullish", "macd_cross_bearish"], "fast < slow."),
}


def one_of_values(values) -> dict:
    """A string among ``values``. Wrapped in allOf so that drf-spectacular's enum post-processing,
    which names each enum of a component's properties globally, leaves these alone: it would
    merge the single-valued ``kind`` of every condition into one, and rename other apps' enums."""
    return {"allOf": [{"type": "string", "enum": list(values)}]}


def _param(param: Param) -> dict:
    if param.kind == "patterns":
        return {"type": "array", "items": one_of_values(PATTERN_KINDS), "minItems": 1}
    schema = {"type": param.kind, "minimum": param.minimum, "maximum": param.maximum}
    if param.above:
        schema["exclusiveMinimum"] = True  # OpenAPI 3.0's form
    if param.default is not None:
        schema.update(default=param.default, nullable=True, description="null or left out: the default.")
    return schema


def _kind(kind: str, spec: dict[str, Param], evaluated: str) -> dict:
    rule = f" Rule: {CROSS_RULES[kind]}" if kind in CROSS_RULES else ""
    return {
        "type": "object",
        "title": kind,
        "description": f"{evaluated} Holds when {HOLDS[kind]}{rule}",
        "properties": {"kind": one_of_values([kind]), **{n: _param(p) for n, p in spec.items()}},
        "required": ["kind", *(n for n, p in spec.items() if p.default is None)],
        "additionalProperties": False,
    }


PRICE = "A price condition, evaluated on every price update against the previous one."
BAR = "A bar condition, evaluated when a bar of the alert's timeframe closes, on closed bars (it never repaints)."
SIMPLE_CONDITION = {
    "oneOf": [
        *(_kind(kind, spec, PRICE) for kind, spec in PRICE_KINDS.items()),
        *(_kind(kind, spec, BAR) for kind, spec in BAR_KINDS.items()),
    ],
    "description": "One condition: its `kind` and that kind's parameters.",
}
ALL_OF_CONDITION = {
    "type": "object",
    "title": ALL_OF,
    "description": "Holds when every condition holds together. With a bar condition among them the whole is "
    "evaluated at bar closes, price conditions then on the close against the previous close.",
    "properties": {
        "kind": one_of_values([ALL_OF]),
        "conditions": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/AlertSimpleCondition"},
            "minItems": ALL_OF_SIZE[0],
            "maxItems": ALL_OF_SIZE[1],
        },
    },
    "required": ["kind", "conditions"],
    "additionalProperties": False,
}
CONDITION = {
    "oneOf": [{"$ref": "#/components/schemas/AlertSimpleCondition"}, ALL_OF_CONDITION],
    "description": 'What must hold, e.g. {"kind": "crossing_up", "level": 101.5}. Errors name the parameter '
    "(condition.level, condition.conditions[1].level).",
}
CONDITION_COMPONENTS = {"AlertSimpleCondition": SIMPLE_CONDITION, "AlertCondition": CONDITION}

FREQUENCIES = """\
**Frequencies** (TradingView's definitions). Bar conditions fire at bar closes whatever the frequency.
A firing's time is the exchange time of the update that fired it, or the bar's close for a bar evaluation.

- `only_once` (default): the first firing, then the alert is spent (`triggered`).
  *Example:* `crossing_up` 100 on prices 99, 101, 99, 102 fires once, at 101; the alert is then `triggered`
  and 102 does not fire it.
- `once_per_bar`: at most once per bar of `timeframe`, at the first update in the bar where the condition holds.
  *Example:* `price_above` 100 on 1m with 12:00:10 at 99, 12:00:20 at 101, 12:00:40 at 102, 12:01:05 at 103
  fires at 12:00:20 (101) and at 12:01:05 (103), not at 12:00:40 (same bar).
- `once_per_bar_close`: price conditions evaluated only at each bar close, on the close (the previous price
  being the previous bar's close), at most once per bar.
  *Example:* `crossing_up` 100 on 1m where the 12:00 bar trades 99, 101, 99.5 and closes at 99.5, and the 12:01
  bar closes at 100.5: nothing fires during 12:00 (its close 99.5 is under 100); it fires at 12:02:00, the 12:01
  bar's close, at 100.5 (99.5 <= 100 < 100.5).
- `every_time`: every update where it holds, but none within `cooldown` seconds of the previous firing.
  *Example:* `price_above` 100 with `cooldown` 60 on 12:00:00 at 101, 12:00:30 at 102, 12:01:10 at 101 fires at
  12:00:00 and at 12:01:10; 12:00:30 is within 60 s of the first firing.
"""

EXAMPLES = [
    OpenApiExample(
        "crossing up, once per bar",
        value={
            "symbol": "BTC",
            "condition": {"kind": "crossing_up", "level": 101.5},
            "frequency": "once_per_bar",
            "timeframe": "1m",
            "cooldown": 60,
            "expires_at": None,
            "message": "{{symbol}} crossed {{level}} at {{price}}",
            "note": "",
            "channels": [],
            "urgent": False,
        },
        request_only=True,
    ),
    OpenApiExample(
        "every coin of a watchlist up 5% within 4 bars of 1h",
        value={
            "watchlist": 3,
            "condition": {"kind": "moving_up", "percent": 5, "bars": 4},
            "frequency": "once_per_bar",
            "timeframe": "1h",
            "message": "{{symbol}} is up {{change}}% at {{price}}",
        },
        request_only=True,
    ),
    OpenApiExample(
        "RSI falls back below 70 on 1h",
        value={"symbol": "ETH", "condition": {"kind": "rsi_crosses_below", "level": 70}, "timeframe": "1h"},
        request_only=True,
    ),
    OpenApiExample(
        "all of: above 3000 and a volume spike, every time",
        value={
            "symbol": "ETH",
            "condition": {
                "kind": "all_of",
                "conditions": [
                    {"kind": "price_above", "level": 3000},
                    {"kind": "volume_spike", "factor": 3, "bars": 20},
                ],
            },
            "frequency": "every_time",
            "cooldown": 300,
            "timeframe": "15m",
        },
        request_only=True,
    ),
]

CREATE = f"""\
Create an alert. `frequency` defaults to `only_once`, `timeframe` to `1m` (1m 5m 15m 1h 4h 1d), `cooldown`
(seconds, `every_time` only) to 60, `expires_at` to none (an instant in the future otherwise), `message` to
"{{{{symbol}}}}: {{{{condition}}}} ({{{{timeframe}}}}) at {{{{price}}}}".

Message placeholders: {{{{symbol}}}} {{{{price}}}} {{{{level}}}} {{{{condition}}}} (in words) {{{{timeframe}}}}
{{{{time}}}} {{{{alert_id}}}} {{{{note}}}} and the readings ({{{{rsi}}}}, {{{{macd}}}} ...); an unknown one is a 400
naming it. A user has at most ALERTS_PER_USER (default 1000) active alerts.

`channels` (default none) lists the ids of your notification channels each firing is delivered to besides the
in-app bell (GET /api/notifications/channels); an id that is not one of yours is a 400 naming `channels`.
`urgent` (default false) delivers during the channels' quiet hours too.

**On a watchlist.** Give `watchlist` (the id of one of your lists, GET /api/watchlists) instead of `symbol`: the
alert applies to every coin on the list and follows its edits: a coin added is covered from then on, a coin
removed no longer fires (and its firings leave the alert's history). Exactly one of `symbol` and `watchlist` is
given (the other left out or null), else a 400 naming both; another user's list is a 400 naming `watchlist`. Each
firing names its coin: the notification's and the delivery's `symbol`, {{{{symbol}}}} in the message, `symbol` in
GET /api/alerts/{{id}}/history. The answer has `"symbol": null` and `"watchlist": id`; `last_fired_at` and
`fire_count` are over the list's coins. Only conditions that mean the same on every coin are allowed: percent
moves (`moving_up`, `moving_down`) and every bar condition (RSI, MACD, bands, moving averages, volume, patterns),
alone or in `all_of`; a price level (`price_above`, `price_below`, `crossing*`, `*_channel`) is a 400 naming
`condition` (set those on each coin). `only_once` is once per coin: each coin fires once, the others stay armed;
resuming the alert re-arms every coin, as it does one coin's part auto-paused for firing too often. Pausing,
resuming, editing and deleting it act on every coin. An alert on a coin stays on a coin, and one on a watchlist
stays on a watchlist (a 400 naming the other field): edit `watchlist` to move it to another of your lists.
Deleting the list deletes its alerts. A watchlist alert counts once towards ALERTS_PER_USER, whatever its list's
size (at most 500 coins). It exports with its list's id, so an export imports back into the same account only.

A refused alert is a 400 naming each field by its path (`symbol`, `condition.level`, `condition.conditions[1].kind`,
`frequency`, `expires_at`, ...) with what is allowed.

{FREQUENCIES}"""

BACKTEST = f"""\
When the alert would have fired over the last `days` (1 to 365, default 30) of stored candles, through the
engine's own code: price conditions replayed on the stored 1m closes, bar conditions (and `once_per_bar_close`)
at each stored bar's close of `timeframe`; `replayed_on` says which. Nothing is saved. The body is an alert as
POST /api/alerts takes it, plus `days`; a refused one is a 400 naming each field as there.

{FREQUENCIES}"""

BACKTEST_EXAMPLE = OpenApiExample(
    "RSI crosses below 70 on 1h, over 90 days",
    value={"symbol": "BTC", "condition": {"kind": "rsi_crosses_below", "level": 70}, "timeframe": "1h", "days": 90},
    request_only=True,
)
