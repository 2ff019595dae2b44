"""Admin for users, and the admin's log-in form (which explains a lock-out)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from scalpaiboard.accounts.forms import AdminLoginForm
from scalpaiboard.accounts.models import User

admin.site.register(User, UserAdmin)
admin.site.login_form = AdminLoginForm
