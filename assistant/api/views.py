"""The assistant API: the streamed chat (Server-Sent Events), the events of an answer from any point
(a client that reconnects), stop; conversations (search, read, rename, delete); the tool cards'
undo, confirm and decline; the "ask before acting" setting. Another user's anything is 404."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.api.serializers import (
    AssistantSettingsSerializer,
    ChatRequestSerializer,
    ConversationDetailSerializer,
    ConversationRenameSerializer,
    ConversationSerializer,
    ToolActionSerializer,
)
from assistant.models import AssistantSettings, Conversation, ToolAction
from assistant.relay import FINAL, relay_follow, relay_read
from assistant.selectors import answer_get, conversation_as_json, conversation_get, conversations_list
from assistant.services import (
    action_confirm,
    action_decline,
    action_undo,
    assistant_settings_set,
    chat_cancel,
    chat_start,
    conversation_delete,
    conversation_rename,
)
from scalpaiboard.api import ApplicationError, BoundedJSONParser, BoundedLimitOffsetPagination

EVENTS = (
    "Server-Sent Events, each `event:` a name and `data:` JSON, `id:` its sequence number: `conversation` "
    '{"id", "message_id"}; `token` {"text"}; `tool_call` {"id", "name", "arguments"}; `tool_result` {"id", '
    '"name", "ok", "result", "links", "action"}; `usage` {"provider", "model", "input_tokens", '
    '"cached_input_tokens", "output_tokens", "cost_usd"} per provider request (a decimal string, null when the '
    'price is unknown, "0" for the built-in assistant); `done` {"message_id", "latency_ms", "cost_usd"}; '
    '`error` {"message"}. The stream ends after `done` or `error`.'
)
# One event of the stream, as a client reads it (OpenAPI 3.0: the schema describes each event).
EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {
            "type": "string",
            "enum": ["conversation", "token", "tool_call", "tool_result", "usage", "done", "error"],
        },
        "data": {"type": "string", "description": "The event's JSON (see the operation's description)."},
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "Its sequence number in the answer."},
    },
}
SSE = {(200, "text/event-stream"): OpenApiResponse(EVENT, description=EVENTS)}
NOT_YOURS = OpenApiResponse(description="No conversation, message or provider of yours has this id.")


def _frame(item: dict) -> str:
    data = json.dumps(item["data"], separators=(",", ":"), default=str)
    return f"id: {item['seq']}\nevent: {item['event']}\ndata: {data}\n\n"


def _events(message_id: int, after: int):
    """SSE frames of the answer from ``after`` to its end; an answer that stops arriving ends in an error."""
    idle = settings.ASSISTANT_STREAM_IDLE_SECONDS
    while True:
        items = relay_read(message_id=message_id, after=after, timeout=idle)
        if not items:
            yield _frame({"seq": after + 1, "event": "error", "data": {"message": "The answer stopped arriving."}})
            return
        for item in items:
            yield _frame(item)
            after = item["seq"]
            if item["event"] in FINAL:
                return


async def _events_async(message_id: int, after: int):
    """The same frames, read without a thread: under ASGI Django would read a sync iterator to its end
    before sending anything (and a thread per reader would not scale)."""
    async for item in relay_follow(
        message_id=message_id, after=after, idle_timeout=settings.ASSISTANT_STREAM_IDLE_SECONDS
    ):
        yield _frame(item)
        after = item["seq"]
        if item["event"] in FINAL:
            return
    yield _frame({"seq": after + 1, "event": "error", "data": {"message": "The answer stopped arriving."}})


def _stream(request: Request, message_id: int, after: int = 0) -> StreamingHttpResponse:
    served_async = isinstance(request._request, ASGIRequest)
    frames = _events_async(message_id, after) if served_async else _events(message_id, after)
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx passes each event on as it comes
    return response


class StreamNegotiation(DefaultContentNegotiation):
    """An event stream's client may accept only text/event-stream (EventSource): the answer is the
    stream itself, and an error before it starts is JSON as everywhere else (never a 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ChatView(APIView):
    parser_classes = [BoundedJSONParser]
    content_negotiation_class = StreamNegotiation
    throttle_scope = "ai_chat"

    @extend_schema(
        summary="Ask the assistant (streamed)",
        description="Without `provider_id` your highest-priority enabled provider answers, or the built-in "
        "assistant when you have none. " + EVENTS,
        request=ChatRequestSerializer,
        responses={**SSE, 404: NOT_YOURS},
    )
    def post(self, request: Request) -> StreamingHttpResponse:
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise ApplicationError("Must be a JSON object.", extra={"message": ["Required: what to ask."]})
        _, answer = chat_start(
            user=request.user, text=body.get("message"), conversation_id=body.get("conversation_id"),
            provider_id=body.get("provider_id"), model=body.get("model"),
        )  # fmt: skip
        return _stream(request, answer.pk)


class ChatEventsView(APIView):
    content_negotiation_class = StreamNegotiation

    @extend_schema(
        summary="An answer's events from any point",
        description="The same stream as POST /api/ai/chat, from the event after `after` (or the Last-Event-ID "
        "header): a client that lost its connection gets the rest.",
        parameters=[OpenApiParameter("after", int, description="The last event id seen; default 0.")],
        responses={**SSE, 404: NOT_YOURS},
    )
    def get(self, request: Request, message_id: int) -> StreamingHttpResponse:
        message = answer_get(user=request.user, message_id=message_id)
        after = request.query_params.get("after") or request.headers.get("Last-Event-ID") or "0"
        if not after.isdigit() or len(after) > 9:
            raise ApplicationError("Invalid after.", extra={"after": ["Must be an event id (a whole number)."]})
        return _stream(request, message.pk, int(after))


@extend_schema(summary="Stop an answer", request=None, responses={204: None, 404: NOT_YOURS})
@api_view(["POST"])
@parser_classes([BoundedJSONParser])
def chat_stop(request: Request, message_id: int) -> Response:
    request.data  # noqa: B018 (a body that cannot be read is a 400 before anything else)
    chat_cancel(user=request.user, message_id=message_id)
    return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationPages(BoundedLimitOffsetPagination):
    default_limit = 50


@extend_schema(
    summary="Your conversations",
    description="Most recent first; `q` searches titles and messages (full text on PostgreSQL).",
    parameters=[OpenApiParameter("q", str, description="Words to find (at most 200 characters).")],
)
class ConversationList(generics.ListAPIView):
    serializer_class = ConversationSerializer
    pagination_class = ConversationPages
    queryset = Conversation.objects.none()  # for the schema; requests read conversations_list

    def list(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        if len(q) > 200 or "\x00" in q:
            raise ApplicationError("Invalid q.", extra={"q": ["Must be at most 200 characters, without NUL."]})
        page = self.paginate_queryset(conversations_list(user=request.user, q=q))
        return self.get_paginated_response([conversation_as_json(c) for c in page])


@extend_schema(
    methods=["GET"],
    summary="A conversation with its messages",
    responses={200: ConversationDetailSerializer, 404: NOT_YOURS},
)
@extend_schema(
    methods=["PATCH"],
    summary="Rename a conversation",
    request=ConversationRenameSerializer,
    responses={200: ConversationSerializer, 404: NOT_YOURS},
)
@extend_schema(methods=["DELETE"], summary="Delete a conversation", responses={204: None, 404: NOT_YOURS})
@api_view(["GET", "PATCH", "DELETE"])
@parser_classes([BoundedJSONParser])
def conversation(request: Request, conversation_id: int) -> Response:
    request.data  # noqa: B018 (a body that cannot be read is a 400 before the conversation is looked up)
    if request.method == "DELETE":
        conversation_delete(user=request.user, conversation_id=conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
    if request.method == "PATCH":
        body = request.data if isinstance(request.data, dict) else {}
        renamed = conversation_rename(user=request.user, conversation_id=conversation_id, title=body.get("title"))
        return Response(conversation_as_json(renamed))
    found = conversation_get(user=request.user, conversation_id=conversation_id)
    return Response(conversation_as_json(found, with_messages=True))


def _action_json(action: ToolAction) -> dict:
    return {"id": action.pk, "tool": action.tool, "state": action.state, "arguments": action.arguments,
            "result": action.result}  # fmt: skip


ACTIONS = {"undo": action_undo, "confirm": action_confirm, "decline": action_decline}


@extend_schema(
    summary="Undo, confirm or decline what a tool did or proposes",
    description="`undo`: take back a change (the alert deleted, the coin off the list). `confirm` / `decline`: "
    "a proposal made while 'ask before acting' is on. 409 when the action is not in a state for it.",
    request=None,
    responses={
        200: ToolActionSerializer,
        400: OpenApiResponse(description="confirm: the tool refused the proposal now (e.g. the list is full)."),
        404: NOT_YOURS,
        409: OpenApiResponse(description="The action is not in a state for this."),
    },
)
@api_view(["POST"])
@parser_classes([BoundedJSONParser])
def tool_action(request: Request, action_id: int, verb: str) -> Response:
    request.data  # noqa: B018 (a body that cannot be read is a 400 before the action is looked up)
    return Response(_action_json(ACTIONS[verb](user=request.user, action_id=action_id)))


@extend_schema(methods=["GET"], summary="Your assistant settings", responses={200: AssistantSettingsSerializer})
@extend_schema(
    methods=["PUT"],
    summary="Change your assistant settings",
    request=AssistantSettingsSerializer,
    responses={200: AssistantSettingsSerializer},
)
@api_view(["GET", "PUT"])
@parser_classes([BoundedJSONParser])
def assistant_settings(request: Request) -> Response:
    request.data  # noqa: B018
    if request.method == "PUT":
        body = request.data if isinstance(request.data, dict) else {}
        row = assistant_settings_set(user=request.user, ask_before_acting=body.get("ask_before_acting"))
        return Response({"ask_before_acting": row.ask_before_acting})
    row = AssistantSettings.objects.filter(user=request.user).first()
    return Response({"ask_before_acting": bool(row and row.ask_before_acting)})
