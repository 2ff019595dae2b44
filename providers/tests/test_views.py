"""Settings → AI providers and AI usage: the list (empty state, spend against budget, fixed queries),
test, enable and disable, edit, delete, the five-step add wizard against a local OpenAI-compatible
server, errors named on their fields, secrets never rendered, and another user's provider 404."""

from __future__ import annotations

import json
import re
import socket
import threading
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from providers.budgets import month_start
from providers.models import ProviderConfig, ProviderMonth, UsageRecord
from providers.services import provider_create
from providers.views import WIZARD

PAGE = "/settings/ai"
HTMX = {"HTTP_HX_REQUEST": "true"}
MODEL_LIST = {**HTMX, "HTTP_HX_TARGET": "model-list"}  # the model step's live list
KEY = "sk-live-Zq8Wv3SECRETk9Jp2RxT7a1b2"  # what must never be rendered back
HINT = "sk-…a1b2"


def needs_openai_adapter():
    """The OpenAI-compatible adapter (providers/adapters/openai_family) is built on its own branch."""
    return pytest.importorskip("providers.adapters.openai_family", reason="the OpenAI-compatible adapter")


# --- a local OpenAI-compatible server: GET /v1/models and streamed POST /v1/chat/completions --------


class ChatCompletions(BaseHTTPRequestHandler):
    """Speaks the OpenAI wire format: Bearer auth, the model list, and chat completions as SSE with
    the include_usage chunk last; a wrong key gets OpenAI's 401 error body."""

    key = KEY
    models = ("gpt-4o-mini", "gpt-4.1-nano")

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.key}":
            return True
        error = {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}
        self._json(401, {"error": error})
        return False

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            return self._json(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
        if self._authorised():
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"} for m in self.models]
            self._json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._authorised():
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": body["model"]}
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "OK"}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {**base, "choices": [], "usage": {"prompt_tokens": 14, "completion_tokens": 1, "total_tokens": 15}},
        ]
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def openai_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> str:
    """An address where nothing listens: connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="trader", email="trader@example.com")


@pytest.fixture
def other(db, django_user_model):
    return django_user_model.objects.create_user(username="other", email="other@example.com")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def provider(user, **fields) -> ProviderConfig:
    data = {"kind": "openai", "name": "My OpenAI", "model": "gpt-4o-mini", "api_key": KEY, **fields}
    return provider_create(user=user, data=data)


def html_of(response) -> str:
    return unescape(response.content.decode())


def field_errors(html: str, name: str) -> list[str]:
    """The error texts under field ``name`` (its <label class="field invalid">)."""
    match = re.search(rf'<label class="field invalid">(?:(?!</label>).)*?name="{name}"(.*?)</label>', html, re.S)
    return re.findall(r'<small class="error">(.*?)</small>', match[1]) if match else []


def spend(config: ProviderConfig, amount: str) -> None:
    ProviderMonth.objects.create(provider=config, month=month_start(), spent_usd=Decimal(amount))


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
