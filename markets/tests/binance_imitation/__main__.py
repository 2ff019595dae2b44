"""Serve the Binance imitation on its own: ``python -m markets.tests.binance_imitation --help``.

The benchmarks run it in a process of its own, so that it does not compete with the client it
serves for the interpreter. It prints ``listening <port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse

from markets.tests.binance_imitation import BinanceImitation, ImitatedSymbol, seed_symbols
from tests.local_server import serve_from_command_line


def symbols(count: int) -> list[ImitatedSymbol]:
    """The seed file's coins first, then made-up ones (C0131, C0132, ...) with smaller volumes."""
    known = seed_symbols(count)
    made_up = [ImitatedSymbol(f"C{i:04d}", 1.0 + i % 97, 2e6 + 1e3 * (count - i)) for i in range(len(known), count)]
    return known + made_up


def imitation(options: argparse.Namespace) -> BinanceImitation:
    """The Binance imitation the options describe."""
    return BinanceImitation(
        symbols(options.symbols),
        speed=options.speed,
        history_days=options.history_days,
        history_minutes=options.history_minutes,
        weight_limit=options.weight_limit,
        weight_interval=options.weight_interval,
        kline_push_interval=options.kline_push_interval,
        ticker_interval=options.ticker_interval,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=150, help="USDT pairs listed")
    parser.add_argument("--speed", type=float, default=1.0, help="exchange seconds per wall second")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--history-minutes", type=int, default=None, help="a recent listing: this much history")
    parser.add_argument("--weight-limit", type=int, default=6000)
    parser.add_argument("--weight-interval", default="1M", help="e.g. 1M (Binance's), 10S")
    parser.add_argument("--kline-push-interval", type=float, default=2.0, help="seconds (Binance: 2)")
    parser.add_argument("--ticker-interval", type=float, default=1.0, help="seconds (Binance: 1)")
    serve_from_command_line(parser, imitation)


if __name__ == "__main__":
    main()
