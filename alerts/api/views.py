"""The alerts API: a user's alerts (list with filters, create, read, edit, delete, pause, resume, bulk
actions, export and import), each alert's firings, and the user's notifications. Another user's alert
answers 404, on every method. The work is the services' and selectors' (alerts.services,
alerts.selectors), as for the pages."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.alert_fields import AlertInvalid, backtest_clean
from alerts.api.docs import BACKTEST, BACKTEST_EXAMPLE, CREATE, EXAMPLES, FREQUENCIES
from alerts.api.serializers import (
    NOTIFICATIONS_READ,
    AlertBodySerializer,
    AlertEventSerializer,
    AlertSerializer,
    BacktestResultSerializer,
    BacktestSerializer,
    BulkResultSerializer,
    BulkSerializer,
    ExportSerializer,
    ImportResultSerializer,
    ImportSerializer,
    NotificationQuerySerializer,
    NotificationSerializer,
    NotificationsReadResultSerializer,
    NotificationsReadSerializer,
    field_key,
)
from alerts.backtest import alert_backtest
from alerts.filters import AlertFilter
from alerts.models import Alert, Notification
from alerts.selectors import (
    alert_as_json,
    alert_events,
    alert_get,
    alerts_list,
    notifications_list,
    notifications_unread_count,
)
from alerts.services import (
    alert_create,
    alert_delete,
    alert_update,
    alerts_delete,
    alerts_export,
    alerts_import,
    alerts_pause,
    alerts_resume,
    notifications_read,
)
from scalpaiboard.api import BoundedJSONParser, BoundedLimitOffsetPagination
from scalpaiboard.schema import ProjectAutoSchema


def body(serializer_class, data) -> dict:
    """``data`` read by ``serializer_class``; a 400 names each field by its flat path (``ids[2]``)."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationError(flat_errors(serializer.errors))
    return serializer.validated_data


def flat_errors(errors, path: str = "") -> dict[str, list[str]]:
    """DRF's nested errors ({"ids": {2: [...]}}) as flat paths ({"ids[2]": [...]})."""
    if isinstance(errors, dict):
        flat = {}
        for key, value in errors.items():
            child = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
            flat.update(flat_errors(value, child))
        return flat
    if all(isinstance(error, str) for error in errors):
        return {path or "non_field_errors": [str(error) for error in errors]}
    flat = {}
    for index, value in enumerate(errors):
        flat.update(flat_errors(value, f"{path}[{index}]"))
    return flat


class BodyFirst:
    """A body that cannot be read is a 400 before anything else is looked at (the alert, its owner):
    DRF would parse it only when the view reads it, after a 404, or never (pause)."""

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            request.data  # noqa: B018 (parses, raising ParseError)


# One alert's or the collection's action: the list's filters and pages do not apply to it.
NOT_A_LIST = {"filter_backends": [], "pagination_class": None}
ALERT_404 = OpenApiResponse(description="No alert of yours has this id (another user's alert is not yours).")
PAUSE = "Pause the alert (an active or auto-paused one); the answer is the alert."
RESUME = (
    "Re-arm the alert: a paused, auto-paused, triggered (spent only_once) or expired one becomes active; the "
    "answer is the alert. An alert whose expiry has passed needs a later one first (PATCH expires_at)."
)
RESUME_400 = OpenApiResponse(description="Its expiry has passed, or it would be more than ALERTS_PER_USER active.")


