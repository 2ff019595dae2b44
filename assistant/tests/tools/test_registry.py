"""The registry: the seven tools' specs as the model sees them, running a tool by name, and malformed
arguments of every tool refused as a ToolError naming the argument (never another exception)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from alerts.models import Alert
from assistant.models import Export
from assistant.tools import TOOLS, ToolError, tool_run, tool_specs
from assistant.tools.schemas import SCHEMAS
from providers.adapters.base import ToolSpec
from scalpaiboard.api import ApplicationError


def test_specs_are_the_seven_tools_with_their_schemas():
    specs = tool_specs()
    assert [spec.name for spec in specs] == list(SCHEMAS)
    assert all(isinstance(spec, ToolSpec) and spec.description for spec in specs)
    assert {spec.name: spec.parameters for spec in specs} == SCHEMAS
    assert {name for name, tool in TOOLS.items() if tool.mutates} == {"create_alert", "add_to_watchlist"}


def test_an_unknown_tool_is_a_tool_error_listing_the_tools(user):
    with pytest.raises(ToolError) as refused:
        tool_run(user=user, name="delete_everything", arguments={})
    assert "filter_coins" in refused.value.message and "get_portfolio" in refused.value.message


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("arguments", [None, [], "symbol=BTC", 3])
def test_arguments_that_are_not_an_object_are_refused(user, name, arguments):
    with pytest.raises(ToolError, match="arguments"):
        tool_run(user=user, name=name, arguments=arguments)


BAD = [
    ("filter_coins", {"rsi_below": "thirty"}, "rsi_below"),
    ("filter_coins", {"rsi_below": 130}, "rsi_below"),
    ("filter_coins", {"rsi_below": float("nan")}, "rsi_below"),
    ("filter_coins", {"min_volume": 10**400}, "min_volume"),
    ("filter_coins", {"min_change": float("inf")}, "min_change"),
    ("filter_coins", {"max_price": -1}, "max_price"),
    ("filter_coins", {"limit": 51}, "limit"),
    ("filter_coins", {"limit": 2.5}, "limit"),
    ("filter_coins", {"limit": True}, "limit"),
    ("filter_coins", {"timeframe": "2h"}, "timeframe"),
    ("filter_coins", {"pattern": "cup_and_handle"}, "pattern"),
    ("filter_coins", {"pattern": "double\x00bottom"}, "pattern"),
    ("filter_coins", {"rsi_above": 70, "rsi_below": 30}, "rsi_above"),
    ("filter_coins", {"rsi_above": 30, "rsi_below": 30}, "rsi_above"),
    ("filter_coins", {"min_price": 10, "max_price": 1}, "min_price"),
    ("filter_coins", {"watchlist": "Nope"}, "watchlist"),
    ("filter_coins", {"watchlist": "x" * 10_000}, "watchlist"),
    ("filter_coins", {"sort": "rank"}, "sort"),
    ("get_coin_analysis", {}, "symbol"),
    ("get_coin_analysis", {"symbol": ["BTC"]}, "symbol"),
    ("get_coin_analysis", {"symbol": "BTC\x00"}, "symbol"),
    ("get_coin_analysis", {"symbol": "DOGECOIN"}, "symbol"),
    ("get_coin_analysis", {"symbol": "BTC", "timeframe": 60}, "timeframe"),
    ("get_coin_analysis", {"symbol": "BTC", "bars": 500}, "bars"),
    ("analyze_pattern", {"symbol": "BTC", "min_confidence": 2}, "min_confidence"),
    ("analyze_pattern", {"symbol": "  "}, "symbol"),
    ("add_to_watchlist", {"symbol": "NOPE"}, "symbol"),
    ("add_to_watchlist", {"symbol": None}, "symbol"),
    ("add_to_watchlist", {"symbol": "BTC", "watchlist": 3}, "watchlist"),
    ("add_to_watchlist", {"symbol": "BTC", "watchlist": "Nope"}, "watchlist"),
    ("add_to_watchlist", {"symbol": "BTC", "note": "hi"}, "note"),
    ("get_portfolio", {"method": "lifo"}, "method"),
    ("get_portfolio", {"user": 2}, "user"),
    ("get_portfolio", {"me\x00thod": 2}, "me\\x00thod"),
    ("export_results", {"what": ["alerts"]}, "what"),
]


@pytest.mark.parametrize(("name", "arguments", "named"), BAD)
def test_malformed_arguments_are_a_tool_error_naming_the_argument(user, coins, name, arguments, named):
    with pytest.raises(ToolError) as refused:
        tool_run(user=user, name=name, arguments=arguments)
    message = refused.value.message
    assert message.startswith(f"{named}:"), message
    assert "\x00" not in message and len(message) < 600
    message.encode()


def test_every_result_and_undo_is_strict_json(user, market):
    calls = [
        ("filter_coins", {"min_confidence": 0}),
        ("get_coin_analysis", {"symbol": "BTC"}),
        ("get_coin_analysis", {"symbol": "PEPE", "timeframe": "1d"}),
        ("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100000}}),
        ("add_to_watchlist", {"symbol": "ETH"}),
        ("analyze_pattern", {"symbol": "BTC", "min_confidence": 0}),
        ("export_results", {"what": "portfolio"}),
        ("get_portfolio", {}),
    ]
    for name, arguments in calls:
        outcome = tool_run(user=user, name=name, arguments=arguments)
        text = json.dumps({"result": outcome.result, "links": outcome.links, "undo": outcome.undo}, allow_nan=False)
        assert len(text) < 20_000, name
        assert all(set(link) == {"label", "url"} and link["url"].startswith("/") for link in outcome.links)
        assert (outcome.undo is not None) == TOOLS[name].mutates


def test_the_screen_takes_a_fixed_number_of_queries(user, market, django_assert_max_num_queries):
    tool_run(user=user, name="filter_coins", arguments={})  # the analyses cached
    with django_assert_max_num_queries(4):  # coins, the user's lists, the list's items, its reference closes
        tool_run(user=user, name="filter_coins", arguments={"watchlist": "Watchlist", "max_price": 1})


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 1}, "note": "\ud800"}, "note"),
        ("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing\x00up", "level": 1}}, "condition.kind"),
        ("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing_up", "le\ud800vel": 1}}, "condition.le"),
        ("export_results", {"what": "results", "rows": [{"a": ["x", "\ud83d"]}]}, "rows[0].a[1]"),
        ("add_to_watchlist", {"symbol": "BTC", "watchlist": "\udc00"}, "watchlist"),
    ],
)
def test_nul_and_lone_surrogates_anywhere_are_refused_with_their_path(user, coins, name, arguments, named):
    with pytest.raises(ToolError) as refused:
        tool_run(user=user, name=name, arguments=arguments)
    assert refused.value.message.startswith(named), refused.value.message
    refused.value.message.encode()  # the message itself is valid text, to store and send to the model
    assert not Alert.objects.exists() and not Export.objects.exists()


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (Http404("You have no watchlist 9."), "You have no watchlist 9."),
        (ValidationError("Ensure this value is at most 5."), "Ensure this value is at most 5."),
        (ApplicationError("Bad.", extra={"symbol": ["Unknown coin."]}), "symbol: Unknown coin."),
    ],
)
def test_a_services_refusal_comes_back_as_a_tool_error(user, monkeypatch, raised, said):
    def refuse(*, user, arguments):
        raise raised

    monkeypatch.setattr(TOOLS["get_portfolio"], "run", refuse)
    with pytest.raises(ToolError) as refused:
        tool_run(user=user, name="get_portfolio", arguments={})
    assert refused.value.message == said
