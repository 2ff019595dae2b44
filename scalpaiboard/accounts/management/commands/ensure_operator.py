"""Create the operator login on first set-up and say how to sign in: the password only that once."""

from django.conf import settings
from django.core.management.base import BaseCommand

from scalpaiboard.accounts.services import user_ensure_operator


class Command(BaseCommand):
    help = (
        "Create an operator (superuser) with a random password if none exists and print that login once; "
        "later, say where to change the password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        _, password = user_ensure_operator(username=username)
        if password is None:
            self.stdout.write(
                f"Log in as {username}. Change its password with `.venv/bin/python manage.py changepassword "
                f"{username}`, or signed in at /admin/password_change/."
            )
            return
        # Also kept, readable by this user only, for a first start whose console scrolled away.
        login_file = settings.VAR_DIR / "login.txt"
        login_file.write_text(f"username: {username}\npassword: {password}\n")
        login_file.chmod(0o600)
        self.stdout.write(
            f"Log in with\nusername: {username}\npassword: {password}\n"
            f"This password is shown once (and kept in {login_file} until you delete it); change it with "
            f"`.venv/bin/python manage.py changepassword {username}`."
        )
