"""Positions and profit and loss, replayed from transactions in time order, per coin. Pure maths on
``Decimal`` (no ORM, no float), by two methods:

Average cost (what CoinMarketCap and most trackers use):
- buy q at p with fee f: cost += q·p + f; quantity += q; average buy price = cost / quantity;
- sell q at p with fee f: realized += q·(p - average) - f; cost -= q·average; quantity -= q;
- transfer in: like a buy (cost grows by q·p + f; p is 0 when none was given);
- transfer out: like a sell without P&L on the price: cost -= q·average; quantity -= q; its fee, money
  spent, is a realized loss (realized -= f).

FIFO (first in, first out): each buy or transfer in is a lot (its quantity, its cost q·p + f); a sell or
transfer out takes from the oldest lots first, and the cost it removes is those lots' cost for the part
taken (lot cost * taken / lot quantity). Realized P&L of a sell = q·p - f - the cost removed.

Invested is everything that ever went into cost (q·p + f of every buy and transfer in); P&L % is
(realized + unrealized) / invested * 100. Figures are computed at 100 significant digits (products of
the stored 38-digit numbers are exact) and rounded only when shown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext
from typing import NamedTuple

AVERAGE, FIFO = "average", "fifo"
METHODS = (AVERAGE, FIFO)
INCOMING, OUTGOING = ("buy", "transfer_in"), ("sell", "transfer_out")
ZERO = Decimal(0)
EXACT = Context(prec=100)


class Move(NamedTuple):
    """One transaction as the maths needs it; ``key`` tells which transaction it is (an id, a line)."""

    side: str
    quantity: Decimal
    price: Decimal = ZERO
    fee: Decimal = ZERO
    key: object = None


@dataclass(slots=True)
class Position:
    """One coin's holding after replaying its moves: quantity, cost of what is held, realized P&L and
    everything ever invested. ``lots`` are the FIFO method's open lots ([quantity, cost], oldest first)."""

    method: str = AVERAGE
    quantity: Decimal = ZERO
    cost: Decimal = ZERO
    realized: Decimal = ZERO
    invested: Decimal = ZERO
    lots: deque = field(default_factory=deque)

    @property
    def average_price(self) -> Decimal | None:
        """Cost of what is held per coin held; None when nothing is held."""
        with localcontext(EXACT):
            return self.cost / self.quantity if self.quantity else None


class Oversold(Exception):
    """A sell or transfer out of more than was held at its time."""

    def __init__(self, move: Move, held: Decimal):
        super().__init__(f"{move.side} of {move.quantity} while {held} held")
        self.move, self.held = move, held


def position_apply(position: Position, move: Move) -> None:
    """Apply one move to ``position`` (in place); raises Oversold when it takes more than is held."""
    with localcontext(EXACT):
        _apply(position, move)


def _apply(position: Position, move: Move) -> None:
    """position_apply, in the caller's EXACT context."""
    if move.side in INCOMING:
        _take_in(position, move)
    elif move.quantity > position.quantity:
        raise Oversold(move, position.quantity)
    else:
        _take_out(position, move)


def positions_replay(rows: Iterable[tuple], *, method: str = AVERAGE, clamp: bool = False) -> dict:
    """Each key's position after its moves, from (key, side, quantity, price, fee) rows in time order
    (the keys' moves interleaved as they come): one context for them all. Raises Oversold; with
    ``clamp`` a move taking more than is held takes what is held instead (for reads: the services
    refuse such moves, but a database edited behind them must not stop the portfolio from showing)."""
    positions: dict = {}
    with localcontext(EXACT):
        for key, side, quantity, price, fee in rows:
            position = positions.get(key)
            if position is None:
                position = positions[key] = Position(method=method)
            if clamp and side in OUTGOING and quantity > position.quantity:
                quantity = position.quantity
            _apply(position, Move(side, quantity, price, fee))
    return positions


def _take_in(position: Position, move: Move) -> None:
    cost = move.quantity * move.price + move.fee
    position.quantity += move.quantity
    position.cost += cost
    position.invested += cost
    if position.method == FIFO:
        position.lots.append([move.quantity, cost])


def _take_out(position: Position, move: Move) -> None:
    removed = _fifo_remove(position.lots, move.quantity) if position.method == FIFO else _average_remove(position, move)
    if move.side == "sell":
        position.realized += move.quantity * move.price - removed
    position.realized -= move.fee
    position.quantity -= move.quantity
    position.cost = position.cost - removed if position.quantity else ZERO


def _average_remove(position: Position, move: Move) -> Decimal:
    """Cost of ``move.quantity`` at the average buy price (cost * q / quantity: one rounding, none when
    everything goes)."""
    if move.quantity == position.quantity:
        return position.cost
    return position.cost * move.quantity / position.quantity


def _fifo_remove(lots: deque, quantity: Decimal) -> Decimal:
    """Take ``quantity`` from the oldest lots; the cost taken with it."""
    removed = ZERO
    while quantity and lots:
        lot = lots[0]
        taken = min(quantity, lot[0])
        part = lot[1] if taken == lot[0] else lot[1] * taken / lot[0]
        lot[0] -= taken
        lot[1] -= part
        removed += part
        quantity -= taken
        if not lot[0]:
            lots.popleft()
    return removed


def position_replay(moves: Iterable[Move], *, method: str = AVERAGE) -> Position:
    """The position after ``moves``, which must be in time order; raises Oversold."""
    position = Position(method=method)
    with localcontext(EXACT):
        for move in moves:
            _apply(position, move)
    return position


def oversold_find(moves: Iterable[Move]) -> Oversold | None:
    """The first move that takes more than is held then, or None (quantities only: both methods agree)."""
    held = ZERO
    with localcontext(EXACT):
        for move in moves:
            if move.side in INCOMING:
                held += move.quantity
            elif move.quantity > held:
                return Oversold(move, held)
            else:
                held -= move.quantity
    return None


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole * 100, or None when whole is 0."""
    with localcontext(EXACT):
        return part * 100 / whole if whole else None


def decimal_text(value: Decimal | None, places: int = 18) -> str | None:
    """A figure as the API shows it: rounded half-even to ``places`` decimals, without trailing zeros."""
    if value is None:
        return None
    with localcontext(EXACT):
        rounded = value.quantize(Decimal(1).scaleb(-places)).normalize()
    return format(rounded if rounded else ZERO, "f")
