"""Account pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from scalpaiboard.accounts.forms import LoginForm
from scalpaiboard.accounts.views import LogOutView, SignUpView

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", LogOutView.as_view(), name="logout"),
    path("signup/", SignUpView.as_view(), name="signup"),
]
