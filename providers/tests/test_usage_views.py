"""Settings → AI usage: the month's spend, budgets, the 12-month trend, the costliest conversations
(another user's left out, an unknown price said so) and another month or a bad one."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from providers.models import UsageRecord
from providers.tests import page_fixtures
from providers.tests.page_fixtures import html_of, provider, spend

# The page fixtures used here, assigned rather than imported (ruff reads an imported fixture as unused).
user, other, signed_in = page_fixtures.user, page_fixtures.other, page_fixtures.signed_in


# --- the usage dashboard -----------------------------------------------------------------------


def usage(user, config, cost, conversation=None, when=None, **fields) -> UsageRecord:
    return UsageRecord.objects.create(
        user=user, provider=config, provider_kind=config.kind, provider_name=config.name, model=config.model,
        input_tokens=1000, output_tokens=200, cost_usd=None if cost is None else Decimal(cost),
        conversation_id=conversation, created_at=when or datetime.now(UTC), **fields,
    )  # fmt: skip


def test_usage_without_requests_says_so(signed_in):
    html = html_of(signed_in.get("/settings/ai/usage"))
    assert "No AI requests in" in html and "No AI provider yet" in html
    assert "No spend in these 12 months yet." in html


def test_usage_shows_the_months_spend_budgets_trend_and_costliest_conversations(signed_in, user, other):
    config = provider(user, monthly_budget_usd="10")
    spend(config, "4.25")
    usage(user, config, "3.00", conversation=7)
    usage(user, config, "1.25", conversation=9)
    usage(user, config, "0.75", conversation=9)
    usage(user, config, None, conversation=11)  # an unknown price: unknown, not zero
    usage(other, provider(other), "99", conversation=1)
    html = html_of(signed_in.get("/settings/ai/usage"))
    assert re.search(r'id="month-total">\$5.00<', html) and re.search(r'id="month-requests">4<', html)
    assert "$4.25 of $10.00" in html and "43%" in html
    table = re.search(r'<table class="usage-table" id="conversations">.*?</table>', html, re.S)[0]
    assert re.findall(r"Conversation #(\d+)", table) == ["7", "9", "11"]
    assert "unknown" in table and "Conversation #1<" not in table
    assert "+ 1 at an unknown price" in html
    bars = re.findall(r'<rect x="1" y="([\d.]+)" width="8" height="([\d.]+)"/>', html)
    assert len(bars) == 12 and bars[-1] == ("10.00", "90.00") and all(h == "0.00" for _, h in bars[:-1])


def test_usage_of_another_month_and_a_bad_month(signed_in, user):
    config = provider(user)
    usage(user, config, "2", when=datetime(2026, 3, 10, tzinfo=UTC))
    html = html_of(signed_in.get("/settings/ai/usage?month=2026-03"))
    assert "March 2026" in html and 'id="month-total">$2.00<' in html
    response = signed_in.get("/settings/ai/usage?month=2026-13")
    assert response.status_code == 400
    assert "month: “2026-13” is not a month. Use YYYY-MM" in html_of(response)
