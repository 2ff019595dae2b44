"""The signed-in user, for API clients checking their token."""

from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated

from scalpaiboard.accounts.api.serializers import UserSerializer


class MeView(RetrieveAPIView):
    """The user the request is authenticated as (JWT bearer token or session)."""

    permission_classes = [IsAuthenticated]
    serializer_class = UserSerializer

    def get_object(self):
        return self.request.user
