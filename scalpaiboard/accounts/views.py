"""Sign-up page (log-in and log-out are Django's own views)."""

from django.contrib.auth import login
from django.urls import reverse_lazy
from django.views.generic import FormView

from scalpaiboard.accounts.forms import SignUpForm


class SignUpView(FormView):
    template_name = "accounts/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("markets:dashboard")

    def form_valid(self, form: SignUpForm):
        user = form.save()
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)
