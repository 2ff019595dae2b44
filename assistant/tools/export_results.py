"""``export_results``: CSV or JSON of a result set (``rows`` the model passes back, e.g. a screen's) or of the
user's alerts, one of the user's watchlists or the portfolio, stored as an ``Export`` that only the user can
download (assistant/exports.py), for EXPIRY_HOURS.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
are prefixed with ``'``: the rows may hold text from anywhere (coin names, notes, the model's own rows)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from alerts.selectors import iso_ms
from alerts.services import alerts_export
from assistant.models import Export
from assistant.tools.arguments import ReadOnly, arguments_check, texts_check, watchlist_named
from assistant.tools.base import ToolError, ToolOutcome
from assistant.tools.schemas import EXPORT_RESULTS
from watchlists.portfolio_selectors import portfolio_summary
from watchlists.selectors import watchlist_items

EXPIRY_HOURS = 24
MAX_BYTES = 2_000_000  # an export's body: a spreadsheet's worth, not a way to store anything
MAX_COLUMNS = 100
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


class ExportResults(ReadOnly):
    # Read-only as far as the user's data goes: the export it stores is a file for the user, not an edit.
    name = "export_results"
    description = (
        "Export as a CSV or JSON file the user can download (a link valid for 24 hours): what=results with "
        "rows (a list of objects, e.g. filter_coins' rows), what=alerts (the user's alerts), what=watchlist "
        "(a watchlist by its name, the default one without), what=portfolio (holdings with P&L)."
    )
    parameters = EXPORT_RESULTS

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        args = arguments_check(arguments, EXPORT_RESULTS)
        what, kind = args["what"], args.get("format", "csv")
        if "rows" in args and what != "results":
            raise ToolError(f"rows: only with what=results (what={what} exports your stored {what}).")
        if "watchlist" in args and what != "watchlist":
            raise ToolError(f"watchlist: only with what=watchlist (what={what}).")
        label, rows = _rows(user=user, what=what, args=args)
        body = _csv(rows) if kind == "csv" else json.dumps(rows, ensure_ascii=False, indent=1, default=str)
        if len(body.encode()) > MAX_BYTES:
            raise ToolError(f"rows: the export would be over {MAX_BYTES // 1_000_000} MB; export fewer rows.")
        export = _stored(user=user, name=f"{label}.{kind}", content_type=CONTENT_TYPES[kind], body=body)
        url = reverse("assistant_exports:download", args=[export.token])
        result = {
            "what": what,
            "format": kind,
            "rows": len(rows),
            "filename": export.filename,
            "url": url,
            "expires_at": iso_ms(export.expires_at),
        }
        return ToolOutcome(result=result, links=[{"label": export.filename, "url": url}])


def _rows(*, user, what: str, args: dict) -> tuple[str, list[dict]]:
    """(file name without extension, the rows) of what is exported; only the user's own data."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if what == "alerts":
        return f"alerts-{stamp}", alerts_export(user=user)
    if what == "watchlist":
        watchlist = watchlist_named(user=user, name=args.get("watchlist"))
        rows = [{**item, "added_at": iso_ms(item["added_at"])} for item in watchlist_items(watchlist=watchlist)]
        return f"watchlist-{watchlist.pk}-{stamp}", rows
    if what == "portfolio":
        return f"portfolio-{stamp}", portfolio_summary(user=user)["positions"]
    if "rows" not in args:
        raise ToolError("rows: required with what=results (a list of objects, e.g. filter_coins' rows).")
    _rows_check(args["rows"])
    return f"results-{stamp}", args["rows"]


def _rows_check(rows: list) -> None:
    """No NUL or lone surrogate anywhere (PostgreSQL refuses them in text); at most MAX_COLUMNS columns."""
    columns = {key for row in rows for key in row}
    if len(columns) > MAX_COLUMNS:
        raise ToolError(f"rows: at most {MAX_COLUMNS} distinct keys (columns); {len(columns)} given.")
    texts_check(rows, path="rows")


def _csv(rows: list[dict]) -> str:
    """The rows under a header of every key, in order of first appearance; nested values as JSON."""
    header = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(row.get(name)) for name in header])
    return out.getvalue()


def csv_cell(value) -> str:
    """A value as a CSV cell a spreadsheet shows and never runs: formula-like text prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _stored(*, user, name: str, content_type: str, body: str) -> Export:
    """The export, kept EXPIRY_HOURS; the user's expired ones deleted on the way."""
    now = timezone.now()
    Export.objects.filter(Q(user=user) & Q(expires_at__lte=now)).delete()
    return Export.objects.create(
        user=user, filename=name, content_type=content_type, body=body, expires_at=now + timedelta(hours=EXPIRY_HOURS)
    )
