"""The P&L maths (watchlists.portfolio) on sequences worked by hand: every expected figure below was
computed on paper from the issue's formulas, step by step in the comments, not by the code under test."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from watchlists.portfolio import FIFO, Move, Oversold, oversold_find, percent, position_replay

# The sequence worked below: two buys at different prices with fees, a partial sell, a transfer in,
# a transfer out with a fee, then a sell of everything.
BUY_2_AT_100 = Move("buy", D(2), D(100), D(2))  # cost 2*100 + 2 = 202
BUY_3_AT_120 = Move("buy", D(3), D(120), D(3))  # cost 3*120 + 3 = 363
SELL_1_AT_150 = Move("sell", D(1), D(150), D("1.5"))
TRANSFER_IN_1_AT_130 = Move("transfer_in", D(1), D(130))
TRANSFER_OUT_HALF = Move("transfer_out", D("0.5"), D(0), D("0.25"))
SELL_ALL_AT_110 = Move("sell", D("4.5"), D(110), D(2))
OPENING = [BUY_2_AT_100, BUY_3_AT_120, SELL_1_AT_150, TRANSFER_IN_1_AT_130]
EVERYTHING = [*OPENING, TRANSFER_OUT_HALF, SELL_ALL_AT_110]


def test_average_cost_of_two_buys_includes_their_fees():
    # cost 202 + 363 = 565 for 5 coins: average 113.
    position = position_replay([BUY_2_AT_100, BUY_3_AT_120])
    assert (position.quantity, position.cost, position.average_price) == (D(5), D(565), D(113))
    assert position.realized == 0 and position.invested == D(565)


def test_average_cost_partial_sell_realizes_against_the_average():
    # realized = 1*(150 - 113) - 1.5 = 35.5; cost = 565 - 1*113 = 452 for 4 coins (average stays 113).
    position = position_replay([BUY_2_AT_100, BUY_3_AT_120, SELL_1_AT_150])
    assert (position.quantity, position.cost, position.realized) == (D(4), D(452), D("35.5"))
    assert position.average_price == D(113)


def test_average_cost_transfer_in_adds_at_its_price():
    # cost 452 + 1*130 = 582 for 5 coins: average 116.4; invested 565 + 130 = 695.
    position = position_replay(OPENING)
    assert (position.quantity, position.cost, position.average_price) == (D(5), D(582), D("116.4"))
    assert (position.realized, position.invested) == (D("35.5"), D(695))


def test_average_cost_transfer_out_takes_cost_without_pnl_but_its_fee():
    # cost 582 - 0.5*116.4 = 523.8 for 4.5 coins; realized 35.5 - 0.25 (the fee) = 35.25.
    position = position_replay([*OPENING, TRANSFER_OUT_HALF])
    assert (position.quantity, position.cost, position.realized) == (D("4.5"), D("523.8"), D("35.25"))
    assert position.average_price == D("116.4")


def test_average_cost_sell_of_everything_closes_the_position():
    # realized 35.25 + 4.5*(110 - 116.4) - 2 = 35.25 - 28.8 - 2 = 4.45; nothing held, nothing costed.
    position = position_replay(EVERYTHING)
    assert (position.quantity, position.cost, position.realized) == (D(0), D(0), D("4.45"))
    assert position.average_price is None


def test_fifo_partial_sell_takes_the_oldest_lot():
    # Lots [2 for 202], [3 for 363]. Selling 1 takes half the first lot: its cost 202*1/2 = 101.
    # realized = 150 - 1.5 - 101 = 47.5; cost 565 - 101 = 464 for 4 coins.
    position = position_replay([BUY_2_AT_100, BUY_3_AT_120, SELL_1_AT_150], method=FIFO)
    assert (position.quantity, position.cost, position.realized) == (D(4), D(464), D("47.5"))
    assert position.average_price == D(116)


def test_fifo_transfer_out_takes_from_the_oldest_lot():
    # After the transfer in: lots [1 for 101], [3 for 363], [1 for 130] (cost 594). Transferring 0.5 out
    # takes half the first lot (50.5): cost 543.5 for 4.5 coins; realized 47.5 - 0.25 = 47.25.
    position = position_replay([*OPENING, TRANSFER_OUT_HALF], method=FIFO)
    assert (position.quantity, position.cost, position.realized) == (D("4.5"), D("543.5"), D("47.25"))
    assert [lot[0] for lot in position.lots] == [D("0.5"), D(3), D(1)]


def test_fifo_sell_of_everything_closes_the_position():
    # Selling the 4.5 left takes all lots (cost 543.5): realized 47.25 + 4.5*110 - 2 - 543.5 = -3.25.
    position = position_replay(EVERYTHING, method=FIFO)
    assert (position.quantity, position.cost, position.realized) == (D(0), D(0), D("-3.25"))


def test_methods_differ_only_by_the_cost_transferred_out():
    # Both realize the same cash; they differ by the cost each took out with the transfer:
    # average 0.5*116.4 = 58.2, FIFO 50.5; 4.45 - (-3.25) = 7.7 = 58.2 - 50.5.
    assert position_replay(EVERYTHING).realized - position_replay(EVERYTHING, method=FIFO).realized == D("7.7")


def test_thirds_are_carried_exactly_to_a_sell_of_everything():
    # Buy 1 at 1 and 2 at 2: cost 5 for 3, average 5/3. Sell 1 at 2, then 2 at 2: cash 6, cost 5, so the
    # realized P&L is exactly 1 and no cost is left over, though 5/3 has no finite decimal.
    moves = [Move("buy", D(1), D(1)), Move("buy", D(2), D(2)), Move("sell", D(1), D(2)), Move("sell", D(2), D(2))]
    for method in ("average", FIFO):
        position = position_replay(moves, method=method)
        assert (position.realized, position.cost, position.quantity) == (D(1), D(0), D(0))


def test_realistic_decimals_are_exact():
    # 0.123456789 BTC at 97123.45678901 costs 11990.55011175142508889 (9 + 8 decimals: 17, no rounding).
    position = position_replay([Move("buy", D("0.123456789"), D("97123.45678901"))])
    assert position.cost == D("11990.55011175142508889")


def test_selling_more_than_held_is_oversold():
    with pytest.raises(Oversold) as refused:
        position_replay([BUY_2_AT_100, Move("sell", D("2.000000000000000001"), D(100))])
    assert refused.value.held == D(2)


def test_oversold_find_names_the_first_move_taking_more_than_held():
    late = Move("sell", D(3), D(1), key="late")
    moves = [BUY_2_AT_100, Move("sell", D(2), D(1)), Move("buy", D(1), D(1)), late]
    found = oversold_find(moves)
    assert found.move.key == "late" and found.held == D(1)
    assert oversold_find(EVERYTHING) is None


def test_pnl_percent_of_the_open_position():
    # OPENING at a price of 140: value 5*140 = 700, unrealized 700 - 582 = 118, realized 35.5;
    # (118 + 35.5) / 695 * 100 = 22.0863309352517985611510791366906474820143884892086330935251798561151079...
    position = position_replay(OPENING)
    pnl = D(700) - position.cost + position.realized
    assert pnl == D("153.5")
    assert str(percent(pnl, position.invested))[:22] == "22.0863309352517985611"
    assert percent(D(1), D(0)) is None
