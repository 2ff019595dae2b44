"""Re-encrypt every stored AI provider credential with the first key of FIELD_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError

from providers.crypto import CredentialsUnreadable
from providers.services import providers_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored AI provider credential with the first key of FIELD_ENCRYPTION_KEYS. To rotate: "
        "put a new key first, run this, then remove the old key."
    )

    def handle(self, *args, **options) -> None:
        try:
            count = providers_rotate_keys()
        except CredentialsUnreadable as unreadable:
            raise CommandError(str(unreadable)) from None
        self.stdout.write(f"Re-encrypted the credentials of {count} provider(s) with the first key.")
