"""An exact decimal column on every database: PostgreSQL's ``numeric``; on SQLite, decimal text.

SQLite gives a ``decimal`` column NUMERIC affinity, so it keeps a value as a float (15 significant
digits) and Django reads it back through that float: 1234567.123456789012345678 comes back as
1234567.12345679. Portfolio quantities (18 decimals, wei) and prices must survive exactly, so on
SQLite this field stores the decimal's text and reads it back as the same Decimal.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class ExactDecimalField(models.DecimalField):
    """A DecimalField stored exactly: ``numeric(max_digits, decimal_places)`` on PostgreSQL, text on
    SQLite. On SQLite, compare and order these in Python, not in SQL (text orders as text)."""

    def get_internal_type(self) -> str:
        # Not "DecimalField": SQLite's backend would read the column through a float.
        return "ExactDecimalField"

    def db_type(self, connection) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "sqlite" and isinstance(value, Decimal):
            return format(value.normalize(), "f")  # canonical text, so that 0 is "0" (check constraints)
        return value

    def get_db_converters(self, connection) -> list:
        # PostgreSQL's driver gives Decimals already: no per-value call (10,000 rows: tens of ms).
        return super().get_db_converters(connection) if connection.vendor == "sqlite" else []

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return Decimal(value if not isinstance(value, float) else repr(value))
        return value
