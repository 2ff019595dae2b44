"""Alert message templates: a fixed set of placeholders, plain substitution."""

from __future__ import annotations

from alerts.messages import DEFAULT_MESSAGE, message_render, message_unknown_placeholders


def test_unknown_placeholders_are_named_once_in_order():
    assert message_unknown_placeholders("{{symbol}} {{ foo }} {{bar}} {{foo}}") == ["foo", "bar"]


def test_attribute_lookups_are_unknown_placeholders():
    assert message_unknown_placeholders("{{ alert.user.password }}") == ["alert.user.password"]


def test_a_template_is_filled_by_plain_substitution():
    text = message_render(
        "{{symbol}} crossed {{level}} at {{ price }}", {"symbol": "BTC", "level": 101.5, "price": 102.25}
    )
    assert text == "BTC crossed 101.5 at 102.25"


def test_a_reading_the_firing_lacks_renders_empty():
    assert message_render("RSI {{rsi}}!", {}) == "RSI !"


def test_an_empty_template_takes_the_default_message():
    values = {"symbol": "ETH", "condition": "price above 3000", "timeframe": "1m", "price": 3001.0}
    assert message_render("", values) == message_render(DEFAULT_MESSAGE, values) == "ETH: price above 3000 (1m) at 3001"


def test_braces_in_values_are_not_expanded_again():
    assert message_render("{{note}}", {"note": "{{symbol}}", "symbol": "BTC"}) == "{{symbol}}"
