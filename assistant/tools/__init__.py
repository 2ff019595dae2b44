"""The assistant's seven tools, by name: their specs for the model, and running one for the signed-in user.

Whatever a tool's services refuse (ApplicationError, a 404, a model's ValidationError) comes back as a
ToolError the model can read and correct, never as an exception that ends the chat."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404

from assistant.tools.add_to_watchlist import AddToWatchlist
from assistant.tools.analyze_pattern import AnalyzePattern
from assistant.tools.arguments import texts_check
from assistant.tools.base import Tool, ToolError, ToolOutcome
from assistant.tools.create_alert import CreateAlert, refused_words
from assistant.tools.export_results import ExportResults
from assistant.tools.filter_coins import FilterCoins
from assistant.tools.get_coin_analysis import GetCoinAnalysis
from assistant.tools.get_portfolio import GetPortfolio
from providers.adapters.base import ToolSpec
from scalpaiboard.api import ApplicationError

__all__ = ["TOOLS", "Tool", "ToolError", "ToolOutcome", "tool_run", "tool_specs"]

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        FilterCoins(),
        GetCoinAnalysis(),
        CreateAlert(),
        AddToWatchlist(),
        AnalyzePattern(),
        ExportResults(),
        GetPortfolio(),
    )
}


def tool_specs() -> list[ToolSpec]:
    """Every tool as the model sees it: name, description, JSON-schema arguments."""
    return [ToolSpec(name=t.name, description=t.description, parameters=t.parameters) for t in TOOLS.values()]


def tool_run(*, user, name: str, arguments: dict) -> ToolOutcome:
    """Run tool ``name`` for ``user``; raises ToolError for an unknown tool or arguments it refuses."""
    tool = TOOLS.get(name) if isinstance(name, str) else None
    if tool is None:
        raise ToolError(f"Unknown tool {str(name)[:40]!r}; the tools are: {', '.join(TOOLS)}.")
    texts_check(arguments)
    try:
        return tool.run(user=user, arguments=arguments)
    except ApplicationError as refused:
        raise ToolError(refused_words(refused)) from None
    except Http404 as missing:
        raise ToolError(str(missing) or "Not found among your data.") from None
    except ValidationError as invalid:
        raise ToolError("; ".join(invalid.messages)) from None
