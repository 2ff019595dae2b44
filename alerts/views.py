"""Alert pages: the manager (one view for the page, its table and each row as HTMX partials), the
form (one view for the page and its parameter fieldset), the backtest preview, an alert's history,
deletion with confirmation, and the bell's notifications. Every write goes through alerts.services."""

from __future__ import annotations

import json
import math
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts.alert_fields import AlertInvalid, alert_clean
from alerts.backtest import alert_backtest
from alerts.conditions import condition_words
from alerts.filters import AlertFilter
from alerts.forms import FREQUENCIES, FREQUENCY_NOTE, KIND_CHOICES, AlertForm, alert_initial
from alerts.models import Alert
from alerts.selectors import alert_events, alert_get, alerts_list, notifications_list, notifications_unread_count
from alerts.services import (
    alert_create,
    alert_delete,
    alert_update,
    alerts_delete,
    alerts_pause,
    alerts_resume,
    notifications_read,
)
from markets.timeframes import TIMEFRAME_SECONDS

FILTERS = ("status", "symbol", "kind")
PER_PAGE = 50
RECENT_NOTIFICATIONS = 10
BACKTEST_DAYS = 30
CHART_BARS = 500  # a small chart's bars at most: its timeframe is the shortest that spans the period
MIN_CHART_BARS = 60  # and at least, so that a new alert's chart shows some market around it
BULK_ACTIONS = {"pause": alerts_pause, "resume": alerts_resume, "delete": alerts_delete}
BULK_DONE = {"pause": "Paused", "resume": "Resumed", "delete": "Deleted"}


# --- the manager -------------------------------------------------------------------------------


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """The user's alerts with filters; an HTMX request for the table gets only the table."""
    context = _table_context(request)
    if request.htmx and request.htmx.target == "alert-table":
        return render(request, "alerts/_alert_table.html", {**context, "partial": True})
    return render(request, "alerts/alert_list.html", context)


def _table_context(request: HttpRequest, params=None) -> dict:
    params = request.GET if params is None else params
    filters = AlertFilter(params, queryset=alerts_list(user=request.user))
    rows = filters.qs if filters.is_valid() else Alert.objects.none()
    page = Paginator(rows, PER_PAGE).get_page(params.get("page"))
    query = {name: params[name] for name in FILTERS if params.get(name)}
    return {
        "filter": filters,
        "page": page,
        "query": urlencode(query),
        "filtered": bool(query),
        "statuses": Alert.Status.choices,
        "kinds": KIND_CHOICES,
    }


@login_required
@require_POST
def alerts_bulk(request: HttpRequest) -> HttpResponse:
    """Pause, resume or delete the checked alerts; answers the table as the filters show it."""
    action = request.POST.get("action")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose pause, resume or delete.")
    elif not ids:
        messages.error(request, "Tick the alerts to change first.")
    else:
        _bulk_apply(request, action, ids)
    if request.htmx:
        return render(request, "alerts/_alert_table.html", {**_table_context(request, request.POST), "partial": True})
    return redirect(_next(request) or reverse("alerts:list"))


def _bulk_apply(request: HttpRequest, action: str, ids: list[int]) -> None:
    try:
        count = BULK_ACTIONS[action](user=request.user, ids=ids)
    except AlertInvalid as error:  # resuming past ALERTS_PER_USER
        messages.error(request, error.message)
    else:
        messages.success(request, f"{BULK_DONE[action]} {count} alert{'s' if count != 1 else ''}.")


# --- one alert ---------------------------------------------------------------------------------


