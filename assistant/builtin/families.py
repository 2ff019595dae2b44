"""The command families, in the order a clause is offered to them: export, portfolio, alert, watchlist,
patterns of a coin, screen, analysis of a coin. Each reads a clause into calls (or into follow-ups on
the screen's coins) and claims it; a clause it cannot complete leaves a hint for the answer instead.
"""

from __future__ import annotations

import re

from alerts.conditions import BAR_KINDS
from assistant.builtin.alerts import condition_in
from assistant.builtin.plan import Call, Clause, Context, FollowUp, Plan, coins_for
from assistant.builtin.screener import CONFIDENCE_RE, looks_like_screen, pattern_in, screen_arguments
from assistant.builtin.text import number, timeframe_take

MAX_COINS = 10  # calls per clause for coins it names: more is a list to screen, not to type
EXPORT_RE = re.compile(r"\b(?:export|download|csv|json|spreadsheet|excel)\b")
PORTFOLIO_RE = re.compile(r"\b(?:portfolio|holdings|positions|p&l|pnl|profits?|losses)\b|how am i doing")
ALERT_RE = re.compile(
    r"\b(?:alerts?|notify|notification|tell me|let me know|ping me|remind me|warn me|message me|wake me)\b"
)
ADD_RE = re.compile(
    r"\b(?:add|put|save|track|follow|watch)\b(?!\s?list)|\bto\s+(?:my|the)\s+(?:[\w-]+\s+)?watch\s?list"
)
PATTERN_WORDS_RE = re.compile(r"\b(?:patterns?|formations?|chart\s+shapes?)\b")
ANALYSIS_RE = re.compile(
    r"\b(?:analy[sz]\w*|outlook|how is|how's|look at|check|indicators?|levels?|support|resistance)\b"
)
WATCHLIST_NAME_RES = (
    re.compile(r"\b(?:my|the)\s+([\w-]+)\s+watch\s?list\b"),
    re.compile(r"\bwatch\s?list\s+(?:called|named)\s+([\w-]+)"),
)
NOT_A_NAME = {"default", "main", "whole", "entire", "own", "usual", "new"}
SYMBOL_TOKEN_RE = re.compile(r"\$?[A-Za-z0-9]+")


def export_family(clause: Clause, context: Context, plan: Plan) -> bool:
    if not EXPORT_RE.search(clause.lower):
        return False
    what = _export_what(clause.lower, context)
    if what is None:
        plan.hints.append("export")
        return True
    args = {"what": what}
    if fmt := next((f for f in ("json", "csv") if f in clause.lower), "csv" if "excel" in clause.lower else None):
        args["format"] = fmt
    if what == "watchlist" and (name := watchlist_name(clause)):
        args["watchlist"] = name
    if what == "results":
        plan.follow_ups.append(FollowUp("export_results", args, per_coin=False))
    else:
        plan.calls.append(Call("export_results", args))
    return True


def _export_what(lower: str, context: Context) -> str | None:
    for what, pattern in (
        ("alerts", r"\balerts?\b"),
        ("watchlist", r"\bwatch\s?list"),
        ("portfolio", r"\b(?:portfolio|holdings|positions)\b"),
    ):
        if re.search(pattern, lower):
            return what
    return "results" if context.screen is not None else None


def portfolio_family(clause: Clause, context: Context, plan: Plan) -> bool:
    if not PORTFOLIO_RE.search(clause.lower):
        return False
    method = next((m for m in ("fifo", "average") if m in clause.lower), None)
    plan.calls.append(Call("get_portfolio", {"method": method} if method else {}))
    return True


def alert_family(clause: Clause, context: Context, plan: Plan) -> bool:
    if not ALERT_RE.search(clause.lower):
        return False
    frame, text = timeframe_take(_without_coins(clause))
    rsi_side = _screened_rsi_side(context)
    condition = condition_in(text, rsi_side=rsi_side)
    if condition is None:
        plan.hints.append("alert")
        return True
    args = {"condition": condition}
    frame = frame or (context.screen or {}).get("timeframe")
    if frame and condition["kind"] in BAR_KINDS:
        args["timeframe"] = frame
    return _for_coins(clause, context, plan, "create_alert", args, hint="alert-coin")


