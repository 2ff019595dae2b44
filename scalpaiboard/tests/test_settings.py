"""Settings from the environment: embedded defaults, the full stack, and loud failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "FEED_EMBEDDED")


MODES = (
    "print(settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'],"
    " settings.CHANNEL_LAYERS['default']['BACKEND'], settings.CELERY_TASK_ALWAYS_EAGER, settings.FEED_EMBEDDED)"
)


def settings_of(*, code: str = MODES, **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with ``env`` and run ``code`` (by default: print
    which mode they chose)."""
    clean = {
        k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, "PYTEST_XDIST_WORKER", "FIELD_ENCRYPTION_KEYS")
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; django.setup();" + code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "scalpaiboard.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_need_no_service(tmp_path):
    result = settings_of(VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", "django.core.cache.backends.locmem.LocMemCache",
        "channels.layers.InMemoryChannelLayer", "True", "True",
    ]  # fmt: skip


FULL_STACK = {"DATABASE_URL": "postgres://u@db:5432/app", "REDIS_URL": "redis://cache:6379/0"}
KEY_A = "l4-9m3oR6Ovz0Wn0b1Z9Yx4Q3Uv6mFJcJlqQ7N0x6bE="
KEY_B = "x7Yq0n5b1pNq3kY0mYzW9cDqR4tF8hJ2uV6wX1aB3cE="


def test_service_urls_select_the_full_stack(tmp_path):
    result = settings_of(VAR_DIR=str(tmp_path), FIELD_ENCRYPTION_KEYS=KEY_A, **FULL_STACK)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql", "django_redis.cache.RedisCache",
        "channels_redis.pubsub.RedisPubSubChannelLayer", "False", "False",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://root@db/app"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "localhost:6379"),
        ("CELERY_BROKER_URL", "kafka://broker"),
        ("SIMULATION_SEED", "-1"),
        ("SIMULATION_SEED", "forty-two"),
        ("SIMULATION_TICK_SECONDS", "inf"),
        ("MARKET_SOURCE", "kraken"),
        ("FEED_STALE_SECONDS", "0"),
        ("BINANCE_REST_URL", "api.binance.com"),
        ("LOG_LEVEL", "LOUD"),
        ("METRICS_ALLOWED_IPS", "localhost"),
        ("RATE_LIMIT_RPM", "-1"),
        ("RATE_LIMIT_LOGIN_RPM", "many"),
        ("LOGIN_FAILURE_LIMIT", "0"),
        ("LOGIN_COOLOFF_MINUTES", "0"),
        ("JWT_ACCESS_MINUTES", "0"),
        ("JWT_REFRESH_DAYS", "1000"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("SECURE_SSL_REDIRECT", "sometimes"),
        ("SESSION_COOKIE_SECURE", "secure"),
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
        ("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com/"),
        ("CORS_ALLOWED_ORIGINS", "app.example.com"),
        ("CORS_ALLOWED_ORIGINS", "https://App.example.com"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, name, value):
    result = settings_of(VAR_DIR=str(tmp_path), **{name: value})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and name in last_line and "expected" in last_line


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_full_stack_needs_encryption_keys_and_says_which_variable(tmp_path):
    result = settings_of(VAR_DIR=str(tmp_path), **FULL_STACK)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and "FIELD_ENCRYPTION_KEYS is not set" in last_line


@pytest.mark.parametrize("value", ["not-a-key", f"{KEY_A},short", "QUJD", f"{KEY_A[:-2]}!="])
def test_malformed_encryption_keys_stop_start_up_without_showing_them(tmp_path, value):
    result = settings_of(VAR_DIR=str(tmp_path), FIELD_ENCRYPTION_KEYS=value, **FULL_STACK)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "FIELD_ENCRYPTION_KEYS is invalid" in last_line and "Fernet" in last_line
    assert value not in result.stderr


def test_several_encryption_keys_are_read_in_order(tmp_path):
    code = "print(settings.FIELD_ENCRYPTION_KEYS)"
    result = settings_of(code=code, VAR_DIR=str(tmp_path), FIELD_ENCRYPTION_KEYS=f" {KEY_B} , {KEY_A}", **FULL_STACK)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([KEY_B, KEY_A])


def test_an_embedded_install_generates_its_encryption_key_once_and_says_so(tmp_path):
    code = "print(settings.FIELD_ENCRYPTION_KEYS[0])"
    first = settings_of(code=code, VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert f"generated a key into {tmp_path / 'field_encryption.key'}" in first.stderr
    key_file = tmp_path / "field_encryption.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    second = settings_of(code=code, VAR_DIR=str(tmp_path))
    assert second.stdout.strip() == key_file.read_text().strip() == first.stdout.strip()
    assert "generated" not in second.stderr
