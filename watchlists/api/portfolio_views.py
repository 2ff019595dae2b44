"""The portfolio API: your transactions (list, create, edit, delete, CSV export and import), your
positions with live prices and totals, the costing method, and the daily value history. Another user's
transaction answers 404 on every method. The work is the services' and selectors'
(watchlists.portfolio_services, watchlists.portfolio_selectors), as for the page."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.views import BodyFirst, BodyRequiredSchema, body
from scalpaiboard.api import BoundedJSONParser, BoundedLimitOffsetPagination
from watchlists.api.portfolio_serializers import (
    HistoryPointSerializer,
    HistoryQuerySerializer,
    ImportRefusedSerializer,
    MethodSerializer,
    PortfolioQuerySerializer,
    PortfolioSerializer,
    TransactionBodySerializer,
    TransactionImportResultSerializer,
    TransactionQuerySerializer,
    TransactionSerializer,
)
from watchlists.models import Transaction
from watchlists.portfolio import METHODS
from watchlists.portfolio_selectors import (
    portfolio_history,
    portfolio_summary,
    transaction_as_json,
    transaction_get,
    transactions_csv,
    transactions_list,
)
from watchlists.portfolio_services import (
    CSV_HEADER,
    portfolio_method_set,
    transaction_create,
    transaction_delete,
    transaction_update,
    transactions_import,
)

MAX_CSV_BYTES = 4 * 1024 * 1024
TRANSACTION_404 = OpenApiResponse(description="No transaction of yours has this id (another user's is not yours).")
CONFLICT_400 = OpenApiResponse(description="A later sell would then take more than was held (`conflict` names it).")
IMPORT_400 = OpenApiResponse(
    ImportRefusedSerializer,
    description="Nothing was imported: `rows` lists every refused row by line (the header is 1) and field.",
)
OVERSELL = (
    "Selling (or transferring out) more than was held at that time is a 400 naming `quantity`; an edit or a "
    "deletion that would leave a later sell taking more than was then held is a 400 whose `conflict` names that "
    "transaction."
)
CONTRACT = (
    "`side`: buy, sell, transfer_in or transfer_out; `symbol`: the coin; `quantity`: coins (more than 0); "
    "`price`: USDT per coin (required for a buy or sell, 0 by default for a transfer); `fee`: USDT (default 0); "
    "`time`: ISO 8601 (default now); `note`. Numbers as JSON numbers or decimal strings, at most 18 decimal "
    "places; answers give them as decimal strings.\n\n" + OVERSELL
)
HEADER_LINE = ",".join(CSV_HEADER)
CSV_DOC = (
    f"CSV, UTF-8, first line `{HEADER_LINE}`; a row per transaction, oldest first; `time` ISO 8601 in UTC, "
    "numbers as exact decimals (the columns as in the JSON body; an empty `fee` is 0, an empty `time` now)."
)


class CSVTextParser(BaseParser):
    """A text/csv body, as text (UTF-8, a byte-order mark allowed), of at most MAX_CSV_BYTES."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        return csv_text(stream.read(MAX_CSV_BYTES + 1))


