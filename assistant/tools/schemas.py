"""The seven tools' names and argument schemas: what the model (and the built-in assistant) may send.
The tools (assistant/tools/<name>.py) check arguments against these and raise ToolError otherwise."""

from __future__ import annotations

TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"]
SYMBOL = {"type": "string", "description": "A coin's base symbol, e.g. BTC (case-insensitive)."}
TIMEFRAME = {"type": "string", "enum": TIMEFRAMES, "description": "Candle timeframe; default 1h."}

FILTER_COINS = {
    "type": "object",
    "properties": {
        "timeframe": TIMEFRAME,
        "rsi_below": {"type": "number", "minimum": 0, "maximum": 100},
        "rsi_above": {"type": "number", "minimum": 0, "maximum": 100},
        "pattern": {"type": "string", "description": "A chart pattern, e.g. double_bottom."},
        "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "min_volume": {"type": "number", "minimum": 0, "description": "24h volume in USDT."},
        "min_price": {"type": "number", "minimum": 0},
        "max_price": {"type": "number", "minimum": 0},
        "min_change": {"type": "number", "description": "24h change in percent."},
        "max_change": {"type": "number"},
        "watchlist": {"type": "string", "description": "Only coins on this watchlist of yours (its name)."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "Default 20."},
    },
    "additionalProperties": False,
}

GET_COIN_ANALYSIS = {
    "type": "object",
    "properties": {"symbol": SYMBOL, "timeframe": TIMEFRAME},
    "required": ["symbol"],
    "additionalProperties": False,
}

# Exactly the body POST /api/alerts takes (alerts.alert_fields checks it, as for the API).
CREATE_ALERT = {
    "type": "object",
    "properties": {
        "symbol": SYMBOL,
        "condition": {
            "type": "object",
            "description": 'e.g. {"kind": "crossing_up", "level": 100000}, {"kind": "rsi_crosses_above", "level": 50}; '
            "kinds: price_above, price_below, crossing_up, crossing_down, crossing, entering_channel, exiting_channel, "
            "moving_up, moving_down, rsi_above, rsi_below, rsi_crosses_above, rsi_crosses_below, macd_cross_bullish, "
            "macd_cross_bearish, bb_break_upper, bb_break_lower, ma_cross_golden, ma_cross_death, volume_spike, "
            "pattern_detected, all_of",
        },
        "frequency": {"type": "string", "enum": ["only_once", "once_per_bar", "once_per_bar_close", "every_time"]},
        "timeframe": TIMEFRAME,
        "cooldown": {"type": "integer", "minimum": 0},
        "expires_at": {"type": ["string", "null"], "description": "ISO 8601, or null."},
        "message": {"type": "string"},
        "note": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "integer"}},
        "urgent": {"type": "boolean"},
    },
    "required": ["symbol", "condition"],
}

ADD_TO_WATCHLIST = {
    "type": "object",
    "properties": {
        "symbol": SYMBOL,
        "watchlist": {"type": "string", "description": "Its name; default list when left out."},
    },
    "required": ["symbol"],
    "additionalProperties": False,
}

ANALYZE_PATTERN = {
    "type": "object",
    "properties": {
        "symbol": SYMBOL,
        "timeframe": TIMEFRAME,
        "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["symbol"],
    "additionalProperties": False,
}

EXPORT_RESULTS = {
    "type": "object",
    "properties": {
        "what": {"type": "string", "enum": ["alerts", "watchlist", "portfolio", "results"]},
        "format": {"type": "string", "enum": ["csv", "json"]},
        "watchlist": {"type": "string", "description": "what=watchlist: its name; default list when left out."},
        "rows": {"type": "array", "items": {"type": "object"}, "description": "what=results: the rows to export."},
    },
    "required": ["what"],
    "additionalProperties": False,
}

GET_PORTFOLIO = {
    "type": "object",
    "properties": {"method": {"type": "string", "enum": ["average", "fifo"]}},
    "additionalProperties": False,
}

SCHEMAS = {
    "filter_coins": FILTER_COINS,
    "get_coin_analysis": GET_COIN_ANALYSIS,
    "create_alert": CREATE_ALERT,
    "add_to_watchlist": ADD_TO_WATCHLIST,
    "analyze_pattern": ANALYZE_PATTERN,
    "export_results": EXPORT_RESULTS,
    "get_portfolio": GET_PORTFOLIO,
}
