"""How the AI settings pages write money: dollars, prices per million tokens and spend-against-budget
bars (the provider list and the usage dashboard show the same bars)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WARN_PERCENT = 80  # where a budget bar turns amber, as the 80 % notice does


def usd(value) -> str:
    """Dollars to the cent; a fraction of a cent to four places, so a small cost does not read as zero."""
    amount = Decimal(value or 0)
    if amount == 0:
        return "$0.00"
    if amount < Decimal("0.0001"):
        return "< $0.0001"
    return f"${amount:,.4f}" if amount < Decimal("0.01") else f"${amount:,.2f}"


def per_mtok(value: Decimal) -> str:
    """A price per million tokens: to the cent at least, every digit it has beyond (0.10, 0.075)."""
    text = format(value.normalize(), "f")
    return f"{value:.2f}" if len(text.partition(".")[2]) < 2 else text


def budget_bar(spent, budget) -> dict:
    """What a spend-against-budget bar shows: its width (0 to 100), level (ok, warn, over) and words."""
    spent = Decimal(spent or 0)
    if budget is None:
        return {"percent": None, "width": 0, "level": "none", "text": f"{usd(spent)} · no budget"}
    budget = Decimal(budget)
    percent = int((spent / budget * 100).quantize(Decimal(1), ROUND_HALF_UP)) if budget else (100 if spent else 0)
    level = "over" if percent >= 100 else "warn" if percent >= WARN_PERCENT else "ok"
    width = min(percent, 100)
    return {"percent": percent, "width": width, "level": level, "text": f"{usd(spent)} of {usd(budget)}"}
