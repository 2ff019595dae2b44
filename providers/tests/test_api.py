"""The providers API: the contract's fields, bad input named, secrets never answered, others' 404."""

from __future__ import annotations

import json

import pytest

from providers.models import ProviderConfig
from providers.tests.conftest import API_KEY

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def send(client, method, path, body=None):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, json.dumps(body or {}), content_type="application/json")


def test_create_answers_the_contract_fields_and_never_the_key(api):
    answer = post(api, "/api/ai/providers", {"kind": "openai", "model": "gpt-4o-mini", "api_key": API_KEY})
    assert answer.status_code == 201
    body = answer.json()
    assert answer["Location"] == f"/api/ai/providers/{body['id']}"
    for name in ("id", "kind", "name", "model", "base_url", "monthly_budget_usd", "block_at_budget", "priority",
                 "enabled", "price_input_per_mtok", "price_cached_input_per_mtok", "price_output_per_mtok",
                 "has_key", "key_hint", "month_spent_usd"):  # fmt: skip
        assert name in body
    assert body["has_key"] is True and body["key_hint"] == "sk-…cdef"
    assert body["name"] == "OpenAI" and body["month_spent_usd"] == "0"
    assert API_KEY not in answer.content.decode()
    assert "api_key" not in body


def test_the_key_is_stored_encrypted(api):
    post(api, "/api/ai/providers", {"kind": "openai", "model": "m", "api_key": API_KEY})
    stored = ProviderConfig.objects.get()
    assert API_KEY not in stored.secrets and stored.secrets.startswith("gAAAA")  # a Fernet token


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nope", "model": "m", "api_key": "k"}, "kind"),
        ({"kind": "openai", "model": "m", "api_key": ""}, "api_key"),
        ({"kind": "openai", "model": "m"}, "api_key"),
        ({"kind": "openai", "model": "m", "api_key": "k", "base_url": "ftp://example.com"}, "base_url"),
        ({"kind": "openai", "model": "m", "api_key": "k", "base_url": "javascript:alert(1)"}, "base_url"),
        ({"kind": "openai", "model": "m", "api_key": "k", "monthly_budget_usd": "-1"}, "monthly_budget_usd"),
        ({"kind": "openai", "model": "m", "api_key": "k", "monthly_budget_usd": "1e400"}, "monthly_budget_usd"),
        ({"kind": "openai", "model": "m", "api_key": "k", "price_output_per_mtok": "-0.5"}, "price_output_per_mtok"),
        ({"kind": "openai", "model": "", "api_key": "k"}, "model"),
        ({"kind": "openai", "model": "m", "api_key": "k", "priority": -1}, "priority"),
        ({"kind": "openai", "model": "m", "api_key": "k", "enabled": "maybe"}, "enabled"),
        ({"kind": "openai", "model": "m", "api_key": "k", "colour": "red"}, "colour"),
        ({"kind": "openai", "model": "m", "api_key": "k", "has_key": True}, "has_key"),
        ({"kind": "bedrock", "model": "m", "aws_access_key_id": "AKIA1"}, "aws_secret_access_key"),
        ({"kind": "bedrock", "model": "m", "aws_access_key_id": "A", "aws_secret_access_key": "s"}, "aws_region"),
        (
            {
                "kind": "bedrock",
                "model": "m",
                "aws_access_key_id": "A",
                "aws_secret_access_key": "s",
                "aws_region": "mars",
            },
            "aws_region",
        ),
        ({"kind": "google", "model": "gemini-2.5-flash"}, "api_key"),
        (
            {"kind": "google", "model": "m", "google_project": "p", "google_location": "us-central1"},
            "google_credentials_json",
        ),
        (
            {
                "kind": "google",
                "model": "m",
                "google_project": "p",
                "google_location": "l",
                "google_credentials_json": "{not json",
            },
            "google_credentials_json",
        ),
        ({"kind": ["openai"], "model": "m", "api_key": "k"}, "kind"),
        ({"kind": "openai", "model": {"a": 1}, "api_key": "k"}, "model"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field):
    answer = post(api, "/api/ai/providers", body)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert ProviderConfig.objects.count() == 0


def test_a_body_that_is_not_an_object_is_a_400(api):
    answer = post(api, "/api/ai/providers", ["openai"])
    assert answer.status_code == 400 and "non_field_errors" in answer.json()


def test_ollama_needs_no_key(api):
    answer = post(
        api, "/api/ai/providers", {"kind": "ollama", "model": "llama3.2", "base_url": "http://127.0.0.1:11434/v1"}
    )
    assert answer.status_code == 201 and answer.json()["has_key"] is False


