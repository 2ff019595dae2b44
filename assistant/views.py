"""The assistant's chat page at /assistant: the conversation sidebar (search, rename, delete), the
conversation's messages with their tool cards, the provider and model choice and the "ask before
acting" setting. Answers stream over the page's /ws socket (the ``chat`` channel, assistant/consumers.py)
and are drawn by static/js/assistant.js; the small endpoints here answer HTMX with fragments.

Every write goes through ``assistant.services`` and every read of a conversation through
``assistant.selectors``: another user's conversation or action is a 404, as if it did not exist.
Nothing the model wrote is marked safe: message text is rendered escaped, and the page's script
draws its Markdown with DOM nodes (static/js/assistant_markdown.js).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from assistant import selectors, services
from assistant.actions import ask_before_acting
from assistant.loop import STOPPED
from assistant.models import ToolAction
from providers.selectors import providers_visible
from scalpaiboard.api import ApplicationError

SUMMARY_CHARS = 160
SUMMARY_PARTS = 5  # a result's first fields: the card links to the rest
RUN_AT_MOST = timedelta(minutes=15)  # longer than any answer runs (8 rounds, each under the request timeout)
EXAMPLES = (
    "show coins with RSI below 30 on 1h",
    "alert me when BTC crosses 100000",
    "add SOL to my watchlist",
    "how is my portfolio",
    "analyze ETH on 4h",
    "export my alerts as CSV",
)


# --- pages -------------------------------------------------------------------------------------


@login_required
@require_GET
def chat_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The chat: a new conversation, or one of the user's own (404 for anyone else's)."""
    conversation = None
    messages = []
    if pk is not None:
        conversation = selectors.conversation_get(user=request.user, conversation_id=pk)
        messages = messages_shown(conversation, list(conversation.messages.all()))
    q = request.GET.get("q", "").strip()
    context = {
        "conversation": conversation,
        "shown_messages": messages,
        "conversations": selectors.conversations_list(user=request.user, q=q),
        "q": q,
        "current": str(conversation.pk) if conversation else "",
        "providers": list(providers_visible(user=request.user).filter(enabled=True)),
        "ask_before_acting": ask_before_acting(request.user),
        "examples": EXAMPLES,
    }
    return render(request, "assistant/page.html", context)


@login_required
@require_GET
def conversation_list(request: HttpRequest) -> HttpResponse:
    """The sidebar's list, searched (``q``): what the search box swaps in as the user types."""
    q = request.GET.get("q", "").strip()
    current = request.GET.get("current", "")
    context = {"conversations": selectors.conversations_list(user=request.user, q=q), "q": q, "current": current}
    return render(request, "assistant/_conversations.html", context)


