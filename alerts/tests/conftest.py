"""Fixtures the alerts tests share: two users on the test market, an API client signed in as the first,
and the local servers notifications are sent to (SMTP, the Telegram Bot API, a webhook receiver)."""

from __future__ import annotations

import secrets

import pytest
from rest_framework.test import APIClient

from alerts.tests.smtp_server import SmtpServer
from alerts.tests.telegram_imitation import TelegramImitation, imitation_running
from alerts.tests.webhook_receiver import WebhookReceiver
from scalpaiboard.accounts.models import User


@pytest.fixture
def user(coins):
    return User.objects.create_user(username="trader", email="trader@example.com")


@pytest.fixture
def other(coins):
    return User.objects.create_user(username="other", email="other@example.com")


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free port, Django's mail settings pointed at it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.stop()


@pytest.fixture
def telegram_api(settings):
    """The local Bot API, TELEGRAM_API_URL and TELEGRAM_BOT_TOKEN pointed at it. A bot token of its own
    per test: the pacing limits count per bot, so no test inherits another's sends."""
    imitation = TelegramImitation(f"{secrets.randbelow(10**9) + 10**9}:TEST-{secrets.token_urlsafe(12)}")
    with imitation_running(imitation):
        settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN = imitation.url, imitation.token
        settings.TELEGRAM_WEBHOOK_URL = None
        yield imitation


@pytest.fixture
def webhook_receiver(settings):
    """A local webhook receiver (answers 200 until scripted), on loopback: WEBHOOK_ALLOW_PRIVATE is on."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with WebhookReceiver() as receiver:
        yield receiver
