"""Settings → AI providers → Add: the five-step wizard against a local OpenAI-compatible server, steps
ahead of the answers sent back, errors named on their fields, secrets never rendered nor stored in
clear in the session."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from providers.models import ProviderConfig
from providers.tests import page_fixtures
from providers.tests.page_fixtures import HINT, HTMX, KEY, MODEL_LIST, PAGE, field_errors, html_of, needs_openai_adapter
from providers.wizard_views import WIZARD

# The page fixtures used here, assigned rather than imported (ruff reads an imported fixture as unused).
user, signed_in, openai_server = page_fixtures.user, page_fixtures.signed_in, page_fixtures.openai_server


# --- the add wizard ----------------------------------------------------------------------------


def test_a_step_ahead_of_the_answers_sends_back_to_the_first_unanswered(signed_in):
    signed_in.get("/settings/ai/add?new")
    assert signed_in.get("/settings/ai/add/budget")["Location"] == "/settings/ai/add"
    signed_in.post("/settings/ai/add", {"kind": "openai"})
    assert signed_in.get("/settings/ai/add/budget")["Location"] == "/settings/ai/add/credentials"
    assert signed_in.get("/settings/ai/add/test")["Location"] == "/settings/ai/add/credentials"
    response = signed_in.post("/settings/ai/add/model", {"model": "gpt-4o-mini"})  # a POST skips nothing either
    assert response["Location"] == "/settings/ai/add/credentials"
    assert signed_in.session[WIZARD]["reached"] == 1
    assert signed_in.get("/settings/ai/add/model", **MODEL_LIST)["Location"] == "/settings/ai/add/credentials"


def test_an_unknown_kind_is_named(signed_in):
    response = signed_in.post("/settings/ai/add", {"kind": "skynet"})
    assert response.status_code == 400 and "Provider:" in html_of(response)


@pytest.mark.parametrize(
    ("kind", "data", "field", "words"),
    [
        ("openai", {"api_key": ""}, "api_key", "Required for openai"),
        ("openai", {"api_key": KEY, "base_url": "file:///etc/passwd"}, "base_url", "http:// or https://"),
        ("bedrock", {"aws_access_key_id": "AKIAEXAMPLE", "aws_region": "moon-1"}, "aws_region", "AWS region"),
        ("bedrock", {"aws_region": "us-east-1"}, "aws_secret_access_key", "Required for bedrock"),
        ("google", {"google_project": "p"}, "google_credentials_json", "Required for Vertex AI"),
    ],
)
def test_bad_credentials_are_named_on_their_fields(signed_in, kind, data, field, words):
    signed_in.post("/settings/ai/add", {"kind": kind})
    response = signed_in.post("/settings/ai/add/credentials", data)
    assert response.status_code == 400
    assert any(words in error for error in field_errors(html_of(response), field)), html_of(response)


def test_a_step_shown_again_with_errors_never_renders_the_secrets_typed(signed_in):
    account = json.dumps(
        {"client_email": "bot@p.iam.example", "private_key": "-----PRIVATE-KEY-SECRET-----", "token_uri": "https://t"}
    )
    signed_in.post("/settings/ai/add", {"kind": "google"})
    data = {"api_key": KEY, "google_project": "p", "google_credentials_json": account}
    response = signed_in.post("/settings/ai/add/credentials", data)
    assert response.status_code == 400 and field_errors(html_of(response), "google_location")
    html = response.content.decode()
    assert KEY not in html and "PRIVATE-KEY-SECRET" not in html and "client_email" not in html


def test_ollama_needs_no_key(signed_in):
    signed_in.post("/settings/ai/add", {"kind": "ollama"})
    response = signed_in.post("/settings/ai/add/credentials", {"base_url": "http://127.0.0.1:11434/v1"})
    assert response["Location"] == "/settings/ai/add/model"


def test_a_negative_budget_is_named_and_nothing_is_saved(signed_in):
    signed_in.post("/settings/ai/add", {"kind": "openai"})
    signed_in.post("/settings/ai/add/credentials", {"api_key": KEY})
    signed_in.post("/settings/ai/add/model", {"model": "gpt-4o-mini"})
    response = signed_in.post("/settings/ai/add/budget", {"monthly_budget_usd": "-1", "priority": "0"})
    assert response.status_code == 400
    assert field_errors(html_of(response), "monthly_budget_usd") == ["Ensure this value is greater than or equal to 0."]
    assert not ProviderConfig.objects.exists()


def test_the_budget_step_shows_the_genai_prices_price_of_the_model(signed_in):
    signed_in.post("/settings/ai/add", {"kind": "openai"})
    signed_in.post("/settings/ai/add/credentials", {"api_key": KEY})
    signed_in.post("/settings/ai/add/model", {"model": "gpt-4o-mini"})
    html = html_of(signed_in.get("/settings/ai/add/budget"))
    assert "genai-prices lists gpt-4o-mini at" in re.sub(r"<[^>]+>", "", html)
    assert "$0.15" in html and "$0.075" in html and "$0.60" in html
    signed_in.post("/settings/ai/add/model", {"model": "my-own-finetune"})
    assert "No known price for" in html_of(signed_in.get("/settings/ai/add/budget"))


def test_the_wizard_adds_a_provider_in_five_steps_and_tests_it(signed_in, user, openai_server):
    needs_openai_adapter()
    pages = [signed_in.get("/settings/ai/add?new")]
    pages.append(signed_in.post("/settings/ai/add", {"kind": "openai"}))
    pages.append(signed_in.get("/settings/ai/add/credentials"))
    pages.append(
        signed_in.post("/settings/ai/add/credentials", {"api_key": KEY, "base_url": openai_server, "name": "Lab"})
    )
    assert pages[-1]["Location"] == "/settings/ai/add/model"
    assert KEY not in json.dumps(signed_in.session[WIZARD])  # encrypted in the session too
    back = signed_in.get("/settings/ai/add/credentials")
    assert f"Entered ({HINT}): leave empty to keep it" in html_of(back)
    pages += [back, signed_in.get("/settings/ai/add/model")]
    listed = signed_in.get("/settings/ai/add/model", **MODEL_LIST)
    pages.append(listed)
    assert '<option value="gpt-4.1-nano">' in html_of(listed) and "offers 2 models" in html_of(listed)
    pages.append(signed_in.post("/settings/ai/add/model", {"listed": "gpt-4.1-nano", "model": ""}))
    pages.append(signed_in.get("/settings/ai/add/budget"))
    saved = signed_in.post(
        "/settings/ai/add/budget", {"monthly_budget_usd": "25", "block_at_budget": "on", "priority": "1"}
    )
    assert saved["Location"] == "/settings/ai/add/test"
    config = ProviderConfig.objects.get(user=user)
    assert (config.name, config.model, config.base_url, config.monthly_budget_usd) == (
        "Lab", "gpt-4.1-nano", openai_server, Decimal("25")
    )  # fmt: skip
    pages.append(signed_in.get("/settings/ai/add/test"))
    tested = signed_in.post(f"/settings/ai/{config.pk}/test", **HTMX)
    pages.append(tested)
    assert re.search(r"✓ Lab answered in \d+ ms with <code>gpt-4.1-nano</code>: “OK”", html_of(tested))
    # back to the budget step and save again: the same provider is updated, not a second one added
    signed_in.post("/settings/ai/add/budget", {"monthly_budget_usd": "30", "priority": "1"})
    assert ProviderConfig.objects.get(user=user).monthly_budget_usd == Decimal("30")
    finished = signed_in.post("/settings/ai/add/finish")
    assert finished["Location"] == f"/settings/ai#provider-{config.pk}" and WIZARD not in signed_in.session
    pages += [signed_in.get(PAGE), signed_in.get(f"/settings/ai/{config.pk}/edit"), signed_in.get("/settings/ai/usage")]
    for page in pages:
        assert KEY not in page.content.decode(), page.request["PATH_INFO"]


def test_the_model_step_shows_the_providers_error_and_takes_a_typed_model(signed_in, user, openai_server):
    needs_openai_adapter()
    signed_in.post("/settings/ai/add", {"kind": "openai"})
    signed_in.post("/settings/ai/add/credentials", {"api_key": "sk-wrong-key-0000", "base_url": openai_server})
    listed = html_of(signed_in.get("/settings/ai/add/model", **MODEL_LIST))
    assert "did not give its model list" in listed and "Incorrect API key" in listed
    assert "sk-wrong-key-0000" not in listed
    response = signed_in.post("/settings/ai/add/model", {"model": "gpt-4o-mini"})
    assert response["Location"] == "/settings/ai/add/budget"


def test_an_empty_model_is_named(signed_in):
    signed_in.post("/settings/ai/add", {"kind": "openai"})
    signed_in.post("/settings/ai/add/credentials", {"api_key": KEY})
    response = signed_in.post("/settings/ai/add/model", {"model": "  "})
    assert response.status_code == 400
    assert field_errors(html_of(response), "model") == ["Choose a model from the list or type its id."]
