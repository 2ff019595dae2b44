"""Sign-up and log-in forms."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from scalpaiboard.accounts.lockout import lockout_message, lockout_seconds_left
from scalpaiboard.accounts.models import User


class SignUpForm(UserCreationForm):
    """Username, optional e-mail and password twice, validated by Django's password validators."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str | None:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        return email or None


class LockoutMessageMixin:
    """A log-in refused by the lock-out says so, and when to try again, instead of "wrong password"."""

    def get_invalid_login_error(self) -> ValidationError:
        if not getattr(self.request, "axes_locked_out", False):
            return super().get_invalid_login_error()
        seconds = lockout_seconds_left(request=self.request, username=self.cleaned_data.get("username"))
        return ValidationError(lockout_message(seconds), code="locked_out")


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    """The log-in page's form."""


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's log-in form."""