@extend_schema_view(
    list=extend_schema(summary="Your alerts", description="Your alerts, newest first, with filters."),
    create=extend_schema(
        summary="Create an alert",
        description=CREATE,
        request=AlertBodySerializer,
        responses={201: AlertSerializer},
        examples=EXAMPLES,
    ),
    retrieve=extend_schema(summary="One of your alerts", responses={200: AlertSerializer, 404: ALERT_404}),
    update=extend_schema(
        summary="Replace an alert",
        description="Every field as on creation (a field left out takes its default); the status stays.\n\n"
        + FREQUENCIES,
        request=AlertBodySerializer,
        responses={200: AlertSerializer, 404: ALERT_404},
        examples=EXAMPLES,
    ),
    partial_update=extend_schema(
        summary="Edit an alert",
        description="The fields given change, the others stay; the status stays.\n\n" + FREQUENCIES,
        request=AlertBodySerializer,
        responses={200: AlertSerializer, 404: ALERT_404},
    ),
    destroy=extend_schema(summary="Delete an alert and its history", responses={204: None, 404: ALERT_404}),
)
class AlertViewSet(BodyFirst, viewsets.GenericViewSet):
    """Your alerts: conditions on a coin, evaluated on every price update and bar close."""

    queryset = Alert.objects.none()  # for the schema; requests read alerts_list
    serializer_class = AlertSerializer
    parser_classes = [BoundedJSONParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilter
    pagination_class = BoundedLimitOffsetPagination
    lookup_field = "id"
    throttle_scope = None  # the backtest's action names its own ("backtest": RATE_LIMIT_BACKTEST_RPM)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return alerts_list(user=self.request.user, with_channels=True)

    def get_object(self) -> Alert:
        return alert_get(user=self.request.user, id=self.kwargs["id"])

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        alert = alert_create(user=request.user, data=request.data)
        return Response(alert_as_json(alert), status=status.HTTP_201_CREATED, headers={"Location": _url(alert)})

    def retrieve(self, request: Request, id: int) -> Response:
        return Response(alert_as_json(self.get_object()))

    def update(self, request: Request, id: int) -> Response:
        return Response(alert_as_json(alert_update(alert=self.get_object(), data=request.data)))

    def partial_update(self, request: Request, id: int) -> Response:
        return Response(alert_as_json(alert_update(alert=self.get_object(), data=request.data, partial=True)))

    def destroy(self, request: Request, id: int) -> Response:
        alert_delete(alert=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="An alert's firings", responses={200: AlertEventSerializer(many=True), 404: ALERT_404})
    @action(detail=True, filter_backends=[])
    def history(self, request: Request, id: int) -> Response:
        """Every firing of the alert, newest first: when, at what price, in which bar, the readings, the message."""
        page = self.paginate_queryset(alert_events(alert=self.get_object()))
        return self.get_paginated_response(AlertEventSerializer(page, many=True).data)

    @extend_schema(summary="Pause an alert", description=PAUSE, request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"], **NOT_A_LIST)
    def pause(self, request: Request, id: int) -> Response:
        alert = self.get_object()
        alerts_pause(user=request.user, ids=[alert.pk])
        alert.refresh_from_db(fields=["status"])
        return Response(alert_as_json(alert))

    @extend_schema(
        summary="Resume an alert", description=RESUME, request=None, responses={200: AlertSerializer, 400: RESUME_400}
    )
    @action(detail=True, methods=["post"], **NOT_A_LIST)
    def resume(self, request: Request, id: int) -> Response:
        alert = self.get_object()
        if not alerts_resume(user=request.user, ids=[alert.pk]) and alert.status == Alert.Status.EXPIRED:
            raise AlertInvalid(
                {"expires_at": ["It has passed: give the alert a later expiry (or none) to resume it."]},
                "This alert has expired.",
            )
        alert.refresh_from_db(fields=["status"])
        return Response(alert_as_json(alert))

    @extend_schema(
        summary="Pause, resume or delete several alerts",
        description="The action on each of your alerts among `ids`; other users' ids are ignored. Resuming past "
        "ALERTS_PER_USER active alerts is refused as a whole.",
        request=BulkSerializer,
        responses={200: BulkResultSerializer},
    )
    @action(detail=False, methods=["post"], **NOT_A_LIST)
    def bulk(self, request: Request) -> Response:
        query = body(BulkSerializer, request.data)
        change = {"pause": alerts_pause, "resume": alerts_resume, "delete": alerts_delete}[query["action"]]
        return Response({"action": query["action"], "count": change(user=request.user, ids=query["ids"])})

    @extend_schema(
        summary="Backtest an alert before arming it",
        description=BACKTEST,
        request=BacktestSerializer,
        responses={200: BacktestResultSerializer},
        examples=[*EXAMPLES, BACKTEST_EXAMPLE],
    )
    @action(detail=False, methods=["post"], throttle_scope="backtest", **NOT_A_LIST)
    def backtest(self, request: Request) -> Response:
        return Response(alert_backtest(**backtest_clean(data=request.data)))

    @extend_schema(
        summary="Export your alerts",
        description="Every alert of yours in the shape POST /api/alerts and POST /api/alerts/import take.",
        responses={200: ExportSerializer},
    )
    @action(detail=False, **NOT_A_LIST)
    def export(self, request: Request) -> Response:
        return Response({"alerts": alerts_export(user=request.user)})

    @extend_schema(
        summary="Import alerts",
        description="Creates every alert of `alerts` (each as POST /api/alerts takes it), active; or, when any is "
        "refused, none, with each refused field named by its path (`alerts[2].condition.level`).",
        request=ImportSerializer,
        responses={201: ImportResultSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", **NOT_A_LIST)
    def import_(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict) or "alerts" not in data:
            raise AlertInvalid(
                {"alerts": ['Required: the body is {"alerts": [...]}, as GET /api/alerts/export answers.']}
            )
        unknown = {field_key(name): ["Unknown field; allowed: alerts."] for name in data if name != "alerts"}
        if unknown:
            raise AlertInvalid(unknown)
        alerts = alerts_import(user=request.user, items=data["alerts"])
        answer = {"count": len(alerts), "alerts": [alert_as_json(alert) for alert in alerts]}
        return Response(answer, status=status.HTTP_201_CREATED)


def _url(alert: Alert) -> str:
    return f"/api/alerts/{alert.pk}"


class BodyRequiredSchema(ProjectAutoSchema):
    """Operations whose body must be sent though no field of it is required alone ({"ids"} or {"all"})."""

    def _get_request_body(self, direction: str = "request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


@extend_schema_view(
    list=extend_schema(
        summary="Your notifications",
        description="Newest first; `unread=true` for the unread ones only (their count is the bell's number).",
        parameters=[NotificationQuerySerializer],
    )
)
class NotificationViewSet(BodyFirst, viewsets.GenericViewSet):
    """In-app notifications: an alert of yours fired, or was auto-paused for firing too often."""

    schema = BodyRequiredSchema()

    queryset = Notification.objects.none()
    serializer_class = NotificationSerializer
    parser_classes = [BoundedJSONParser]
    pagination_class = BoundedLimitOffsetPagination

    def list(self, request: Request) -> Response:
        unread = body(NotificationQuerySerializer, request.query_params)["unread"]
        page = self.paginate_queryset(notifications_list(user=request.user, unread=unread))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Mark notifications read",
        description='`{"ids": [...]}` marks those of yours read (others\' ids are ignored), `{"all": true}` every one.',
        request={"application/json": NOTIFICATIONS_READ},
        responses={200: NotificationsReadResultSerializer},
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def read(self, request: Request) -> Response:
        query = body(NotificationsReadSerializer, request.data)
        read = notifications_read(user=request.user, ids=query.get("ids"))
        return Response({"read": read, "unread": notifications_unread_count(user=request.user)})
