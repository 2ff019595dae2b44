"""The AI providers API: a user's provider configurations (list, add, read, edit, delete), a connection
test, the provider's model list, the monthly budget, and the month's usage. Another user's provider is
404 on every method; the operator's shared providers are listed and usable but changed in the admin."""

from __future__ import annotations

import re
from datetime import date

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.views import BodyFirst
from providers.adapters.base import ProviderError
from providers.api.serializers import (
    ProviderBudgetSerializer,
    ProviderModelsSerializer,
    ProviderSerializer,
    ProviderTestResultSerializer,
    UsageSummarySerializer,
)
from providers.budgets import month_start
from providers.models import ProviderConfig
from providers.selectors import month_spend, provider_as_json, provider_get, providers_as_json, usage_summary
from providers.services import (
    provider_budget_set,
    provider_create,
    provider_delete,
    provider_models,
    provider_test,
    provider_update,
)
from scalpaiboard.api import ApplicationError, BoundedJSONParser

MONTH = r"^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$"
PROVIDER_404 = OpenApiResponse(description="No provider of yours has this id (another user's provider is not yours).")
ONE = {200: ProviderSerializer, 404: PROVIDER_404}
UPSTREAM_502 = OpenApiResponse(description="The provider refused or could not be reached; `detail` says why.")
WRITE = (
    "Secrets (`api_key`, `aws_access_key_id`, `aws_secret_access_key`, `google_credentials_json`) are stored "
    "encrypted and never answered: the answer has `has_key` and `key_hint`. Left out of a PUT or PATCH, stored "
    "secrets are kept. Prices per million tokens left empty come from genai-prices; a model without a known price "
    "works, and its cost is unknown (null), not zero."
)


def _answer(config: ProviderConfig) -> dict:
    return provider_as_json(config, month_spend([config]).get(config.pk))


@extend_schema_view(
    list=extend_schema(summary="Your AI providers", description="Yours and the operator's, in fallback order."),
    create=extend_schema(summary="Add an AI provider", description=WRITE, responses={201: ProviderSerializer}),
    retrieve=extend_schema(summary="One AI provider", responses=ONE),
    update=extend_schema(summary="Replace an AI provider", description=WRITE, responses=ONE),
    partial_update=extend_schema(summary="Edit an AI provider", description=WRITE, responses=ONE),
    destroy=extend_schema(
        summary="Delete an AI provider", description="Its usage records stay.", responses={204: None, 404: PROVIDER_404}
    ),
)
class ProviderViewSet(BodyFirst, viewsets.GenericViewSet):
    """Your AI providers: OpenAI, Anthropic, Google, Bedrock, Together, Hugging Face, Mistral, Groq,
    OpenRouter, Ollama."""

    queryset = ProviderConfig.objects.none()  # for the schema; requests read the selectors
    serializer_class = ProviderSerializer
    parser_classes = [BoundedJSONParser]
    pagination_class = None
    lookup_field = "id"

    def _own(self) -> ProviderConfig:
        return provider_get(user=self.request.user, provider_id=self.kwargs["id"], own=True)

    def list(self, request: Request) -> Response:
        return Response(providers_as_json(user=request.user))

    def create(self, request: Request) -> Response:
        config = provider_create(user=request.user, data=request.data)
        location = f"/api/ai/providers/{config.pk}"
        return Response(_answer(config), status=status.HTTP_201_CREATED, headers={"Location": location})

    def retrieve(self, request: Request, id: int) -> Response:
        return Response(_answer(provider_get(user=request.user, provider_id=id)))

    def update(self, request: Request, id: int) -> Response:
        return Response(_answer(provider_update(config=self._own(), data=request.data, partial=False)))

    def partial_update(self, request: Request, id: int) -> Response:
        return Response(_answer(provider_update(config=self._own(), data=request.data, partial=True)))

    def destroy(self, request: Request, id: int) -> Response:
        provider_delete(config=self._own())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Test the connection",
        description="A minimal real request (a few tokens, recorded and charged like any other, within the "
        "budget): ok with latency and model, or the provider's error in words.",
        request=None,
        responses={200: ProviderTestResultSerializer, 404: PROVIDER_404},
    )
    def test(self, request: Request, id: int) -> Response:
        return Response(provider_test(config=provider_get(user=request.user, provider_id=id), user=request.user))

    @extend_schema(
        summary="The provider's models",
        description="The model list the provider offers to these credentials, where it has one.",
        responses={200: ProviderModelsSerializer, 404: PROVIDER_404, 502: UPSTREAM_502},
    )
    def models(self, request: Request, id: int) -> Response:
        config = provider_get(user=request.user, provider_id=id)
        try:
            return Response({"models": provider_models(config=config)})
        except ProviderError as failed:
            raise ApplicationError(f"{config.name}: {failed.message}", status_code=502) from None

    @extend_schema(
        summary="Set the monthly budget",
        request=ProviderBudgetSerializer,
        responses={200: ProviderSerializer, 404: PROVIDER_404},
    )
    def budget(self, request: Request, id: int) -> Response:
        return Response(_answer(provider_budget_set(config=self._own(), data=request.data)))

    def get_throttles(self):
        self.throttle_scope = "ai_chat" if self.action == "test" else None  # a test is a paid request
        return super().get_throttles()


@extend_schema(
    summary="Your AI usage in a month",
    parameters=[OpenApiParameter("month", str, description="YYYY-MM (UTC); default: this month.", pattern=MONTH)],
    responses={200: UsageSummarySerializer},
)
@api_view(["GET"])
def usage_view(request: Request) -> Response:
    return Response(usage_summary(user=request.user, month=_month(request.query_params.get("month"))))


def _month(text: str | None) -> date:
    """The month named YYYY-MM (1970 to 9999), else a 400 naming the parameter."""
    if not text:
        return month_start()
    if not re.fullmatch(MONTH, text):
        raise ApplicationError("Invalid month.", extra={"month": ["Must be YYYY-MM, e.g. 2026-12."]})
    return date(int(text[:4]), int(text[5:]), 1)