def test_bedrock_and_vertex_credentials_are_all_write_only(api):
    bedrock = post(api, "/api/ai/providers", {"kind": "bedrock", "model": "anthropic.claude-3-haiku-20240307-v1:0",
        "aws_access_key_id": "AKIAEXAMPLEKEY123456", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/secret",
        "aws_region": "eu-west-1"})  # fmt: skip
    assert bedrock.status_code == 201
    assert "wJalrXUtnFEMI" not in bedrock.content.decode() and "AKIAEXAMPLEKEY123456" not in bedrock.content.decode()
    assert bedrock.json()["key_hint"] == "AKI…3456" and bedrock.json()["aws_region"] == "eu-west-1"
    account = {"type": "service_account", "client_email": "bot@proj.iam.gserviceaccount.com",
               "private_key": "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n",
               "token_uri": "https://oauth2.googleapis.com/token"}  # fmt: skip
    vertex = post(api, "/api/ai/providers", {"kind": "google", "model": "gemini-2.5-flash", "google_project": "proj",
        "google_location": "us-central1", "google_credentials_json": json.dumps(account)})  # fmt: skip
    assert vertex.status_code == 201 and "MIIsecret" not in vertex.content.decode()


def test_patch_keeps_the_stored_key_and_put_replaces_the_fields(api, user, provider_make):
    config = provider_make(user, monthly_budget_usd="10")
    patched = send(api, "patch", f"/api/ai/providers/{config.pk}", {"name": "Work", "price_input_per_mtok": "0.2"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Work" and patched.json()["has_key"] is True
    assert patched.json()["price_input_per_mtok"] == "0.2"
    put = send(api, "put", f"/api/ai/providers/{config.pk}", {"kind": "openai", "model": "gpt-4o"})
    assert put.status_code == 200 and put.json()["model"] == "gpt-4o" and put.json()["key_hint"] == "sk-…cdef"
    cleared = send(api, "patch", f"/api/ai/providers/{config.pk}", {"price_input_per_mtok": ""})
    assert cleared.json()["price_input_per_mtok"] is None


def test_changing_the_kind_drops_the_other_providers_key(api, user, provider_make):
    config = provider_make(user)
    answer = send(api, "patch", f"/api/ai/providers/{config.pk}", {"kind": "anthropic"})
    assert answer.status_code == 400 and "api_key" in answer.json()


def test_budget_is_set_with_its_own_body(api, user, provider_make):
    config = provider_make(user)
    answer = send(api, "put", f"/api/ai/providers/{config.pk}/budget", {"monthly_usd": "25.00", "block": True})
    assert answer.status_code == 200
    assert answer.json()["monthly_budget_usd"] == "25.00" and answer.json()["block_at_budget"] is True
    refused = send(api, "put", f"/api/ai/providers/{config.pk}/budget", {"monthly_usd": "-5", "block": "x"})
    assert refused.status_code == 400 and {"monthly_usd", "block"} <= set(refused.json())
    none = send(api, "put", f"/api/ai/providers/{config.pk}/budget", {"monthly_usd": None})
    assert none.status_code == 200 and none.json()["monthly_budget_usd"] is None


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("put", ""), ("patch", ""), ("delete", ""), ("post", "/test"), ("get", "/models"),
     ("put", "/budget")],
)  # fmt: skip
def test_another_users_provider_is_404_on_every_method(api, other, provider_make, method, suffix):
    theirs = provider_make(other)
    body = {"kind": "openai", "model": "x", "api_key": "k", "monthly_usd": "1"}
    answer = send(api, method, f"/api/ai/providers/{theirs.pk}{suffix}", body)
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.model == "gpt-4o-mini"


def test_list_shows_own_and_shared_providers_in_priority_order(
    api, user, other, provider_make, django_assert_num_queries
):
    provider_make(user, name="second", priority=5)
    provider_make(user, name="first", priority=1)
    provider_make(other, name="theirs")
    provider_make(None, name="operator's", priority=9)
    with django_assert_num_queries(4):  # session, user, providers, month rows
        answer = api.get("/api/ai/providers")
    assert [p["name"] for p in answer.json()] == ["first", "second", "operator's"]
    assert [p["shared"] for p in answer.json()] == [False, False, True]


def test_a_shared_provider_is_read_only_for_users(api, provider_make):
    shared = provider_make(None)
    assert api.get(f"/api/ai/providers/{shared.pk}").status_code == 200
    assert send(api, "delete", f"/api/ai/providers/{shared.pk}").status_code == 404
    assert ProviderConfig.objects.filter(pk=shared.pk).exists()


def test_delete_removes_the_provider(api, user, provider_make):
    config = provider_make(user)
    assert api.delete(f"/api/ai/providers/{config.pk}").status_code == 204
    assert not ProviderConfig.objects.exists()


@pytest.mark.parametrize("month", ["2026-13", "26-12", "december", "2026-1", "0000-01", "2026-12-01", "-1--1"])
def test_usage_month_must_be_yyyy_mm(api, month):
    answer = api.get("/api/ai/usage", {"month": month})
    assert answer.status_code == 400 and "month" in answer.json()


def test_anonymous_clients_are_refused(client):
    assert client.get("/api/ai/providers").status_code in (401, 403)
    assert client.get("/api/ai/usage").status_code in (401, 403)
