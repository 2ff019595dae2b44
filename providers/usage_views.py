"""Settings → AI usage: the month's spend per provider and model, budgets, the 12-month trend and the
most expensive conversations. Every read goes through ``providers.selectors``, as the API's does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from providers.budgets import month_start
from providers.display import budget_bar, usd
from providers.selectors import conversations_costliest, usage_summary

TOP_CONVERSATIONS = 10


@login_required
@require_GET
def usage_page(request: HttpRequest) -> HttpResponse:
    """The month's spend (``?month=YYYY-MM``), per provider against budgets, the 12-month trend and the
    most expensive conversations."""
    month, error = _month(request.GET.get("month"))
    summary = usage_summary(user=request.user, month=month)
    context = {
        "tab": "ai-usage",
        "summary": summary,
        "month": month,
        "month_error": error,
        "total": usd(summary["total_spent"]),
        "budgets": [_budget_row(row) for row in summary["budgets"]],
        "budgeted": sum(row["monthly_budget_usd"] is not None for row in summary["budgets"]),
        "breakdown": [{**row, "cost": _breakdown_cost(row)} for row in summary["cost_breakdown"]],
        "trend": _trend_bars(summary["monthly_trend"]),
        "conversations": _conversations(request.user, month),
        "previous": _shift(month, -1),
        "next": _shift(month, 1) if month < month_start() else None,
    }
    return render(request, "providers/usage.html", context, status=400 if error else 200)


def _breakdown_cost(row: dict) -> str:
    """Unknown, not $0.00, when no request of the row had a known price."""
    return "unknown" if row["unpriced_requests"] == row["requests"] else usd(row["cost_usd"])


def _budget_row(row: dict) -> dict:
    remaining = row["remaining_usd"]
    return {**row, "bar": budget_bar(row["spent_usd"], row["monthly_budget_usd"]),
            "remaining_text": usd(remaining) if remaining is not None else ""}  # fmt: skip


def _month(text: str | None) -> tuple[date, str]:
    """The month asked for, or this month and what was wrong with the ask."""
    if not text:
        return month_start(), ""
    try:
        year, number = (int(part) for part in text.split("-"))
        if len(text) != 7 or not 1970 <= year <= 9999:
            raise ValueError
        return date(year, number, 1), ""
    except ValueError:
        return month_start(), f"month: “{text[:20]}” is not a month. Use YYYY-MM, e.g. 2026-12."


def _shift(month: date, months: int) -> str:
    index = month.year * 12 + month.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _trend_bars(trend: list[dict]) -> dict:
    """The 12 months as SVG bars (each a column 100 units tall, the highest month at 90)."""
    top = max((Decimal(row["cost_usd"]) for row in trend), default=Decimal(0))
    bars = []
    for row in trend:
        cost = Decimal(row["cost_usd"])
        height = float(cost / top * 90) if top else 0.0
        height = max(height, 1.0) if cost else 0.0  # a month with any spend stays visible
        label = date(int(row["month"][:4]), int(row["month"][5:]), 1).strftime("%b")
        bars.append({**row, "y": f"{100 - height:.2f}", "height": f"{height:.2f}", "spent": bool(cost), "label": label,
                     "cost": usd(cost)})  # fmt: skip
    return {"bars": bars, "top": usd(top), "empty": not top}


def _conversations(user, month: date) -> list[dict]:
    """The month's costliest conversations, each cost in words ("unknown" when no request had a price)."""
    rows = conversations_costliest(user=user, month=month, limit=TOP_CONVERSATIONS)
    return [{**row, "cost_text": usd(row["cost"]) if row["cost"] is not None else "unknown"} for row in rows]
