"""The watchlists API: the seed's default list (``/api/watchlist``) and named lists (``/api/watchlists``)
with their items, each item with its live figures. Another user's list answers 404 on every method;
symbols are taken in any case. The work is the services' and selectors' (watchlists.services,
watchlists.selectors), as for the pages."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.views import BodyFirst, body
from alerts.selectors import iso_ms
from scalpaiboard.api import BoundedJSONParser
from watchlists import selectors, services
from watchlists.api.watchlist_serializers import (
    DefaultItemBodySerializer,
    ItemBodySerializer,
    ItemEditSerializer,
    ItemsQuerySerializer,
    OrderResultSerializer,
    OrderSerializer,
    WatchlistBodySerializer,
    WatchlistDetailSerializer,
    WatchlistEditSerializer,
    WatchlistItemSerializer,
    WatchlistSerializer,
)
from watchlists.models import MAX_ITEMS, Watchlist

LIST_404 = OpenApiResponse(description="No watchlist of yours has this id (another user's list is not yours).")
ITEM_404 = OpenApiResponse(description="No list of yours has this id, or the coin is not on it.")
ITEM_400 = OpenApiResponse(
    description=f"`symbol` unknown, not listed, already on the list, or the list holds {MAX_ITEMS} coins; or a "
    "field out of bounds, each named."
)
ADD = (
    f"The coin is appended to the list at its current price (`added_price`). A list holds at most {MAX_ITEMS} "
    "coins, each once. A `target_price` is kept as a `crossing_up` alert on the coin, a `stop_price` as a "
    "`crossing_down` one (GET /api/alerts shows them); removing the coin deletes them."
)
ITEMS_QUERY = "`sparkline=true` adds each item's hourly closes of the last 7 days; `ordering` sorts by an item field."
ADD_EXAMPLE = OpenApiExample("Bitcoin", value={"symbol": "BTC", "note": "breakout watch"}, request_only=True)


def _list_json(watchlist: Watchlist, *, item_count: int) -> dict:
    return {
        "id": watchlist.pk,
        "name": watchlist.name,
        "is_default": watchlist.is_default,
        "position": watchlist.position,
        "item_count": item_count,
        "created_at": iso_ms(watchlist.created_at),
    }


def _item_json(row: dict) -> dict:
    return {**row, "added_at": iso_ms(row["added_at"])}


def _detail_json(watchlist: Watchlist, query: dict) -> dict:
    """The list with its items, as ``query`` (ItemsQuerySerializer) asks."""
    rows = selectors.watchlist_items(watchlist=watchlist, **query)
    return {**_list_json(watchlist, item_count=len(rows)), "items": [_item_json(row) for row in rows]}


def _item_answer(watchlist: Watchlist, symbol: str, *, status_code: int = 200) -> Response:
    (row,) = selectors.watchlist_items(watchlist=watchlist, symbol=symbol)
    headers = {"Location": f"/api/watchlists/{watchlist.pk}/items/{row['symbol']}"} if status_code == 201 else None
    return Response(_item_json(row), status=status_code, headers=headers)


class WatchlistBase(BodyFirst, viewsets.GenericViewSet):
    """What every watchlists endpoint shares: JSON bodies, no pages, the signed-in user's lists only."""

    queryset = Watchlist.objects.none()  # for the schema; requests read the selectors
    parser_classes = [BoundedJSONParser]
    pagination_class = None
    filter_backends: list = []

    def get_object(self) -> Watchlist:
        return selectors.watchlist_get(user=self.request.user, id=self.kwargs["id"])