def _screened_rsi_side(context: Context) -> str | None:
    screen = context.screen or {}
    if "rsi_below" in screen:
        return "below"
    return "above" if "rsi_above" in screen else None


def watchlist_family(clause: Clause, context: Context, plan: Plan) -> bool:
    if not ADD_RE.search(clause.lower):
        return False
    name = watchlist_name(clause)
    return _for_coins(clause, context, plan, "add_to_watchlist", {"watchlist": name} if name else {}, hint="watch")


def pattern_family(clause: Clause, context: Context, plan: Plan) -> bool:
    named, _ = pattern_in(clause.lower)
    if not (PATTERN_WORDS_RE.search(clause.lower) or named) or looks_like_screen(clause.lower):
        return False
    if not clause.symbols and not context.subject:
        return False
    frame, text = timeframe_take(_without_coins(clause))
    args = {"timeframe": frame} if frame else {}
    if (found := CONFIDENCE_RE.search(text)) is not None:
        value = number(found.group(1))
        args["min_confidence"] = value / 100 if found.group(2) or value > 1 else value
    _add_per_coin(plan, coins_for(clause, context) or [], "analyze_pattern", args)
    return True


def screen_family(clause: Clause, context: Context, plan: Plan) -> bool:
    if clause.symbols and not looks_like_screen(clause.lower):
        return False  # "is BTC oversold on the 4h?" asks about BTC: its analysis
    args = screen_arguments(_without_coins(clause), watchlist_name=clause.name)
    if not set(args) - {"timeframe"} and not looks_like_screen(clause.lower):
        return False  # a timeframe alone ("analyse FAKECOIN on 4h") is no screen
    context.screen = args
    plan.calls.append(Call("filter_coins", args))
    return True


def analysis_family(clause: Clause, context: Context, plan: Plan) -> bool:
    if not clause.symbols and not (context.subject and ANALYSIS_RE.search(clause.lower)):
        return False
    frame, _ = timeframe_take(_without_coins(clause))
    _add_per_coin(plan, coins_for(clause, context) or [], "get_coin_analysis", {"timeframe": frame} if frame else {})
    return True


def watchlist_name(clause: Clause) -> str | None:
    """The watchlist a clause names: quoted ('alts') or "my alts watchlist"; None for the default list."""
    if clause.name:
        return clause.name
    for pattern in WATCHLIST_NAME_RES:
        found = pattern.search(clause.lower)
        if found and found.group(1) not in NOT_A_NAME:
            return found.group(1)
    return None


def _for_coins(clause: Clause, context: Context, plan: Plan, tool: str, args: dict, *, hint: str) -> bool:
    """Calls for the coins the clause means; follow-ups when it means the screen's ("them")."""
    coins = coins_for(clause, context)
    if coins:
        _add_per_coin(plan, coins, tool, args)
    elif context.screen is not None:
        plan.follow_ups.append(FollowUp(tool, args))
    else:
        plan.hints.append(hint)
    return True


def _add_per_coin(plan: Plan, coins: list[str], tool: str, args: dict) -> None:
    plan.calls += [Call(tool, {"symbol": symbol, **args}) for symbol in coins[:MAX_COINS]]


def _without_coins(clause: Clause) -> str:
    """The clause in lower case with the coins' symbols blanked, so that "1INCH" reads as no number."""
    symbols = set(clause.symbols)
    return SYMBOL_TOKEN_RE.sub(
        lambda m: " " if m.group().lstrip("$").upper() in symbols else m.group(), clause.text
    ).lower()


FAMILIES = (
    export_family,
    portfolio_family,
    alert_family,
    watchlist_family,
    pattern_family,
    screen_family,
    analysis_family,
)
