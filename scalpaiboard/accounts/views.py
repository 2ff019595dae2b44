"""Sign-up and log-out pages (log-in is Django's own view)."""

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import render
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


class LogOutView(auth_views.LogoutView):
    """Log-out is a POST (a link on another site must not sign anyone out); a GET, from a typed or
    bookmarked address, gets a page with the button instead of a bare 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "accounts/logout.html")