class DefaultWatchlistViewSet(WatchlistBase):
    """Your default list, as the seed's endpoints name it (``/api/watchlist``)."""

    serializer_class = WatchlistDetailSerializer

    def get_object(self) -> Watchlist:
        return selectors.watchlist_default_get(user=self.request.user)

    @extend_schema(
        summary="Your default watchlist",
        description="The list made at sign-up, with its items' live figures. " + ITEMS_QUERY,
        parameters=[ItemsQuerySerializer],
        responses={200: WatchlistDetailSerializer},
    )
    def retrieve(self, request: Request) -> Response:
        query = body(ItemsQuerySerializer, request.query_params)
        return Response(_detail_json(self.get_object(), query))

    @extend_schema(
        summary="Add a coin to your default watchlist",
        description=ADD,
        request=DefaultItemBodySerializer,
        responses={201: WatchlistItemSerializer, 400: ITEM_400},
        examples=[ADD_EXAMPLE],
    )
    def create(self, request: Request) -> Response:
        data = body(DefaultItemBodySerializer, request.data)
        watchlist = self.get_object()
        item = services.watchlist_item_add(watchlist=watchlist, **data)
        return _item_answer(watchlist, item.coin.symbol, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove a coin from your default watchlist",
        description="Its target and stop alerts are deleted with it.",
        responses={204: None, 404: OpenApiResponse(description="The coin is not on your default list.")},
    )
    def destroy(self, request: Request, symbol: str) -> Response:
        services.watchlist_item_remove(watchlist=self.get_object(), symbol=symbol)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WatchlistViewSet(WatchlistBase):
    """Your named watchlists."""

    serializer_class = WatchlistSerializer

    @extend_schema(summary="Your watchlists", description="The default list first, then in their order.")
    def list(self, request: Request) -> Response:
        lists = selectors.watchlists_list(user=request.user)
        return Response([_list_json(w, item_count=w.item_count) for w in lists])

    @extend_schema(
        summary="Make a watchlist",
        description=f"An empty list after your others; at most {services.MAX_LISTS} lists, names unique (any case).",
        request=WatchlistBodySerializer,
        responses={201: WatchlistSerializer},
    )
    def create(self, request: Request) -> Response:
        watchlist = services.watchlist_create(user=request.user, **body(WatchlistBodySerializer, request.data))
        headers = {"Location": f"/api/watchlists/{watchlist.pk}"}
        return Response(_list_json(watchlist, item_count=0), status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(
        summary="One of your watchlists",
        description="With its items' live figures. " + ITEMS_QUERY,
        parameters=[ItemsQuerySerializer],
        responses={200: WatchlistDetailSerializer, 404: LIST_404},
    )
    def retrieve(self, request: Request, id: int) -> Response:
        query = body(ItemsQuerySerializer, request.query_params)
        return Response(_detail_json(self.get_object(), query))

    @extend_schema(
        summary="Rename a watchlist",
        request=WatchlistEditSerializer,
        responses={200: WatchlistSerializer, 404: LIST_404},
    )
    def partial_update(self, request: Request, id: int) -> Response:
        data = body(WatchlistEditSerializer, request.data)
        watchlist = self.get_object()
        if "name" in data:
            watchlist = services.watchlist_update(watchlist=watchlist, name=data["name"])
        return Response(_list_json(watchlist, item_count=watchlist.items.count()))

    @extend_schema(
        summary="Delete a watchlist",
        description="With its items and their target and stop alerts. The default list cannot be deleted (400).",
        responses={204: None, 400: OpenApiResponse(description="It is your default list."), 404: LIST_404},
    )
    def destroy(self, request: Request, id: int) -> Response:
        services.watchlist_delete(watchlist=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Reorder a watchlist",
        description="`symbols` names each of the list's coins exactly once, in the new order (as a drag on the "
        "page leaves them); anything else is a 400 naming the coins missing, repeated or not on the list.",
        request=OrderSerializer,
        responses={200: OrderResultSerializer, 404: LIST_404},
    )
    def order(self, request: Request, id: int) -> Response:
        data = body(OrderSerializer, request.data)
        watchlist = self.get_object()
        services.watchlist_order(watchlist=watchlist, symbols=data["symbols"])
        return Response({"symbols": list(watchlist.items.values_list("coin__symbol", flat=True))})


class WatchlistItemViewSet(WatchlistBase):
    """The coins of one of your watchlists."""

    serializer_class = WatchlistItemSerializer

    @extend_schema(
        summary="Add a coin to a watchlist",
        description=ADD,
        request=ItemBodySerializer,
        responses={201: WatchlistItemSerializer, 400: ITEM_400, 404: LIST_404},
        examples=[ADD_EXAMPLE],
    )
    def create(self, request: Request, id: int) -> Response:
        data = body(ItemBodySerializer, request.data)
        watchlist = self.get_object()
        item = services.watchlist_item_add(watchlist=watchlist, **data)
        return _item_answer(watchlist, item.coin.symbol, status_code=status.HTTP_201_CREATED)

    @extend_schema(summary="A coin on a watchlist", responses={200: WatchlistItemSerializer, 404: ITEM_404})
    def retrieve(self, request: Request, id: int, symbol: str) -> Response:
        item = selectors.watchlist_item_get(watchlist=self.get_object(), symbol=symbol)
        return _item_answer(item.watchlist, item.coin.symbol)

    @extend_schema(
        summary="Edit a coin on a watchlist",
        description="The note, target and stop given change, the others stay. Setting `target_price` makes (or "
        "moves) its `crossing_up` alert, `stop_price` its `crossing_down` one; null deletes it.",
        request=ItemEditSerializer,
        responses={200: WatchlistItemSerializer, 404: ITEM_404},
    )
    def partial_update(self, request: Request, id: int, symbol: str) -> Response:
        data = body(ItemEditSerializer, request.data)
        item = selectors.watchlist_item_get(watchlist=self.get_object(), symbol=symbol)
        services.watchlist_item_update(item=item, **data)
        return _item_answer(item.watchlist, item.coin.symbol)

    @extend_schema(
        summary="Remove a coin from a watchlist",
        description="Its target and stop alerts are deleted with it.",
        responses={204: None, 404: ITEM_404},
    )
    def destroy(self, request: Request, id: int, symbol: str) -> Response:
        services.watchlist_item_remove(watchlist=self.get_object(), symbol=symbol)
        return Response(status=status.HTTP_204_NO_CONTENT)