def csv_text(raw: bytes) -> str:
    """The CSV bytes as text; a 400 when too long or not UTF-8."""
    if len(raw) > MAX_CSV_BYTES:
        raise ParseError(f"The CSV is larger than {MAX_CSV_BYTES // 1024 // 1024} MB: import it in parts.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(f"The CSV is not UTF-8 text (byte {error.start}).") from None


METHOD_BODY = {
    "type": "object",
    "properties": {"method": {"type": "string", "enum": list(METHODS), "description": "average or fifo."}},
    "required": ["method"],
}
NOT_A_LIST = {"filter_backends": [], "pagination_class": None}
# Documented as text/csv only: the form upload (multipart, field `file`) is the same CSV, said in words.
IMPORT_BODY = {
    "text/csv": {
        "type": "string",
        "description": CSV_DOC + " Or upload the file as multipart/form-data, in the field `file`.",
    }
}


class TransactionViewSet(BodyFirst, viewsets.GenericViewSet):
    """Your portfolio's transactions: buys, sells and transfers of coins, from which positions are computed."""

    queryset = Transaction.objects.none()  # for the schema; requests read transactions_list
    serializer_class = TransactionSerializer
    parser_classes = [BoundedJSONParser]
    pagination_class = BoundedLimitOffsetPagination
    lookup_field = "id"

    def get_object(self) -> Transaction:
        return transaction_get(user=self.request.user, id=self.kwargs["id"])

    @extend_schema(
        summary="Your transactions",
        description="Newest first; `symbol` for one coin's.",
        parameters=[TransactionQuerySerializer],
    )
    def list(self, request: Request) -> Response:
        symbol = body(TransactionQuerySerializer, request.query_params).get("symbol")
        page = self.paginate_queryset(transactions_list(user=request.user, symbol=symbol))
        return self.get_paginated_response([transaction_as_json(t) for t in page])

    @extend_schema(
        summary="Record a transaction",
        description=CONTRACT,
        request=TransactionBodySerializer,
        responses={201: TransactionSerializer},
    )
    def create(self, request: Request) -> Response:
        created = transaction_create(user=request.user, data=request.data)
        location = {"Location": f"/api/portfolio/transactions/{created.pk}"}
        return Response(transaction_as_json(created), status=status.HTTP_201_CREATED, headers=location)

    @extend_schema(summary="One of your transactions", responses={200: TransactionSerializer, 404: TRANSACTION_404})
    def retrieve(self, request: Request, id: int) -> Response:
        return Response(transaction_as_json(self.get_object()))

    @extend_schema(
        summary="Edit a transaction",
        description="The fields given change, the others stay.\n\n" + CONTRACT,
        request=TransactionBodySerializer(partial=True),
        responses={200: TransactionSerializer, 404: TRANSACTION_404},
    )
    def partial_update(self, request: Request, id: int) -> Response:
        return Response(transaction_as_json(transaction_update(transaction=self.get_object(), data=request.data)))

    @extend_schema(
        summary="Delete a transaction",
        description=OVERSELL,
        responses={204: None, 400: CONFLICT_400, 404: TRANSACTION_404},
    )
    def destroy(self, request: Request, id: int) -> Response:
        transaction_delete(transaction=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Export your transactions as CSV",
        description=CSV_DOC + " POST /api/portfolio/transactions/import takes it back.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, **NOT_A_LIST)
    def export(self, request: Request) -> HttpResponse:
        response = HttpResponse(transactions_csv(user=request.user), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="transactions.csv"'
        return response

    @extend_schema(
        summary="Import transactions from CSV",
        description=CSV_DOC + " The body is the CSV itself (`text/csv`) or a form upload of it (`file`). All or "
        "nothing: when any row is refused, none is imported, and the 400 lists every refused row by line (the "
        "header is line 1) and field. Imported rows come after your transactions of the same time.",
        request=IMPORT_BODY,
        responses={201: TransactionImportResultSerializer, 400: IMPORT_400},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[CSVTextParser, MultiPartParser],
        **NOT_A_LIST,
    )
    def import_(self, request: Request) -> Response:
        created = transactions_import(user=request.user, text=_import_text(request))
        answer = {"count": len(created), "transactions": [transaction_as_json(t) for t in created]}
        return Response(answer, status=status.HTTP_201_CREATED)


def _import_text(request: Request) -> str:
    data = request.data
    if isinstance(data, str):
        return data
    if not request.content_type.startswith("multipart/"):
        return ""  # an empty text/csv body (DRF parses no empty body): the header is missing
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": ["Required: the CSV file (or send the CSV itself as text/csv)."]})
    return csv_text(upload.read(MAX_CSV_BYTES + 1))


class PortfolioViewSet(BodyFirst, viewsets.GenericViewSet):
    """Your positions and totals, the costing method, and the value history."""

    schema = BodyRequiredSchema()
    queryset = Transaction.objects.none()
    serializer_class = PortfolioSerializer
    parser_classes = [BoundedJSONParser]
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        summary="Your positions and totals",
        description="Each coin's position replayed from your transactions in time order, at the live price, by "
        "your costing method (or `method`). Average cost: a buy adds q·p + fee to the cost; a sell realizes "
        "q·(p - average buy price) - fee and takes q * average off the cost. FIFO: a sell takes the cost of the "
        "oldest lots first. Transfers in count like buys at their price (0 when none); transfers out like sells "
        "without P&L (their fee is a realized loss). pnl_percent = (realized + unrealized) / invested * 100. "
        "Money as decimal strings.",
        parameters=[PortfolioQuerySerializer],
        responses={200: PortfolioSerializer},
    )
    def retrieve(self, request: Request) -> Response:
        method = body(PortfolioQuerySerializer, request.query_params).get("method")
        return Response(portfolio_summary(user=request.user, method=method))

    @extend_schema(
        summary="Set the costing method",
        description='`{"method": "fifo"}` or `{"method": "average"}`: how GET /api/portfolio costs positions '
        "from now on (it answers the portfolio, so costed).",
        request={"application/json": METHOD_BODY},
        responses={200: PortfolioSerializer},
    )
    def partial_update(self, request: Request) -> Response:
        method = body(MethodSerializer, request.data)["method"]
        portfolio_method_set(user=request.user, method=method)
        return Response(portfolio_summary(user=request.user, method=method))

    @extend_schema(
        summary="Your portfolio's daily value",
        description="One point per UTC day, oldest first, the last being today: the coins held at each day's end "
        "* that day's 1d close (today: the live price; a day without a bar: the last close before it).",
        parameters=[HistoryQuerySerializer],
        responses={200: HistoryPointSerializer(many=True)},
    )
    @action(detail=False)
    def history(self, request: Request) -> Response:
        days = body(HistoryQuerySerializer, request.query_params)["days"]
        return Response(portfolio_history(user=request.user, days=days))
