"""Tell Telegram where the bot's updates go: to TELEGRAM_WEBHOOK_URL (setWebhook, with the secret token
the receiver checks), or, without it, nowhere (deleteWebhook), so that the beat task polls getUpdates."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alerts.telegram_connect import telegram_webhook_secret
from alerts.transports import TransportError
from alerts.transports.telegram import telegram_call


class Command(BaseCommand):
    help = (
        "Register TELEGRAM_WEBHOOK_URL (https://<host>/api/notifications/telegram/webhook) as the bot's "
        "webhook, or delete the webhook when it is not set (or with --delete): updates are then polled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="delete the webhook even if the URL is set")

    def handle(self, *args, **options):
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set: there is no bot to configure.")
        url = None if options["delete"] else settings.TELEGRAM_WEBHOOK_URL
        try:
            if url:
                secret = telegram_webhook_secret()
                telegram_call("setWebhook", url=url, secret_token=secret, allowed_updates=["message"])
            else:
                telegram_call("deleteWebhook")
        except TransportError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Telegram posts the bot's updates to {url}." if url else "Webhook deleted: updates are polled."
        )
