"""Serializers of the portfolio API. Transactions are checked by ``watchlists.portfolio_services``
(as the page checks them), so the serializers here describe the shapes for the schema; the answers are
built by the selectors. Money and quantities are decimal strings in answers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.api.serializers import ClosedSerializer
from watchlists.models import Transaction
from watchlists.portfolio import METHODS
from watchlists.portfolio_services import INTEGER_DIGITS, MAX_NOTE, PLACES

DECIMAL_PATTERN = rf"^ *[0-9]{{1,{INTEGER_DIGITS}}}(\.[0-9]{{1,{PLACES}}})? *$"
POSITIVE_PATTERN = rf"^ *(?=[0-9.]*[1-9])[0-9]{{1,{INTEGER_DIGITS}}}(\.[0-9]{{1,{PLACES}}})? *$"
DECIMAL_TEXT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}


def _amount(minimum: dict, pattern: str) -> dict:
    """A JSON number, or a decimal string of at most 18 decimal places."""
    return {
        "oneOf": [
            {"type": "number", **minimum, "maximum": 10**INTEGER_DIGITS, "exclusiveMaximum": True},
            {"type": "string", "pattern": pattern},
        ]
    }


@extend_schema_field(_amount({"minimum": 0, "exclusiveMinimum": True}, POSITIVE_PATTERN))
class QuantityField(serializers.Field):
    """A quantity of coins: more than 0."""


@extend_schema_field(_amount({"minimum": 0}, DECIMAL_PATTERN))
class MoneyField(serializers.Field):
    """USDT: 0 or more."""


@extend_schema_field({**DECIMAL_TEXT, "nullable": True})
class DecimalTextField(serializers.Field):
    """An exact decimal in an answer, as a string; null where it has no value."""


class TransactionBodySerializer(ClosedSerializer):
    """A transaction as POST /api/portfolio/transactions takes it (PATCH: any of these fields)."""

    side = serializers.ChoiceField(choices=Transaction.Side.values)
    symbol = serializers.CharField(max_length=20, help_text="A coin's base symbol, any case (BTC).")
    quantity = QuantityField(help_text=f"Coins moved: more than 0, at most {PLACES} decimal places.")
    price = MoneyField(
        required=False, help_text="USDT per coin. Required for a buy or a sell; a transfer's defaults to 0."
    )
    fee = MoneyField(required=False, help_text="USDT paid for it (default 0).")
    time = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601 (default now; without an offset it is UTC), between 2009-01-03 and now.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE)


class TransactionSerializer(serializers.Serializer):
    """A transaction as the API answers it."""

    id = serializers.IntegerField()
    side = serializers.ChoiceField(choices=Transaction.Side.values)
    symbol = serializers.CharField()
    quantity = DecimalTextField()
    price = DecimalTextField()
    fee = DecimalTextField()
    time = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)


class TransactionQuerySerializer(serializers.Serializer):
    symbol = serializers.CharField(
        required=False,
        max_length=20,
        trim_whitespace=False,
        help_text="Only this coin's transactions (base symbol, any case).",
    )


class PositionSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = DecimalTextField(help_text="Coins held: bought and transferred in, less sold and transferred out.")
    average_buy_price = DecimalTextField(help_text="cost_basis / quantity; null when nothing is held.")
    cost_basis = DecimalTextField(help_text="What the coins held cost, fees included (by the method).")
    price = DecimalTextField(help_text="The live price (USDT), as GET /api/coins answers it.")
    value = DecimalTextField(help_text="quantity * price.")
    unrealized_pnl = DecimalTextField(help_text="value - cost_basis.")
    realized_pnl = DecimalTextField(help_text="Σ over sells of q·p - fee - the cost sold; transfers out: - fee.")
    pnl_percent = DecimalTextField(help_text="(realized + unrealized) / invested * 100; null when nothing invested.")
    change_24h_value = DecimalTextField(help_text="quantity * (price - the price 24 hours ago).")
    allocation_percent = DecimalTextField(help_text="value / the portfolio's value * 100; null when that is 0.")


class TotalsSerializer(serializers.Serializer):
    value = DecimalTextField()
    cost_basis = DecimalTextField()
    unrealized_pnl = DecimalTextField()
    realized_pnl = DecimalTextField()
    pnl_percent = DecimalTextField()
    change_24h_value = DecimalTextField()


class PortfolioSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS)
    positions = PositionSerializer(many=True)
    totals = TotalsSerializer()


class PortfolioQuerySerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=METHODS, required=False, help_text="Cost the positions this way instead of by your setting."
    )


class MethodSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS, help_text="average (average cost) or fifo (first in, first out).")


class HistoryQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=90, help_text="Days back, today included.")


class HistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A UTC day.")
    value = DecimalTextField(help_text="Σ coins held at the day's end * the day's 1d close (today: live price).")


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="The CSV line (the header is 1); null: not a row.")
    field = serializers.CharField(help_text="A column, or header, row or file.")
    message = serializers.CharField()


class ImportRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    rows = ImportProblemSerializer(many=True)


class TransactionImportResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    transactions = TransactionSerializer(many=True)
