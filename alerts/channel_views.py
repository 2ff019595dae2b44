"""Settings → Notifications: the user's channels (add, test, enable or disable, edit, delete), the
Telegram connect flow, a new webhook's secret shown once, and the delivery log, live, with replays.

Every write goes through ``alerts.channels`` (and ``alerts.deliveries.delivery_replay``), as the API's
do; every read through ``alerts.selectors``. One view answers its page and its HTMX partial.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts.channel_forms import KIND_LABELS, ChannelForm, channel_initial, channel_label
from alerts.channels import ChannelInvalid, channel_create, channel_delete, channel_test, channel_update
from alerts.deliveries import delivery_replay
from alerts.filters import DeliveryFilter
from alerts.models import Channel, Delivery
from alerts.selectors import channels_list, deliveries_list
from alerts.telegram_connect import connect_code_create
from alerts.transports import TransportError
from scalpaiboard.api import ApplicationError

SECRET_KEY = "channels.new_secret"  # the session key holding a new webhook's secret until shown
DELIVERIES_PER_PAGE = 25
LOG_FILTERS = ("state", "channel", "alert")
KINDS = tuple(KIND_LABELS)
NO_BOT = (
    "Telegram is not set up on this server (TELEGRAM_BOT_TOKEN is empty): add an email, webhook or Apprise "
    "channel instead, or ask the administrator for a bot."
)
CODE_SECONDS = 15 * 60  # how long a Telegram connect code works (alerts.telegram_connect)


@require_GET
def settings_home(request: HttpRequest) -> HttpResponse:
    """/settings: its one section so far."""
    return redirect("alerts:channels")


# --- channels ----------------------------------------------------------------------------------


@login_required
@require_GET
def channels_page(request: HttpRequest) -> HttpResponse:
    """The user's channels and the add form of the kind in ``?add=`` (an HTMX request for the add
    panel, target ``add-channel``, gets only that)."""
    kind = request.GET.get("add") if request.GET.get("add") in KINDS else Channel.Kind.EMAIL
    form = ChannelForm(kind=kind)
    if request.htmx and request.htmx.target == "add-channel":
        return render(request, "alerts/channels/_add_channel.html", _add_context(form))
    return _page(request, form)


def _add_context(form: ChannelForm) -> dict:
    return {"form": form, "kinds": KIND_LABELS, "telegram_bot": bool(settings.TELEGRAM_BOT_TOKEN), "no_bot": NO_BOT}


def _page(request: HttpRequest, form: ChannelForm, status: int = 200) -> HttpResponse:
    context = {
        "channels": list(channels_list(user=request.user)),
        **_add_context(form),
        "new_secret": request.session.pop(SECRET_KEY, None),  # popped: shown this once, never again
    }
    return render(request, "alerts/channels/page.html", context, status=status)


@login_required
@require_POST
def channel_add(request: HttpRequest) -> HttpResponse:
    """Create a channel of the posted ``kind``; a webhook's secret is kept in the session for the one
    page that shows it."""
    kind = request.POST.get("kind")
    if kind not in KINDS:
        messages.error(request, f"Choose a kind of channel: {', '.join(KINDS)}.")
        return redirect("alerts:channels")
    form = ChannelForm(request.POST, kind=kind)
    channel = _saved(form, lambda data: channel_create(user=request.user, data={"kind": kind, **data}))
    if channel is None:
        return _page(request, form, status=400)
    if channel.kind == Channel.Kind.WEBHOOK:
        request.session[SECRET_KEY] = {"channel": channel.pk, "name": channel_label(channel), "secret": channel.secret}
    messages.success(request, f"Channel added: {channel_label(channel)}. Press Test to check it.")
    return redirect(reverse("alerts:channels") + f"#channel-{channel.pk}")


def _saved(form: ChannelForm, save) -> Channel | None:
    """The channel ``save(data)`` returns, or None with the form's and the service's errors on the form."""
    if not form.is_valid():
        return None
    try:
        return save(form.channel_data())
    except ChannelInvalid as error:
        form.add_service_errors(error.errors, error.message)
        return None


def _channel(request: HttpRequest, pk: int) -> Channel:
    """The user's channel ``pk``; 404 for anyone else's."""
    return get_object_or_404(channels_list(user=request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the channel's form; POST: save it (its kind stays)."""
    channel = _channel(request, pk)
    if request.method == "GET":
        form = ChannelForm(initial=channel_initial(channel), kind=channel.kind)
        return render(request, "alerts/channels/edit.html", {"form": form, "channel": channel})
    form = ChannelForm(request.POST, kind=channel.kind)
    if _saved(form, lambda data: channel_update(channel=channel, data=data)) is None:
        return render(request, "alerts/channels/edit.html", {"form": form, "channel": channel}, status=400)
    messages.success(request, f"Channel saved: {channel_label(channel)}.")
    return redirect(reverse("alerts:channels") + f"#channel-{channel.pk}")


