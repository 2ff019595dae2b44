"""The accounts app: users, sign-up/log-in pages and API tokens."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "scalpaiboard.accounts"
    label = "accounts"
    verbose_name = "Accounts"
