"""Create the operator login on first set-up and print how to sign in."""

from django.conf import settings
from django.core.management.base import BaseCommand

from scalpaiboard.accounts.services import user_ensure_operator


class Command(BaseCommand):
    help = "Create an operator (superuser) with a random password if none exists, and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        login_file = settings.VAR_DIR / "login.txt"
        _, password = user_ensure_operator(username=username)
        if password is not None:
            login_file.write_text(f"username: {username}\npassword: {password}\n")
            login_file.chmod(0o600)
        if login_file.exists():
            self.stdout.write("Log in with\n" + login_file.read_text())
        else:
            self.stdout.write(
                f"Log in as {username} (password set earlier; change it with `manage.py changepassword`)."
            )
