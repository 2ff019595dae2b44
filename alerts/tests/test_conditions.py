"""The condition contract: every kind's parameters, bounds and defaults, errors naming the field."""

from __future__ import annotations

import pytest

from alerts.conditions import (
    BAR_KINDS,
    KINDS,
    PRICE_KINDS,
    ConditionError,
    condition_clean,
    condition_words,
    is_bar_condition,
)


def errors_of(data) -> dict:
    with pytest.raises(ConditionError) as caught:
        condition_clean(data)
    return caught.value.errors


def test_a_crossing_is_kept_with_its_level_as_a_float():
    assert condition_clean({"kind": "crossing_up", "level": 101}) == {"kind": "crossing_up", "level": 101.0}


def test_rsi_defaults_its_length_to_14():
    assert condition_clean({"kind": "rsi_above", "level": 70}) == {"kind": "rsi_above", "level": 70.0, "length": 14}


def test_macd_takes_talibs_default_periods():
    assert condition_clean({"kind": "macd_cross_bullish"}) == {
        "kind": "macd_cross_bullish",
        "fast": 12,
        "slow": 26,
        "signal": 9,
    }


@pytest.mark.parametrize("kind", ["nope", None, 3, "all_ofx"])
def test_an_unknown_kind_names_the_allowed_ones(kind):
    message = errors_of({"kind": kind, "level": 1})["condition.kind"][0]
    assert "crossing_up" in message and "all_of" in message


def test_a_condition_that_is_not_an_object_is_refused():
    assert "condition" in errors_of(["crossing_up"])


@pytest.mark.parametrize("level", [None, "abc", True, 0, -5, float("nan"), float("inf"), 1e13])
def test_a_missing_non_numeric_or_non_positive_level_is_refused(level):
    assert "condition.level" in errors_of({"kind": "price_above", "level": level})


def test_a_channel_low_at_or_above_its_high_is_refused():
    assert errors_of({"kind": "entering_channel", "low": 10, "high": 10}) == {
        "condition.low": ["Must be lower than high."]
    }


@pytest.mark.parametrize("percent", [0, -1])
def test_a_move_of_zero_or_less_percent_is_refused(percent):
    assert "condition.percent" in errors_of({"kind": "moving_up", "percent": percent, "bars": 3})


@pytest.mark.parametrize("bars", [0, -2, 1.5])
def test_a_move_over_fewer_than_one_bar_is_refused(bars):
    assert "condition.bars" in errors_of({"kind": "moving_down", "percent": 2, "bars": bars})


def test_a_fast_average_not_shorter_than_the_slow_is_refused():
    assert "condition.fast" in errors_of({"kind": "ma_cross_golden", "fast": 50, "slow": 20})


def test_an_unknown_pattern_class_is_named():
    message = errors_of({"kind": "pattern_detected", "patterns": ["bull_flag", "unicorn"]})["condition.patterns"][0]
    assert "unicorn" in message and "bull_flag" in message  # bull_flag listed among the allowed


def test_unknown_parameters_are_named():
    assert "colour" in errors_of({"kind": "crossing", "level": 5, "colour": "red"})["condition"][0]


@pytest.mark.parametrize("count", [0, 1, 6])
def test_all_of_takes_two_to_five_conditions(count):
    conditions = [{"kind": "price_above", "level": 1}] * count
    assert "condition.conditions" in errors_of({"kind": "all_of", "conditions": conditions})


def test_all_of_names_the_bad_condition_inside_it():
    data = {"kind": "all_of", "conditions": [{"kind": "price_above", "level": 1}, {"kind": "rsi_above", "level": -1}]}
    assert set(errors_of(data)) == {"condition.conditions[1].level"}


def test_all_of_cannot_hold_an_all_of():
    inner = {"kind": "all_of", "conditions": [{"kind": "price_above", "level": 1}] * 2}
    data = {"kind": "all_of", "conditions": [inner, {"kind": "price_above", "level": 1}]}
    assert "inside all_of" in errors_of(data)["condition.conditions[0].kind"][0]


def test_all_of_with_a_bar_condition_is_evaluated_at_bar_closes():
    data = condition_clean(
        {"kind": "all_of", "conditions": [{"kind": "price_above", "level": 1}, {"kind": "rsi_below", "level": 30}]}
    )
    assert is_bar_condition(data)
    assert not is_bar_condition(condition_clean({"kind": "crossing", "level": 1}))


def test_every_kind_reads_in_words():
    samples = {
        "level": 70,
        "low": 1,
        "high": 2,
        "percent": 3,
        "bars": 2,
        "factor": 2,
        "fast": 5,
        "slow": 20,
        "patterns": ["double_top"],
    }
    for kind in (*PRICE_KINDS, *BAR_KINDS):
        spec = {**PRICE_KINDS, **BAR_KINDS}[kind]
        data = condition_clean({"kind": kind, **{k: samples[k] for k in spec if k in samples}})
        assert "{" not in condition_words(data)
    assert len(KINDS) == len(PRICE_KINDS) + len(BAR_KINDS) + 1


def test_a_crossing_reads_as_a_trader_says_it():
    assert condition_words(condition_clean({"kind": "crossing_up", "level": 101.5})) == "crosses up 101.5"
