"""Credentials at rest: ciphertext in the database, rotation to a new key, and never shown — not in an
API answer, a log line (even at DEBUG, with the provider echoing the key back) or an error page."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from providers.crypto import CredentialsUnreadable, key_hint, secrets_decrypt
from providers.models import ProviderConfig
from providers.tests.conftest import API_KEY
from providers.tests.openai_imitation import openai_imitation_running

pytestmark = pytest.mark.django_db


def stored_column(config: ProviderConfig) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM providers_providerconfig WHERE id = %s", [config.pk])
        return cursor.fetchone()[0]


def test_the_database_holds_only_ciphertext(user, provider_make):
    config = provider_make(user)
    column = stored_column(config)
    assert API_KEY not in column and column.startswith("gAAAA")
    assert secrets_decrypt(column) == {"api_key": API_KEY}


def test_rotation_reencrypts_every_credential_with_the_first_key(user, other, provider_make, settings, capsys):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    configs = [provider_make(user), provider_make(other, api_key="sk-other-9876543210fedcba")]
    before = [stored_column(c) for c in configs]
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_provider_keys")
    assert "2 provider(s)" in capsys.readouterr().out
    after = [stored_column(c) for c in configs]
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key gone: everything still reads
    assert [secrets_decrypt(a)["api_key"] for a in after] == [API_KEY, "sk-other-9876543210fedcba"]
    assert Fernet(new).decrypt(after[0].encode())


def test_a_credential_no_key_can_read_is_told_not_guessed(user, provider_make, settings):
    config = provider_make(user)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CredentialsUnreadable, match="FIELD_ENCRYPTION_KEYS"):
        secrets_decrypt(stored_column(config))


@pytest.mark.parametrize(
    ("secret", "hint"), [("sk-proj-abcdefghijklmnop1234", "sk-…1234"), ("short-key", "…ey"), ("", "")]
)
def test_key_hints_tell_keys_apart_without_revealing_them(secret, hint):
    assert key_hint(secret) == hint


def test_a_key_the_provider_echoes_back_is_in_no_answer_and_no_log_line(user, provider_make, client, caplog):
    """The imitation answers a wrong key with an error quoting it in full (OpenAI masks it; others may not)."""
    caplog.set_level(logging.DEBUG)
    with openai_imitation_running(api_key="sk-the-right-key-000000000000") as server:
        config = provider_make(user, base_url=server.url)
        client.force_login(user)
        answer = client.post(f"/api/ai/providers/{config.pk}/test", content_type="application/json")
        models = client.get(f"/api/ai/providers/{config.pk}/models")
    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert "Incorrect API key provided" in answer.json()["error"]  # the provider's words, the key blanked out
    assert models.status_code == 502
    for text in (answer.content.decode(), models.content.decode(), caplog.text):
        assert API_KEY not in text
    assert API_KEY not in json.dumps([r.getMessage() for r in caplog.records])
