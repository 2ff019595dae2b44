"""What each tool's results say, in Markdown: a table of the coins a screen found, a coin's analysis, its
patterns, the alerts created, the coins added, the export's download link, the portfolio.

Each summary takes the successful exchanges of one tool (in the order they were made) and returns a
block; results are read defensively (``.get``), since a result is data, not a promise of a shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alerts.conditions import BAR_KINDS, ConditionError, condition_clean, condition_words
from assistant.builtin.markdown import (
    change_text,
    coin_link,
    link,
    md,
    number_text,
    price_text,
    screen_words,
    table,
    volume_text,
)
from providers.adapters.base import ToolCall

MAX_ROWS = 20  # table rows shown; the rest are counted


@dataclass(frozen=True)
class Exchange:
    """One tool call and its answer: ``result`` when ``ok``, else ``error`` in words."""

    call: ToolCall
    ok: bool
    result: object = None
    error: str = ""
    links: list[dict] = field(default_factory=list)


def rows_of(result) -> list[dict]:
    """The rows of a list result: the list itself, or the first list of objects in an object."""
    if isinstance(result, list):
        return [row for row in result if isinstance(row, dict)]
    if isinstance(result, dict):
        for key in ("coins", "rows", "results", "items", "patterns", "holdings", "data"):
            if isinstance(result.get(key), list):
                return [row for row in result[key] if isinstance(row, dict)]
    return []


def screen_summary(exchanges: list[Exchange]) -> str:
    return "\n\n".join(_screen(exchange) for exchange in exchanges)


def _screen(exchange: Exchange) -> str:
    rows, filters = rows_of(exchange.result), screen_words(exchange.call.arguments)
    if not rows:
        return f"No coin matches {filters}. A looser filter (a higher RSI bound, a longer timeframe) may find some."
    body = [
        [
            f"{coin_link(str(row.get('symbol', '?')))} {md(row.get('name', ''))}".strip(),
            price_text(row.get("price")),
            change_text(row.get("change24h", row.get("change_24h"))),
            volume_text(row.get("volume24h", row.get("volume_24h"))),
            number_text(row.get("rsi")),
            _patterns_cell(row.get("patterns")),
        ]
        for row in rows[:MAX_ROWS]
    ]
    count = f"**{len(rows)} coin{'s' if len(rows) != 1 else ''}** match {filters}:"
    more = f"\n\n…and {len(rows) - MAX_ROWS} more." if len(rows) > MAX_ROWS else ""
    header = ["Coin", "Price", "24h", "Volume", "RSI", "Patterns"]
    return f"{count}\n\n{table(header, body, right={1, 2, 3, 4})}{more}"


def _patterns_cell(patterns) -> str:
    if not isinstance(patterns, list) or not patterns:
        return "—"
    return ", ".join(_pattern_name(p) for p in patterns[:3] if isinstance(p, dict))


def _pattern_name(pattern: dict) -> str:
    confidence = pattern.get("confidence")
    share = f" {confidence:.0%}" if isinstance(confidence, int | float) else ""
    return f"{md(str(pattern.get('kind', '?')).replace('_', ' '))}{share}"


def analysis_summary(exchanges: list[Exchange]) -> str:
    return "\n\n".join(_analysis(exchange) for exchange in exchanges)


def _analysis(exchange: Exchange) -> str:
    result = exchange.result if isinstance(exchange.result, dict) else {}
    symbol = str(result.get("symbol") or exchange.call.arguments.get("symbol", "?")).upper()
    frame = result.get("timeframe") or exchange.call.arguments.get("timeframe", "1h")
    summary = result.get("summary") if isinstance(result.get("summary"), dict) else {}
    lines = [f"### {coin_link(symbol)} · {md(frame)}", _verdict_line(result.get("price"), summary)]
    signals = [s for s in summary.get("signals", []) if isinstance(s, dict) and s.get("reason")]
    lines += [f"- {md(s['reason'])}" for s in signals[:8]]
    levels = result.get("levels") if isinstance(result.get("levels"), dict) else {}
    if levels_line := _levels_line(levels):
        lines.append(levels_line)
    return "\n".join(line for line in lines if line)


def _verdict_line(price, summary: dict) -> str:
    verdict = str(summary.get("verdict", "")).replace("_", " ")
    score = summary.get("score")
    scored = f" (score {score:+.2f})" if isinstance(score, int | float) else ""
    said = f", verdict **{md(verdict)}**{scored}" if verdict else ""
    return f"Price **{price_text(price)}**{said}."


def _levels_line(levels: dict) -> str:
    sides = []
    for side in ("support", "resistance"):
        prices = [price_text(level.get("price")) for level in levels.get(side) or [] if isinstance(level, dict)]
        if prices:
            sides.append(f"{side.capitalize()}: {', '.join(prices[:3])}")
    return "\n" + " · ".join(sides) if sides else ""


def patterns_summary(exchanges: list[Exchange]) -> str:
    return "\n\n".join(_patterns(exchange) for exchange in exchanges)


def _patterns(exchange: Exchange) -> str:
    symbol = str(exchange.call.arguments.get("symbol", "?")).upper()
    frame = exchange.call.arguments.get("timeframe", "1h")
    patterns = rows_of(exchange.result)
    if not patterns:
        return f"No chart pattern on {coin_link(symbol)} {md(frame)} with enough confidence."
    body = [
        [
            md(str(p.get("kind", "?")).replace("_", " ")),
            md(p.get("direction", "—")),
            f"{p['confidence']:.0%}" if isinstance(p.get("confidence"), int | float) else "—",
            price_text(p.get("breakout")),
            price_text(p.get("target")),
        ]
        for p in patterns[:MAX_ROWS]
    ]
    header = ["Pattern", "Direction", "Confidence", "Breakout", "Target"]
    return f"Patterns on {coin_link(symbol)} {md(frame)}:\n\n{table(header, body, right={2, 3, 4})}"


def alerts_summary(exchanges: list[Exchange]) -> str:
    """Alerts created, grouped by condition: "Created 3 alerts — RSI(14) crosses above 50 (4h): …"."""
    groups: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        groups.setdefault(_condition_text(exchange), []).append(exchange)
    return "\n".join(_alert_group(words, group) for words, group in groups.items())


def _condition_text(exchange: Exchange) -> str:
    result = exchange.result if isinstance(exchange.result, dict) else {}
    condition = result.get("condition") or exchange.call.arguments.get("condition")
    try:
        words = condition_words(condition_clean(condition))
    except (ConditionError, KeyError, TypeError, ValueError):
        words = "the condition you gave"
    frame = result.get("timeframe") or exchange.call.arguments.get("timeframe")
    kind = condition.get("kind") if isinstance(condition, dict) else None
    return f"{words} on {frame}" if frame and kind in BAR_KINDS else words


def _alert_group(words: str, group: list[Exchange]) -> str:
    proposed = all(_proposed(e) for e in group)
    verb = "Proposed" if proposed else "Created"
    coins = ", ".join(coin_link(str(e.call.arguments.get("symbol", "?")).upper()) for e in group)
    noun = "an alert" if len(group) == 1 else f"{len(group)} alerts"
    tail = " — confirm on the card to turn it on." if proposed else "."
    return f"- {verb} {noun} on {coins}: **{md(words)}**{tail}"


def _proposed(exchange: Exchange) -> bool:
    result = exchange.result if isinstance(exchange.result, dict) else {}
    return result.get("state") == "proposed" or result.get("proposed") is True


def watchlist_summary(exchanges: list[Exchange]) -> str:
    """Coins added, grouped by watchlist: "Added SOL, AVAX to your watchlist “alts”"."""
    groups: dict[str, list[str]] = {}
    for exchange in exchanges:
        groups.setdefault(_watchlist_name(exchange), []).append(str(exchange.call.arguments.get("symbol", "?")))
    lines = []
    for name, symbols in groups.items():
        where = f"your watchlist “{md(name)}”" if name else "your watchlist"
        verb = "Proposed adding" if all(_proposed(e) for e in exchanges) else "Added"
        lines.append(f"- {verb} {', '.join(coin_link(s.upper()) for s in symbols)} to {where}.")
    return "\n".join(lines)


def _watchlist_name(exchange: Exchange) -> str:
    result = exchange.result if isinstance(exchange.result, dict) else {}
    named = result.get("watchlist")
    if isinstance(named, dict):
        named = named.get("name")
    return str(named or exchange.call.arguments.get("watchlist") or "")


def export_summary(exchanges: list[Exchange]) -> str:
    return "\n".join(_export(exchange) for exchange in exchanges)


def _export(exchange: Exchange) -> str:
    result = exchange.result if isinstance(exchange.result, dict) else {}
    args = exchange.call.arguments
    fmt = str(result.get("format") or args.get("format") or "csv").upper()
    what = {"results": "these results", "alerts": "your alerts", "portfolio": "your portfolio"}.get(
        args.get("what"), "your watchlist"
    )
    url = result.get("url") or next((item.get("url") for item in exchange.links if item.get("url")), None)
    download = link(f"Download the {fmt}", url) if url else "the download is on the tool card"
    expires = f" The link is yours only and expires {md(result['expires_at'])}." if result.get("expires_at") else ""
    return f"- {fmt} export of {what}: {download}.{expires}"


def portfolio_summary(exchanges: list[Exchange]) -> str:
    return "\n\n".join(plain_summary(exchange.result, title="Your portfolio") for exchange in exchanges)


def plain_summary(result, *, title: str) -> str:
    """Any JSON result as bullets of its figures and tables of its lists (the portfolio's holdings)."""
    lines = [f"**{title}**"]
    if isinstance(result, list):
        result = {"items": result}
    if not isinstance(result, dict):
        return f"{lines[0]}: {md(result)}"
    for key, value in result.items():
        label = md(str(key).replace("_", " ").capitalize())
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"\n{label}:\n\n{_rows_table(value)}")
        elif isinstance(value, dict):
            lines.append(f"- {label}: {_figures(value)}")
        elif not isinstance(value, list):
            lines.append(f"- {label}: {number_text(value)}")
    return "\n".join(lines)


def _figures(values: dict) -> str:
    figures = [
        f"{md(str(k).replace('_', ' '))} {number_text(v)}" for k, v in values.items() if not isinstance(v, dict | list)
    ]
    return ", ".join(figures) or "—"


def _rows_table(rows: list[dict]) -> str:
    columns = [k for k, v in rows[0].items() if not isinstance(v, dict | list)][:7]
    body = [[number_text(row.get(column)) for column in columns] for row in rows[:MAX_ROWS]]
    more = f"\n\n…and {len(rows) - MAX_ROWS} more." if len(rows) > MAX_ROWS else ""
    header = [md(column.replace("_", " ").capitalize()) for column in columns]
    return table(header, body) + more


SUMMARIES = {
    "filter_coins": screen_summary,
    "get_coin_analysis": analysis_summary,
    "analyze_pattern": patterns_summary,
    "create_alert": alerts_summary,
    "add_to_watchlist": watchlist_summary,
    "export_results": export_summary,
    "get_portfolio": portfolio_summary,
}
