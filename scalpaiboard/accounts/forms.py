"""Sign-up form."""

from django.contrib.auth.forms import UserCreationForm

from scalpaiboard.accounts.models import User


class SignUpForm(UserCreationForm):
    """Username, optional e-mail and password twice, validated by Django's password validators."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str | None:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        return email or None
