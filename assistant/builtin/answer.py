"""The built-in assistant's words: what it is doing while tools run, the answer once their results are
back (``summaries``, then what went wrong and why), and what it understands when it does not."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from assistant.builtin.markdown import md, screen_words
from assistant.builtin.plan import Call
from assistant.builtin.summaries import SUMMARIES, Exchange, rows_of
from providers.adapters.base import Message

HELP_RE = re.compile(r"^\W*(?:hi|hello|hey|help|yo|what can you do|what do you (?:do|understand)|commands?)\b", re.I)

CAPABILITIES = """\
- **Screen the market**: "show coins with RSI below 30 on 1h", "which coins under $1 are oversold on \
the 4h with a double bottom?", "coins up more than 5% today with volume over 10M"
- **Analyse a coin**: "analyse ETH on 4h", "is BTC oversold on the daily?"
- **Find chart patterns**: "any patterns on SOL 1d?"
- **Create alerts**: "alert me when BTC crosses 100000", "tell me when ETH drops below 3000", \
"alert me when SOL RSI crosses 50 on the 4h"
- **Fill your watchlists**: "add SOL to my watchlist", "add SOL and AVAX to my 'alts' watchlist"
- **Export**: "export my alerts as CSV", "export my watchlist as json"
- **Your portfolio**: "how is my portfolio"