@login_required
@require_POST
def channel_enable(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable (``enabled=true``, which clears a permanent error's reason) or disable the channel;
    an HTMX request gets its row."""
    channel = _channel(request, pk)
    try:
        channel = channel_update(channel=channel, data={"enabled": request.POST.get("enabled") == "true"})
    except ChannelInvalid as error:
        messages.error(request, error.message)
    if request.htmx:
        return render(request, "alerts/channels/_channel_row.html", {"channel": channel})
    return redirect(reverse("alerts:channels") + f"#channel-{channel.pk}")


@login_required
@require_POST
def channel_send_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message now; the outcome (sent in so many ms, or the error) in place."""
    channel = _channel(request, pk)
    outcome = channel_test(channel=channel)
    if request.htmx:
        return render(request, "alerts/channels/_test_result.html", {"outcome": outcome, "channel": channel})
    if outcome["ok"]:
        messages.success(request, f"Test sent to {channel_label(channel)} in {outcome['latency_ms']} ms.")
    else:
        messages.error(request, f"Test to {channel_label(channel)} failed: {outcome['error']}")
    return redirect(reverse("alerts:channels") + f"#channel-{channel.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def channel_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation; POST: delete the channel and its delivery log."""
    channel = _channel(request, pk)
    if request.method == "GET":
        return render(request, "alerts/channels/confirm_delete.html", {"channel": channel})
    label = channel_label(channel)
    channel_delete(channel=channel)
    messages.success(request, f"Channel deleted: {label}.")
    return redirect("alerts:channels")


# --- Telegram's connect flow -------------------------------------------------------------------


@login_required
@require_POST
def telegram_connect(request: HttpRequest) -> HttpResponse:
    """A one-time code and the bot's link; the answer then polls ``telegram_wait`` until the chat
    that sent the code appears among the channels."""
    if not settings.TELEGRAM_BOT_TOKEN:
        return render(request, "alerts/channels/_telegram_code.html", {"error": NO_BOT})
    try:
        code = connect_code_create(user=request.user)
    except (ApplicationError, TransportError) as error:  # the bot cannot be reached
        return render(request, "alerts/channels/_telegram_code.html", {"error": error.message})
    since = int(datetime.now(UTC).timestamp())
    return render(request, "alerts/channels/_telegram_code.html", {"code": code, "since": since})


@login_required
@require_GET
def telegram_wait(request: HttpRequest) -> HttpResponse:
    """The connect flow's poll: still waiting, or the chat connected since ``since`` (epoch seconds),
    which stops the poll and refreshes the channel list out of band."""
    since = _epoch(request.GET.get("since"))
    connected = channels_list(user=request.user).filter(kind=Channel.Kind.TELEGRAM, updated_at__gte=since).first()
    expired = (datetime.now(UTC) - since).total_seconds() > CODE_SECONDS
    context = {"connected": connected, "since": int(since.timestamp()), "expired": expired}
    if connected is not None:
        context["channels"] = list(channels_list(user=request.user))
    return render(request, "alerts/channels/_telegram_wait.html", context)


def _epoch(value: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


# --- the delivery log --------------------------------------------------------------------------


@login_required
@require_GET
def deliveries_page(request: HttpRequest) -> HttpResponse:
    """The delivery log with its filters; the live table (target ``delivery-log``) refreshes itself
    through this view every few seconds, with the same filters and page."""
    context = _log_context(request.user, request.GET)
    if request.htmx and request.htmx.target == "delivery-log":
        return render(request, "alerts/channels/_delivery_log.html", context)
    channels = list(channels_list(user=request.user))
    return render(request, "alerts/channels/deliveries.html", {**context, "channels": channels})


def _log_context(user, params) -> dict:
    """A fixed number of queries whatever the page holds: the count and the page's rows."""
    filters = DeliveryFilter(params, queryset=deliveries_list(user=user))
    rows = filters.qs if filters.is_valid() else Delivery.objects.none()
    page = Paginator(rows, DELIVERIES_PER_PAGE).get_page(params.get("page"))
    query = {name: params[name] for name in LOG_FILTERS if params.get(name)}
    return {
        "filter": filters,
        "page": page,
        "query": urlencode(query),
        "page_query": urlencode({**query, "page": page.number}),
        "kept": {**query, "page": page.number},  # what a replay posts back, to answer the log as shown
        "filtered": bool(query),
        "states": Delivery.State.choices,
        "retrying": (Delivery.State.FAILED, Delivery.State.PENDING),  # the states that have a next try
        "replayable": (Delivery.State.SENT, Delivery.State.FAILED, Delivery.State.DEAD),
    }


@login_required
@require_POST
def delivery_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the delivery again, as a new one (the same ``webhook-id``); answers the log as filtered."""
    delivery = get_object_or_404(deliveries_list(user=request.user), pk=pk)
    replay = delivery_replay(delivery=delivery)
    messages.success(request, f"Delivery {delivery.pk} replayed as delivery {replay.pk}.")
    params = {name: request.POST[name] for name in (*LOG_FILTERS, "page") if request.POST.get(name)}
    if request.htmx:
        context = {**_log_context(request.user, params), "partial": True}
        return render(request, "alerts/channels/_delivery_log.html", context)
    return redirect(reverse("alerts:deliveries") + (f"?{urlencode(params)}" if params else ""))
