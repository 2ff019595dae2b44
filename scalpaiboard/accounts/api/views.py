"""JWT log-in and refresh (throttled by the `login` scope, locked out by Axes), and the signed-in
user, for API clients checking their token."""

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views

from scalpaiboard.accounts.api.serializers import UserSerializer
from scalpaiboard.accounts.lockout import LoginLockedOut, lockout_seconds_left


@extend_schema(
    responses={
        200: jwt_serializers.TokenObtainPairSerializer,
        401: OpenApiResponse(description="No active account has this username and password."),
        429: OpenApiResponse(
            description="Too many log-ins (RATE_LIMIT_LOGIN_RPM), or locked out after LOGIN_FAILURE_LIMIT "
            "failures: `retry_after` and Retry-After say when to try again."
        ),
    }
)
class TokenObtainView(jwt_views.TokenObtainPairView):
    """An access and a refresh token for a username and password.

    After LOGIN_FAILURE_LIMIT failures of an account or from an address, a 429 says when to retry.
    """

    throttle_scope = "login"

    def post(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except AuthenticationFailed:
            if getattr(request, "axes_locked_out", False):
                username = serializer.initial_data.get("username")
                raise LoginLockedOut(seconds=lockout_seconds_left(request=request, username=username)) from None
            raise
        # As the log-in page does: last_login, and Axes forgives this account's failures from here.
        user_logged_in.send(sender=serializer.user.__class__, request=request, user=serializer.user)
        return Response(serializer.validated_data)


@extend_schema(
    responses={
        200: jwt_serializers.TokenRefreshSerializer,
        401: OpenApiResponse(description="The refresh token is not valid: expired, tampered or already used."),
        429: OpenApiResponse(description="Too many refreshes (RATE_LIMIT_LOGIN_RPM): retry after Retry-After."),
    }
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    """A new access token and a new refresh token; the refresh token sent is blacklisted."""

    throttle_scope = "login"


class MeView(RetrieveAPIView):
    """The user the request is authenticated as (JWT bearer token or session)."""

    permission_classes = [IsAuthenticated]
    serializer_class = UserSerializer

    def get_object(self):
        return self.request.user
