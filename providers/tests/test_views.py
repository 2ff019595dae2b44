"""Settings → AI providers, the list: empty state, spend against budget, fixed queries, enable and
disable, edit, delete, the test button against a local OpenAI-compatible server, errors named on their
fields, secrets never rendered, and another user's provider 404."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.models import ProviderConfig, UsageRecord
from providers.tests import page_fixtures
from providers.tests.page_fixtures import (
    HINT,
    HTMX,
    KEY,
    PAGE,
    field_errors,
    html_of,
    needs_openai_adapter,
    provider,
    spend,
)

# The page fixtures used here, assigned rather than imported (ruff reads an imported fixture as unused).
user, other, signed_in, openai_server, closed_port = (
    page_fixtures.user,
    page_fixtures.other,
    page_fixtures.signed_in,
    page_fixtures.openai_server,
    page_fixtures.closed_port,
)


# --- the list ----------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_log_in(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_without_providers_the_page_says_the_assistant_answers_without_one(signed_in):
    html = html_of(signed_in.get(PAGE))
    assert "No AI provider yet — the built-in assistant answers without one" in html
    assert 'href="/settings/ai/add?new"' in html


def test_the_settings_tabs_link_ai_providers_and_ai_usage(signed_in):
    for path, active in [
        (PAGE, "ai-providers-tab"),
        ("/settings/ai/usage", "ai-usage-tab"),
        ("/settings/notifications", None),
    ]:
        html = html_of(signed_in.get(path))
        assert re.search(r'<a href="/settings/ai"[^>]*id="ai-providers-tab">AI providers</a>', html)
        assert re.search(r'<a href="/settings/ai/usage"[^>]*id="ai-usage-tab">AI usage</a>', html)
        current = re.findall(r'class="active" aria-current="page" id="([\w-]+)"', html)
        assert current == ([active] if active else []), path


def test_each_provider_shows_kind_model_status_key_hint_and_spend_against_budget(signed_in, user):
    config = provider(user, monthly_budget_usd="20.00")
    spend(config, "17.5")
    provider(user, kind="groq", name="Fast", model="llama-3.1-8b-instant", enabled=False)
    html = html_of(signed_in.get(PAGE))
    row = re.search(rf'<li class="provider" id="provider-{config.pk}".*?</li>', html, re.S)[0]
    assert "My OpenAI" in row and "OpenAI" in row and "gpt-4o-mini" in row and "Enabled" in row
    assert HINT in row and KEY not in html
    assert "$17.50 of $20.00" in row and "88%" in row and "level-warn" in row
    assert 'class="spend-fill" width="88"' in row
    assert re.search(r'class="provider provider-off".*?Disabled', html, re.S)


def test_an_operators_shared_provider_is_listed_read_only(signed_in):
    shared = provider(None, name="House Claude", kind="anthropic", model="claude-3-5-haiku-latest")
    html = html_of(signed_in.get(PAGE))
    row = re.search(rf'id="provider-{shared.pk}".*?</li>', html, re.S)[0]
    assert "Shared" in row and "Test" in row
    assert "/edit" not in row and "/delete" not in row and "toggle-button" not in row


def test_the_list_reads_a_fixed_number_of_queries(signed_in, user, django_assert_num_queries):
    spend(provider(user, monthly_budget_usd="5"), "1")
    with django_assert_num_queries(5):  # session, user, providers, their month rows, the bell's unread count
        signed_in.get(PAGE)
    for number in range(4):
        spend(provider(user, name=f"Extra {number}", monthly_budget_usd="5"), "2")
    provider(None, name="Shared")
    with django_assert_num_queries(5):
        assert len(re.findall(r'<li class="provider[ \w-]*" id=', html_of(signed_in.get(PAGE)))) == 6


def test_another_users_providers_are_not_listed(signed_in, other):
    provider(other, name="Their secret provider")
    assert "Their secret provider" not in html_of(signed_in.get(PAGE))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/settings/ai/{}/edit"),
        ("post", "/settings/ai/{}/edit"),
        ("post", "/settings/ai/{}/enabled"),
        ("post", "/settings/ai/{}/test"),
        ("get", "/settings/ai/{}/delete"),
        ("post", "/settings/ai/{}/delete"),
    ],
)
def test_another_users_provider_is_404_on_every_action(signed_in, other, method, path):
    theirs = provider(other, name="Theirs", monthly_budget_usd="3")
    data = {"enabled": "false", "name": "Mine now", "model": "x", "priority": "0"}
    response = getattr(signed_in, method)(path.format(theirs.pk), data)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.enabled) == ("Theirs", True)
    assert not UsageRecord.objects.exists()  # the test request was never sent


@pytest.mark.parametrize("path", ["/settings/ai/{}/edit", "/settings/ai/{}/enabled", "/settings/ai/{}/delete"])
def test_a_shared_provider_cannot_be_changed_from_the_page(signed_in, path):
    shared = provider(None, name="House")
    assert signed_in.post(path.format(shared.pk), {"enabled": "false"}).status_code == 404
    assert ProviderConfig.objects.get(pk=shared.pk).enabled


def test_disable_then_enable_answers_the_row(signed_in, user):
    config = provider(user)
    response = signed_in.post(f"/settings/ai/{config.pk}/enabled", {"enabled": "false"}, **HTMX)
    html = html_of(response)
    assert html.startswith(f'<li class="provider provider-off" id="provider-{config.pk}"') and "Enable</button>" in html
    config.refresh_from_db()
    assert not config.enabled
    html = html_of(signed_in.post(f"/settings/ai/{config.pk}/enabled", {"enabled": "true"}, **HTMX))
    assert "Disable</button>" in html
    config.refresh_from_db()
    assert config.enabled


def test_a_provider_missing_its_key_says_why_it_cannot_be_toggled(signed_in, user):
    keyless = ProviderConfig.objects.create(user=user, kind="openai", name="Imported", model="gpt-4o-mini")
    html = html_of(signed_in.post(f"/settings/ai/{keyless.pk}/enabled", {"enabled": "false"}, **HTMX))
    assert 'role="alert">Imported cannot be changed until it is fixed (api_key: Required for openai' in html
    keyless.refresh_from_db()
    assert keyless.enabled


def test_delete_asks_first_then_deletes_and_keeps_the_usage(signed_in, user):
    config = provider(user)
    UsageRecord.objects.create(user=user, provider=config, provider_kind="openai", provider_name="My OpenAI",
                               model="gpt-4o-mini", cost_usd=Decimal("0.5"), created_at=datetime.now(UTC))  # fmt: skip
    assert "Delete this provider?" in html_of(signed_in.get(f"/settings/ai/{config.pk}/delete"))
    assert ProviderConfig.objects.filter(pk=config.pk).exists()
    response = signed_in.post(f"/settings/ai/{config.pk}/delete")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not ProviderConfig.objects.filter(pk=config.pk).exists()
    assert UsageRecord.objects.get().provider_name == "My OpenAI"
    assert "$0.50" in html_of(signed_in.get("/settings/ai/usage"))


# --- edit --------------------------------------------------------------------------------------


def edit_data(**changes) -> dict:
    data = {"name": "Renamed", "model": "gpt-4.1-nano", "api_key": "", "base_url": "", "monthly_budget_usd": "12.5",
            "block_at_budget": "on", "priority": "3", **changes}  # fmt: skip
    return {name: value for name, value in data.items() if value is not None}


def test_edit_is_prefilled_without_the_key_and_saves_keeping_the_stored_key(signed_in, user):
    config = provider(user, monthly_budget_usd="10")
    html = html_of(signed_in.get(f"/settings/ai/{config.pk}/edit"))
    assert 'value="My OpenAI"' in html and 'value="10"' in html and KEY not in html
    response = signed_in.post(f"/settings/ai/{config.pk}/edit", edit_data())
    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.name, config.model, config.monthly_budget_usd, config.priority) == (
        "Renamed", "gpt-4.1-nano", Decimal("12.5"), 3
    )  # fmt: skip
    assert config.key_hint == HINT  # the stored key, kept


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("base_url", "ftp://example.com", "http:// or https://"),
        ("monthly_budget_usd", "-5", "greater than or equal to 0"),
        ("price_output_per_mtok", "abc", "valid number"),
    ],
)
def test_an_edit_with_bad_input_is_named_on_its_field(signed_in, user, field, value, words):
    config = provider(user)
    response = signed_in.post(f"/settings/ai/{config.pk}/edit", edit_data(**{field: value}))
    assert response.status_code == 400
    html = html_of(response)
    assert any(words in error for error in field_errors(html, field)), field_errors(html, field)
    label = str(response.context["form"].fields[field].label)
    assert f"Fix {label}" in html  # the banner names the field too
    config.refresh_from_db()
    assert config.name == "My OpenAI"


# --- the test button ---------------------------------------------------------------------------


def test_test_answers_the_providers_error_in_words_when_it_cannot_be_reached(signed_in, user, closed_port):
    needs_openai_adapter()
    config = provider(user, base_url=closed_port)
    html = html_of(signed_in.post(f"/settings/ai/{config.pk}/test", **HTMX))
    assert "✗ My OpenAI failed the test" in html and "Could not reach the provider" in html
    assert KEY not in html


def test_test_answers_ok_with_latency_in_place(signed_in, user, openai_server):
    needs_openai_adapter()
    config = provider(user, base_url=openai_server)
    html = html_of(signed_in.post(f"/settings/ai/{config.pk}/test", **HTMX))
    assert re.search(r"answered in \d+ ms with <code>gpt-4o-mini</code>", html)
    record = UsageRecord.objects.get()
    assert (record.input_tokens, record.output_tokens, record.status) == (14, 1, "ok")


def test_test_without_htmx_says_the_outcome_on_the_list(signed_in, user, closed_port):
    needs_openai_adapter()
    config = provider(user, base_url=closed_port)
    response = signed_in.post(f"/settings/ai/{config.pk}/test", follow=True)
    assert "My OpenAI failed the test: Could not reach the provider" in html_of(response)
