"""Watchlist pages: a list with its coins' live figures (one view for the page and its HTMX table),
the forms that make, rename and delete lists and add, edit, reorder and remove coins, and the star
that puts a coin on a list from any coin row. Every write goes through ``watchlists.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from markets.selectors import coin_symbols
from scalpaiboard.api import ApplicationError
from watchlists import selectors, services
from watchlists.forms import ItemAddForm, ItemEditForm, WatchlistNameForm, errors_from
from watchlists.models import Watchlist
from watchlists.page_rows import item_row, item_rows
from watchlists.templatetags.watchlist_stars import stars_for

TABLE = "watchlist-table"


# --- the page ----------------------------------------------------------------------------------


@login_required
@require_GET
def watchlist_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The default list (``/watchlist``) or list ``pk``, its coins in its order or sorted by a column;
    an HTMX request for the table gets only the table."""
    watchlist = _list_of(request, pk)
    context = _table_context(request, watchlist)
    if request.htmx and request.htmx.target == TABLE:
        return render(request, "watchlists/_watchlist_table.html", context)
    return _page(request, watchlist, context)


def _list_of(request: HttpRequest, pk: int | None) -> Watchlist:
    if pk is None:
        return selectors.watchlist_default_get(user=request.user)
    return selectors.watchlist_get(user=request.user, id=pk)


def _table_context(request: HttpRequest, watchlist: Watchlist) -> dict:
    """The list's rows, sorted by ``?ordering=`` when it names a column (else in the list's order,
    which rows can be dragged to change)."""
    ordering = request.GET.get("ordering") or None
    error = ""
    try:
        items = selectors.watchlist_items(watchlist=watchlist, ordering=ordering, sparkline=True)
    except ApplicationError as refused:
        error, ordering = refused.message, None
        items = selectors.watchlist_items(watchlist=watchlist, sparkline=True)
    return {"watchlist": watchlist, "rows": item_rows(items), "ordering": ordering or "", "ordering_error": error}


def _page(request: HttpRequest, watchlist: Watchlist, context: dict, status: int = 200, **forms) -> HttpResponse:
    """The whole page, with the forms given (bound, with their errors) or fresh ones."""
    context = {
        **context,
        "lists": selectors.watchlists_list(user=request.user),
        "symbols": sorted(coin_symbols()),
        "add_form": forms.get("add_form") or ItemAddForm(),
        "create_form": forms.get("create_form") or WatchlistNameForm(prefix="new"),
        "rename_form": forms.get("rename_form") or WatchlistNameForm(initial={"name": watchlist.name}),
    }
    return render(request, "watchlists/watchlist.html", context, status=status)


def _refused_page(request: HttpRequest, watchlist: Watchlist, **forms) -> HttpResponse:
    """The page again with a form's errors on it, answered 400."""
    return _page(request, watchlist, _table_context(request, watchlist), status=400, **forms)


# --- lists -------------------------------------------------------------------------------------


@login_required
@require_POST
def watchlist_new(request: HttpRequest) -> HttpResponse:
    """Make a list and open it; the page with the name's error when it is refused."""
    form = WatchlistNameForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            made = services.watchlist_create(user=request.user, name=form.cleaned_data["name"])
        except ApplicationError as refused:
            errors_from(form, refused)
        else:
            messages.success(request, f"List {made.name} made: add coins here, or with the star on any coin.")
            return redirect("watchlist-detail", pk=made.pk)
    current = selectors.watchlist_default_get(user=request.user)
    return _refused_page(request, current, create_form=form)