@login_required
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An alert's history, its firings marked on a chart. HTMX partials: its row in the manager
    (target ``alert-<id>``) and the history panel (target ``alert-history``)."""
    alert = alert_get(user=request.user, id=pk)
    if request.htmx and request.htmx.target == f"alert-{alert.pk}":
        return render(request, "alerts/_alert_row.html", {"alert": alert})
    events = Paginator(alert_events(alert=alert), PER_PAGE).get_page(request.GET.get("page"))
    context = {"alert": alert, "events": events, "chart": _history_chart(alert, events.object_list)}
    if request.htmx and request.htmx.target == "alert-history":
        return render(request, "alerts/_history.html", context)
    return render(request, "alerts/alert_detail.html", {**context, "frequency": FREQUENCIES.get(alert.frequency)})


def _history_chart(alert: Alert, events) -> dict:
    """The chart under the history: candles from the alert's creation (or its oldest firing shown)
    to now, in the shortest timeframe that fits, and a marker per firing."""
    oldest = min([alert.created_at.timestamp()] + [e.fired_at.timestamp() for e in events])
    span = time.time() - oldest
    timeframe = chart_timeframe(span)
    firings = [{"time": e.fired_at.timestamp(), "price": e.price} for e in events]
    bars = min(CHART_BARS, max(MIN_CHART_BARS, math.ceil(span / TIMEFRAME_SECONDS[timeframe]) + 2))
    return {"timeframe": timeframe, "bars": bars, "firings": json.dumps(firings)}


def chart_timeframe(span_seconds: float) -> str:
    """The shortest timeframe that shows ``span_seconds`` in CHART_BARS bars or fewer."""
    for timeframe, seconds in TIMEFRAME_SECONDS.items():
        if span_seconds / seconds <= CHART_BARS:
            return timeframe
    return "1d"


@login_required
@require_http_methods(["GET", "POST"])
def alert_new(request: HttpRequest) -> HttpResponse:
    """The create form (prefilled from the query string); a POST creates the alert. An HTMX POST
    (the coin chart's price alert) gets a short answer instead of a redirect."""
    if request.method == "GET":
        return _form_page(request, AlertForm(initial=_initial(request.GET), user=request.user), None)
    form = AlertForm(request.POST, user=request.user)
    alert = _saved(form, lambda data: alert_create(user=request.user, data=data))
    if request.htmx:
        return render(request, "alerts/_quick_result.html", {"form": form, "alert": alert})
    if alert is None:
        return _form_page(request, form, None, status=400)
    messages.success(request, f"Alert created: {alert.subject} {condition_words(alert.condition)}.")
    return redirect("alerts:detail", pk=alert.pk)


@login_required
@require_http_methods(["GET", "POST"])
def alert_edit(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_get(user=request.user, id=pk)
    if request.method == "GET":
        initial = _initial(request.GET) if request.htmx else alert_initial(alert)
        return _form_page(request, AlertForm(initial=initial, user=request.user), alert)
    form = AlertForm(request.POST, user=request.user)
    if _saved(form, lambda data: alert_update(alert=alert, data=data)) is None:
        return _form_page(request, form, alert, status=400)
    messages.success(request, "Alert saved.")
    return redirect("alerts:detail", pk=alert.pk)


def _saved(form: AlertForm, save) -> Alert | None:
    """The alert ``save(data)`` returns, or None with the form's and the services' errors on the form."""
    if not form.is_valid():
        return None
    try:
        return save(form.alert_data())
    except AlertInvalid as error:
        form.add_service_errors(error.errors, error.message)
        return None


def _form_page(request: HttpRequest, form: AlertForm, alert: Alert | None, status: int = 200) -> HttpResponse:
    """The form page; an HTMX request for the parameter fieldset (the kind changed) gets only that."""
    context = {"form": form, "alert": alert, "frequency_note": FREQUENCY_NOTE}
    if request.htmx and request.htmx.target == "condition-params":
        return render(request, "alerts/_params.html", context)
    return render(request, "alerts/alert_form.html", context, status=status)


def _initial(params) -> dict:
    """Initial values from a query string: one value per field, the lists for pattern classes and channels."""
    initial = {name: params.get(name) for name in params}
    for name in ("patterns", "channels"):
        if name in params:
            initial[name] = params.getlist(name)
    return initial


@login_required
@require_POST
def alert_preview(request: HttpRequest) -> HttpResponse:
    """The form's backtest: when the alert as typed would have fired over the last 30 days."""
    form = AlertForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "alerts/_backtest.html", {"form": form})
    try:
        clean = alert_clean(user=request.user, data=form.alert_data())
    except AlertInvalid as error:
        form.add_service_errors(error.errors, error.message)
        return render(request, "alerts/_backtest.html", {"form": form})
    result = alert_backtest(
        symbol=clean["coin"].symbol,
        condition=clean["condition"],
        frequency=clean["frequency"],
        timeframe=clean["timeframe"],
        cooldown=clean["cooldown"],
        days=BACKTEST_DAYS,
    )
    context = {
        "result": result,
        "symbol": clean["coin"].symbol,
        "firings": json.dumps(result["firings"]),
        "bars": 24 * BACKTEST_DAYS,
    }
    return render(request, "alerts/_backtest.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def alert_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation; POST: delete, with every firing."""
    alert = alert_get(user=request.user, id=pk)
    if request.method == "GET":
        return render(request, "alerts/alert_confirm_delete.html", {"alert": alert})
    words = f"{alert.subject} {condition_words(alert.condition)}"
    alert_delete(alert=alert)
    messages.success(request, f"Alert deleted: {words}.")
    return redirect("alerts:list")


def _next(request: HttpRequest) -> str | None:
    target = request.POST.get("next")
    safe = target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if safe else None


# --- the bell ----------------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The bell's dropdown: the latest notifications, and the unread count (out of band)."""
    return _notifications_menu(request)


@login_required
@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the notifications named by ``ids`` read, or all of them with ``all``."""
    ids = None if request.POST.get("all") else [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    notifications_read(user=request.user, ids=ids)
    if not request.htmx:
        return redirect(_next(request) or reverse("alerts:list"))
    return _notifications_menu(request)


def _notifications_menu(request: HttpRequest) -> HttpResponse:
    recent = list(notifications_list(user=request.user, unread=None)[:RECENT_NOTIFICATIONS])
    unread = notifications_unread_count(user=request.user)
    return render(request, "alerts/_notifications.html", {"notifications": recent, "unread": unread})
