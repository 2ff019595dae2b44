"""The built-in assistant's reading of amounts, timeframes, quotes, clauses and coin names (no database)."""

from __future__ import annotations

import pytest

from assistant.builtin.text import clauses, number, quoted, timeframe, words
from assistant.builtin.vocabulary import vocabulary_of


@pytest.mark.parametrize(
    ("written", "value"),
    [("$1", 1), ("0.5", 0.5), ("100,000", 100000), ("10M", 10_000_000), ("2.5 bn", 2_500_000_000), ("100k", 100000)],
)
def test_amounts_read_with_their_size(written, value):
    assert number(written) == value


@pytest.mark.parametrize(
    ("written", "frame"),
    [("on the 4h", "4h"), ("15 min chart", "15m"), ("daily", "1d"), ("1-hour", "1h"), ("1 day", "1d"), ("today", None)],
)
def test_timeframes_read_in_their_usual_spellings(written, frame):
    assert timeframe(written) == frame


def test_a_quote_is_a_name_but_an_apostrophe_is_not():
    assert quoted("add SOL to my 'alts' watchlist") == ("alts", "add SOL to my   watchlist")
    assert quoted("what's BTC's price")[0] is None


def test_a_request_splits_at_sentence_ends_and_before_command_verbs_only():
    request = "which coins under $0.5 are oversold? watch them and tell me when RSI crosses 50"

    assert clauses(request) == ["which coins under $0.5 are oversold", "watch them", "tell me when RSI crosses 50"]
    assert clauses("add SOL and AVAX to my watchlist") == ["add SOL and AVAX to my watchlist"]


def test_words_join_back_to_the_text():
    text = "| a | b |\n\n**Found** 3 coins:  DOGE"

    assert "".join(words(text)) == text and len(words(text)) == 9


def test_coins_are_found_by_symbol_name_alias_and_pair_in_order():
    vocabulary = vocabulary_of(symbols=["BTC", "ETH", "SHIB", "NEAR"], names={"Shiba Inu": "SHIB", "Bitcoin": "BTC"})

    assert vocabulary.symbols_in("ether, $btc, shiba inu and BTCUSDT") == ["ETH", "BTC", "SHIB"]
    assert vocabulary.symbols_in("near support, then NEAR") == ["NEAR"]
