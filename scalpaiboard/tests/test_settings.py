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
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and k != "PYTEST_XDIST_WORKER"}
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


def test_service_urls_select_the_full_stack(tmp_path):
    result = settings_of(
        VAR_DIR=str(tmp_path), DATABASE_URL="postgres://u@db:5432/app", REDIS_URL="redis://cache:6379/0"
    )
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