@login_required
@require_POST
def conversation_rename(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = selectors.conversation_get(user=request.user, conversation_id=pk)
    error = ""
    try:
        services.conversation_rename(
            user=request.user, conversation_id=conversation.pk, title=request.POST.get("title", "")
        )
    except ApplicationError as refused:
        error = refused.message
    conversation.refresh_from_db()
    if not request.htmx:
        return redirect("assistant:conversation", pk=conversation.pk)
    context = {"item": conversation, "current": request.POST.get("current", ""), "rename_error": error}
    return render(request, "assistant/_conversation_item.html", context, status=400 if error else 200)


@login_required
@require_POST
def conversation_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a conversation; the page showing it goes back to a new chat."""
    conversation = selectors.conversation_get(user=request.user, conversation_id=pk)
    services.conversation_delete(user=request.user, conversation_id=conversation.pk)
    showing = str(conversation.pk) == request.POST.get("current", "")
    if not request.htmx:
        return redirect("assistant:page")
    response = HttpResponse("")
    if showing:
        response["HX-Redirect"] = reverse("assistant:page")
    return response


ACTIONS = {"undo": "action_undo", "confirm": "action_confirm", "decline": "action_decline"}


@login_required
@require_POST
def action_change(request: HttpRequest, pk: int, change: str) -> HttpResponse:
    """Undo a tool's change, or confirm or decline its proposal; answers the card's new action part."""
    error = ""
    try:
        action = getattr(services, ACTIONS[change])(user=request.user, action_id=pk)
    except ApplicationError as refused:
        error = refused.message
        action = action_get(request.user, pk)
    if not request.htmx:
        return redirect("assistant:conversation", pk=action.message.conversation_id)
    return render(request, "assistant/_action.html", {"action": action_shown(action), "action_error": error})


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    """The "ask before acting" switch."""
    wanted = request.POST.get("ask_before_acting") in ("on", "true", "1")
    services.assistant_settings_set(user=request.user, ask_before_acting=wanted)
    if not request.htmx:
        return redirect("assistant:page")
    return render(request, "assistant/_settings.html", {"ask_before_acting": ask_before_acting(request.user)})


# --- what the templates show -------------------------------------------------------------------


def action_get(user, action_id: int) -> ToolAction:
    try:
        return ToolAction.objects.select_related("message").get(pk=action_id, user=user)
    except ToolAction.DoesNotExist:
        raise Http404("No such action.") from None


def action_shown(action: ToolAction | dict | None) -> dict | None:
    """What a tool card's action part shows: its state, and which buttons."""
    if action is None:
        return None
    if isinstance(action, ToolAction):
        action = {"id": action.pk, "state": action.state, "undo": action.undo is not None}
    state = action.get("state")
    return {
        "id": action["id"],
        "state": state,
        "undo": bool(action.get("undo")) and state == ToolAction.State.DONE,
        "proposed": state == ToolAction.State.PROPOSED,
    }


def messages_shown(conversation, messages: list) -> list[dict]:
    """The conversation's messages as the page shows them, each tool call as a card whose action
    part has the audit record's current state (undone, confirmed...)."""
    states = dict(ToolAction.objects.filter(message__conversation=conversation).values_list("pk", "state"))
    shown = []
    for message in messages:
        data = selectors.message_as_json(message, action_states=states)
        shown.append(
            {
                "message": message,
                "cards": [card_shown(call) for call in data["tool_calls"]],
                "cost": usd(message.cost_usd),
                "seconds": seconds(message.latency_ms),
                "running": still_running(message),
                "error": "" if message.error == STOPPED else message.error,
            }
        )
    return shown


def still_running(message) -> bool:
    """An answer still being written (the page follows it from its start over /ws). One unfinished
    for longer than a run can take was lost with its process: it is shown as it was stored."""
    unfinished = message.latency_ms is None and not message.incomplete and not message.error
    recent = message.created_at > timezone.now() - RUN_AT_MOST
    return message.role == "assistant" and unfinished and recent


def card_shown(call: dict) -> dict:
    ok = call.get("ok")
    return {
        "id": call.get("id") or "",
        "name": call.get("name") or "",
        "arguments": arguments_summary(call.get("arguments")),
        "ok": ok,
        "result": result_summary(call.get("result"), ok=ok),
        "links": [link for link in call.get("links") or [] if safe_url(link.get("url", ""))],
        "action": action_shown(call.get("action")),
    }


def arguments_summary(arguments) -> str:
    """``symbol=BTC, condition={"kind": ...}``: short enough for a card's one line."""
    if not isinstance(arguments, dict):
        return clip(json.dumps(arguments))
    parts = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in arguments.items()]
    return clip(", ".join(parts))


def result_summary(result, *, ok) -> str:
    """One line about a tool's result (the same rule as resultSummary in static/js/assistant_cards.js)."""
    if result is None:
        return ""
    if ok is False:
        if isinstance(result, dict) and "error" in result:
            return clip(str(result["error"]))
        return clip(result if isinstance(result, str) else json.dumps(result))
    if isinstance(result, list):
        return f"{len(result)} item{'' if len(result) == 1 else 's'}"
    if isinstance(result, dict):
        parts = []
        for key, value in result.items():
            if isinstance(value, list):
                parts.append(f"{len(value)} {key}")
            elif isinstance(value, str | int | float | bool) and value != "":
                parts.append(f"{key}: {js_text(value)}")
        return clip(", ".join(parts[:SUMMARY_PARTS]))
    return clip(str(result))


def js_text(value) -> str:
    """A value as the page's script writes it (true, not True), so that both cards read the same."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def safe_url(url: str) -> bool:
    """Links on a card: this site's paths, or http(s) addresses (never javascript: or data:)."""
    return isinstance(url, str) and (
        (url.startswith("/") and not url.startswith("//")) or url.startswith(("https://", "http://"))
    )


def usd(value) -> str:
    """Dollars to the cent; a fraction of a cent to four places (as Settings → AI usage shows them)."""
    if value is None:
        return "cost unknown"
    amount = Decimal(value)
    if amount == 0:
        return "$0.00"
    if amount < Decimal("0.0001"):
        return "< $0.0001"
    return f"${amount:,.4f}" if amount < Decimal("0.01") else f"${amount:,.2f}"


def seconds(latency_ms) -> str:
    """Milliseconds under a second (the built-in answers in a few), then seconds to the tenth."""
    if latency_ms is None:
        return ""
    return f"{latency_ms} ms" if latency_ms < 1000 else f"{latency_ms / 1000:.1f} s"