Requests chain: "which coins under $1 are oversold on the 4h? watch them and tell me when RSI crosses 50". \
For questions in your own words, add an AI provider in [Settings → AI](/settings/ai)."""

HINTS = {
    "alert": 'I could not read the alert\'s condition. Say it like "alert me when BTC crosses 100000", '
    '"when ETH drops below 3000" or "when SOL RSI crosses 50 on the 4h".',
    "alert-coin": 'Which coin should the alert watch? E.g. "alert me when BTC crosses 100000".',
    "watch": 'Which coin should I add? E.g. "add SOL to my watchlist" or "add SOL and AVAX to my \'alts\' watchlist".',
    "export": 'What should I export: "export my alerts as CSV", "export my watchlist as json" or "export my '
    'portfolio"?',
}
FIXES = {
    "filter_coins": "Timeframes are 1m, 5m, 15m, 1h, 4h and 1d; RSI bounds go from 0 to 100.",
    "get_coin_analysis": "I know the listed coins by their symbol (BTC) or name (bitcoin).",
    "analyze_pattern": "I know the listed coins by their symbol (BTC) or name (bitcoin).",
    "create_alert": 'An alert reads like "alert me when BTC crosses 100000".',
    "add_to_watchlist": "Check the coin's symbol and the watchlist's name (leave the name out for your default list).",
    "export_results": "Exports cover your alerts, a watchlist, your portfolio or a screen's results, as CSV or JSON.",
    "get_portfolio": "",
}
WHAT_FAILED = {
    "filter_coins": "The screen did not run",
    "get_coin_analysis": "No analysis of {symbol}",
    "analyze_pattern": "No pattern scan of {symbol}",
    "create_alert": "The alert on {symbol} was not created",
    "add_to_watchlist": "{symbol} was not added",
    "export_results": "The export was not made",
    "get_portfolio": "The portfolio could not be read",
}


def exchanges_of(messages: Sequence[Message]) -> list[Exchange]:
    """The tool calls made in ``messages`` (this turn's rounds) with their results, in call order."""
    results = {m.tool_call_id: m for m in messages if m.role == "tool"}
    calls = [call for m in messages if m.role == "assistant" for call in m.tool_calls]
    return [_exchange(call, results.get(call.id)) for call in calls]


def _exchange(call, message: Message | None) -> Exchange:
    if message is None:
        return Exchange(call, ok=False, error="no result came back")
    try:
        data = json.loads(message.content)
    except (TypeError, ValueError):
        data = _salvaged(message.content or "")
    links = []
    if isinstance(data, dict) and "ok" in data and ("result" in data or "error" in data):
        links = [item for item in data.get("links") or [] if isinstance(item, dict)]
        if not data["ok"]:
            return Exchange(call, ok=False, error=_error_text(data.get("error", data.get("result"))), links=links)
        data = data.get("result")
    if message.is_error or (isinstance(data, dict) and set(data) <= {"error", "ok"} and "error" in data):
        return Exchange(call, ok=False, error=_error_text(data), links=links)
    return Exchange(call, ok=True, result=data, links=links)


def _salvaged(content: str):
    """A result cut to fit the model's context ("… (cut)"): the whole objects of its first list of
    objects (a screen's first rows), else the text as it is."""
    start = content.find("[{")
    if start < 0:
        return content
    decoder, rows, index = json.JSONDecoder(), [], start + 1
    while True:
        try:
            row, index = decoder.raw_decode(content, index)
        except ValueError:
            break
        rows.append(row)
        index = len(content) - len(content[index:].lstrip(", \n"))
    return {"rows": rows, "cut": True} if rows else content


def _error_text(error) -> str:
    if isinstance(error, dict):
        if "error" in error:
            return _error_text(error["error"])
        if "message" in error:
            return str(error["message"])
        return "; ".join(f"{key}: {_error_text(value)}" for key, value in error.items())
    if isinstance(error, list):
        return " ".join(_error_text(item) for item in error)
    return str(error or "the tool refused the call")


def final_answer(exchanges: list[Exchange], hints: list[str]) -> str:
    """The answer once the tools have answered: each tool's summary, then errors and hints."""
    blocks = []
    for name in dict.fromkeys(e.call.name for e in exchanges):
        done = [e for e in exchanges if e.call.name == name and e.ok]
        if done and name in SUMMARIES:
            blocks.append(SUMMARIES[name](done))
    if _screened_nothing(exchanges):
        blocks.append("With no coin found, I added nothing to your watchlist and created no alert.")
    failed = [e for e in exchanges if not e.ok]
    if failed:
        blocks.append("\n".join(_failure(e) for e in failed))
    blocks += [HINTS[hint] for hint in dict.fromkeys(hints)]
    return "\n\n".join(blocks) or "Done."


def _screened_nothing(exchanges: list[Exchange]) -> bool:
    screens = [e for e in exchanges if e.call.name == "filter_coins" and e.ok]
    return bool(screens) and not any(rows_of(e.result) for e in screens) and len(exchanges) == len(screens)


def _failure(exchange: Exchange) -> str:
    symbol = str(exchange.call.arguments.get("symbol", "")).upper() or "the coin"
    what = WHAT_FAILED.get(exchange.call.name, "{symbol}: the tool failed").format(symbol=md(symbol))
    fix = FIXES.get(exchange.call.name, "")
    return f"- ⚠️ {what}: {md(exchange.error.rstrip('. '))}.{' ' + fix if fix else ''}"


def help_answer(text: str, hints: list[str]) -> str:
    """What the built-in assistant understands, with examples; says first when it did not understand."""
    if hints:
        opening = " ".join(HINTS[hint] for hint in dict.fromkeys(hints)) + "\n\nHere is what I understand:"
    elif HELP_RE.search(text) or not text.strip():
        opening = "I'm the built-in assistant: I work without an AI provider and understand plain commands like these:"
    else:
        opening = (
            f"I did not understand “{md(text.strip()[:200])}”. I'm the built-in assistant: I work without an AI "
            "provider and understand plain commands like these:"
        )
    return f"{opening}\n\n{CAPABILITIES}"


def progress(calls: list[Call]) -> str:
    """One line on what the calls about to run do: "Screening the market (RSI below 30, on 4h)…"."""
    parts = []
    for name in dict.fromkeys(call.name for call in calls):
        same = [call.arguments for call in calls if call.name == name]
        symbols = ", ".join(md(args.get("symbol", "")) for args in same)
        parts.append(_PROGRESS[name](same, symbols))
    return " ".join(parts) + "\n\n"


_PROGRESS = {
    "filter_coins": lambda same, _: f"Screening the market ({screen_words(same[0])})…",
    "get_coin_analysis": lambda _, symbols: f"Analysing {symbols}…",
    "analyze_pattern": lambda _, symbols: f"Looking for chart patterns on {symbols}…",
    "create_alert": lambda same, symbols: f"Creating {'an alert' if len(same) == 1 else 'alerts'} on {symbols}…",
    "add_to_watchlist": lambda _, symbols: f"Adding {symbols} to your watchlist…",
    "export_results": lambda same, _: f"Preparing the export of your {md(same[0].get('what', 'data'))}…",
    "get_portfolio": lambda *_: "Reading your portfolio…",
}
