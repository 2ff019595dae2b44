"""JWT endpoints for API clients, and who the token belongs to."""

from django.urls import path

from scalpaiboard.accounts.api.views import MeView, TokenObtainView, TokenRefreshView

urlpatterns = [
    path("token/", TokenObtainView.as_view(), name="token_obtain_pair"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("me", MeView.as_view(), name="me"),
]