@login_required
@require_POST
def watchlist_rename(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = selectors.watchlist_get(user=request.user, id=pk)
    form = WatchlistNameForm(request.POST)
    if form.is_valid():
        try:
            services.watchlist_update(watchlist=watchlist, name=form.cleaned_data["name"])
        except ApplicationError as refused:
            errors_from(form, refused)
        else:
            messages.success(request, f"Renamed to {watchlist.name}.")
            return redirect("watchlist-detail", pk=watchlist.pk)
    watchlist.refresh_from_db(fields=["name"])  # the tabs show the name it still has
    return _refused_page(request, watchlist, rename_form=form)


@login_required
@require_POST
def watchlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a list (never the default one) and go back to the default list."""
    watchlist = selectors.watchlist_get(user=request.user, id=pk)
    try:
        services.watchlist_delete(watchlist=watchlist)
    except ApplicationError as refused:
        messages.error(request, refused.message)
        return redirect("watchlist-detail", pk=watchlist.pk)
    messages.success(request, f"List {watchlist.name} deleted, with the target and stop alerts of its coins.")
    return redirect("watchlist")


# --- items -------------------------------------------------------------------------------------


@login_required
@require_POST
def item_add(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = selectors.watchlist_get(user=request.user, id=pk)
    form = ItemAddForm(request.POST)
    if form.is_valid():
        try:
            item = services.watchlist_item_add(watchlist=watchlist, **form.cleaned_data)
        except ApplicationError as refused:
            errors_from(form, refused)
        else:
            messages.success(request, f"{item.coin.symbol} added to {watchlist.name}.")
            return redirect("watchlist-detail", pk=watchlist.pk)
    return _refused_page(request, watchlist, add_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: int, symbol: str) -> HttpResponse:
    """An item's row (GET); a POST saves its note, target and stop and answers the row, with each
    field's error under it. Without HTMX, back to the list."""
    watchlist = selectors.watchlist_get(user=request.user, id=pk)
    symbol = _symbol_checked(symbol)
    current = _item_of(watchlist, symbol)
    form = ItemEditForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        current = _item_save(watchlist, current, form)
    if not request.htmx:
        if form is not None and form.errors:
            messages.error(request, f"{current['symbol']}: " + " ".join(m for ms in form.errors.values() for m in ms))
        return redirect("watchlist-detail", pk=watchlist.pk)
    row = item_row(current)
    return render(request, "watchlists/_watchlist_row.html", {"watchlist": watchlist, "row": row, "form": form})


def _item_save(watchlist: Watchlist, current: dict, form: ItemEditForm) -> dict:
    """Save what the form changed: the item as it is then, or as it was with the services' errors on the form."""
    try:
        item = selectors.watchlist_item_get(watchlist=watchlist, symbol=current["symbol"])
        services.watchlist_item_update(item=item, **form.changes(current))
    except ApplicationError as refused:
        errors_from(form, refused)
        return current
    return _item_of(watchlist, current["symbol"])


def _symbol_checked(symbol: str) -> str:
    """``symbol`` from the address; 404 for one no coin can have (PostgreSQL refuses NUL in a query)."""
    if "\x00" in symbol:
        raise Http404("No coin has a NUL character in its symbol.")
    return symbol


def _item_of(watchlist: Watchlist, symbol: str) -> dict:
    """The item of ``symbol`` with its figures and sparkline, as the table shows it; 404 when it is not
    on the list."""
    item = selectors.watchlist_item_get(watchlist=watchlist, symbol=symbol)
    return selectors.watchlist_items(watchlist=watchlist, sparkline=True, symbol=item.coin.symbol)[0]


@login_required
@require_POST
def item_remove(request: HttpRequest, pk: int, symbol: str) -> HttpResponse:
    """Take a coin off the list: HTMX gets nothing back (the row goes), a form post goes back to the list."""
    watchlist = selectors.watchlist_get(user=request.user, id=pk)
    services.watchlist_item_remove(watchlist=watchlist, symbol=_symbol_checked(symbol))
    if request.htmx:
        return HttpResponse("")
    messages.success(request, f"{symbol.upper()} removed from {watchlist.name}.")
    return redirect("watchlist-detail", pk=watchlist.pk)


@login_required
@require_POST
def items_order(request: HttpRequest, pk: int) -> HttpResponse:
    """Put the list's coins in the order of the ``symbols`` posted (a drag on the page): 204, or 400
    with the reason."""
    watchlist = selectors.watchlist_get(user=request.user, id=pk)
    try:
        services.watchlist_order(watchlist=watchlist, symbols=request.POST.getlist("symbols"))
    except ApplicationError as refused:
        return HttpResponse(refused.message, status=400, content_type="text/plain; charset=utf-8")
    return HttpResponse(status=204)


# --- the star on coin rows ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def star(request: HttpRequest, symbol: str) -> HttpResponse:
    """A coin's star. GET opens the menu of the user's lists (when there are several); a POST of
    ``list`` puts the coin on that list, or takes it off when it is there."""
    symbol = symbol.strip().upper()[:30]
    if request.method == "GET" and not request.htmx:  # the address opened by hand: the coin's page
        return redirect("markets:coin", symbol=symbol)
    error = _star_toggle(request, symbol) if request.method == "POST" else ""
    stars = stars_for(request.user)
    opened = request.method == "GET" or request.POST.get("menu") == "1"
    context = {"symbol": symbol, "stars": stars, "opened": opened and len(stars.lists) > 1, "star_error": error}
    return render(request, "watchlists/_star.html", context)


def _star_toggle(request: HttpRequest, symbol: str) -> str:
    """Toggle ``symbol`` on the posted list; the reason when refused."""
    watchlist = selectors.watchlist_get(user=request.user, id=request.POST.get("list"))
    holding = selectors.starred_symbols(user=request.user).get(symbol, [])
    try:
        if watchlist.pk in holding:
            services.watchlist_item_remove(watchlist=watchlist, symbol=symbol)
        else:
            services.watchlist_item_add(watchlist=watchlist, symbol=symbol)
    except ApplicationError as refused:
        return refused.message
    return ""
