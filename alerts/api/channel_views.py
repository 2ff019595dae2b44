"""The notifications API: a user's channels (list, add, read, edit, delete, send a test message), the
delivery log (list with filters, replay one) and the Telegram connect code. Another user's channel or
delivery answers 404 on every method. The work is the services' and selectors' (alerts.channels,
alerts.deliveries, alerts.selectors), as for the pages."""

from __future__ import annotations

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.channel_docs import (
    CHANNEL_CREATE,
    CHANNEL_EDIT,
    CHANNEL_EXAMPLES,
    CONNECT,
    CREATE,
    DELIVERIES,
    REPLAY,
    TEST,
)
from alerts.api.channel_serializers import (
    ChannelSerializer,
    ChannelTestResultSerializer,
    DeliverySerializer,
    TelegramConnectSerializer,
)
from alerts.api.views import NOT_A_LIST, BodyFirst, BodyRequiredSchema
from alerts.channels import channel_create, channel_delete, channel_test, channel_update
from alerts.deliveries import delivery_replay
from alerts.filters import DeliveryFilter
from alerts.models import Channel, Delivery
from alerts.selectors import (
    channel_as_json,
    channel_get,
    channels_list,
    deliveries_list,
    delivery_as_json,
    delivery_get,
)
from scalpaiboard.api import ApplicationError, BoundedJSONParser, BoundedLimitOffsetPagination

CHANNEL_404 = OpenApiResponse(description="No channel of yours has this id (another user's channel is not yours).")
DELIVERY_404 = OpenApiResponse(description="No delivery of yours has this id.")
NO_BOT_503 = OpenApiResponse(description="The server has no Telegram bot (TELEGRAM_BOT_TOKEN is empty).")


@extend_schema_view(
    list=extend_schema(summary="Your notification channels", description="Oldest first."),
    create=extend_schema(
        summary="Add a notification channel",
        description=CREATE,
        request={"application/json": CHANNEL_CREATE},
        responses={201: ChannelSerializer},
        examples=CHANNEL_EXAMPLES,
    ),
    retrieve=extend_schema(summary="One of your channels", responses={200: ChannelSerializer, 404: CHANNEL_404}),
    partial_update=extend_schema(
        summary="Edit a channel",
        description="The fields given change (those of the channel's kind; kind cannot), the others stay. "
        "`enabled: true` re-enables a channel a permanent error disabled, and clears `disabled_reason`.",
        request={"application/json": CHANNEL_EDIT},
        responses={200: ChannelSerializer, 404: CHANNEL_404},
    ),
    destroy=extend_schema(
        summary="Delete a channel and its delivery log",
        description="Alerts that named it no longer do.",
        responses={204: None, 404: CHANNEL_404},
    ),
)
class ChannelViewSet(BodyFirst, viewsets.GenericViewSet):
    """Your notification channels: email, Telegram, webhooks and Apprise."""

    schema = BodyRequiredSchema()
    queryset = Channel.objects.none()  # for the schema; requests read channels_list
    serializer_class = ChannelSerializer
    parser_classes = [BoundedJSONParser]
    pagination_class = BoundedLimitOffsetPagination
    lookup_field = "id"
    throttle_scope = None  # the test action names its own ("notify_test": RATE_LIMIT_NOTIFY_TEST_RPM)

    def get_object(self) -> Channel:
        return channel_get(user=self.request.user, id=self.kwargs["id"])

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(channels_list(user=request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        channel = channel_create(user=request.user, data=request.data)
        location = f"/api/notifications/channels/{channel.pk}"
        answer = channel_as_json(channel, with_secret=True)
        return Response(answer, status=status.HTTP_201_CREATED, headers={"Location": location})

    def retrieve(self, request: Request, id: int) -> Response:
        return Response(channel_as_json(self.get_object()))

    def partial_update(self, request: Request, id: int) -> Response:
        return Response(channel_as_json(channel_update(channel=self.get_object(), data=request.data)))

    def destroy(self, request: Request, id: int) -> Response:
        channel_delete(channel=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a test message",
        description=TEST,
        request=None,
        responses={200: ChannelTestResultSerializer, 404: CHANNEL_404},
    )
    @action(detail=True, methods=["post"], throttle_scope="notify_test", **NOT_A_LIST)
    def test(self, request: Request, id: int) -> Response:
        return Response(channel_test(channel=self.get_object()))


@extend_schema_view(list=extend_schema(summary="Your delivery log", description=DELIVERIES))
class DeliveryViewSet(BodyFirst, viewsets.GenericViewSet):
    """Each firing of your alerts delivered to each of their channels."""

    queryset = Delivery.objects.none()
    serializer_class = DeliverySerializer
    parser_classes = [BoundedJSONParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeliveryFilter
    pagination_class = BoundedLimitOffsetPagination
    lookup_field = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return deliveries_list(user=self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Replay a delivery",
        description=REPLAY,
        request=None,
        responses={201: DeliverySerializer, 404: DELIVERY_404},
    )
    @action(detail=True, methods=["post"], **NOT_A_LIST)
    def replay(self, request: Request, id: int) -> Response:
        replayed = delivery_replay(delivery=delivery_get(user=request.user, id=id))
        answer = delivery_as_json(delivery_get(user=request.user, id=replayed.pk))
        return Response(answer, status=status.HTTP_201_CREATED)


class TelegramViewSet(BodyFirst, viewsets.GenericViewSet):
    """Linking your Telegram chat to a channel without typing its id."""

    queryset = Channel.objects.none()
    serializer_class = TelegramConnectSerializer

    @extend_schema(
        summary="Connect Telegram",
        description=CONNECT,
        request=None,
        responses={201: TelegramConnectSerializer, 503: NO_BOT_503},
    )
    @action(detail=False, methods=["post"], **NOT_A_LIST)
    def connect(self, request: Request) -> Response:
        if not settings.TELEGRAM_BOT_TOKEN:
            raise ApplicationError(
                "Telegram is not set up on this server (TELEGRAM_BOT_TOKEN is empty): add an email, webhook or "
                "Apprise channel instead, or ask the administrator for a bot.",
                status_code=503,
            )
        from alerts.telegram_connect import connect_code_create

        return Response(connect_code_create(user=request.user), status=status.HTTP_201_CREATED)
