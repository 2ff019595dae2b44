"""Which coins a request names: listed symbols in any case ("sol", "$SOL", "SOLUSDT") and coin names
("bitcoin", "Shiba Inu", "ether"), read against the Coin table.

Lower-case words that are also English ("one", "near", "me") count as coins only when written in
capitals, so that "add one more" names no coin while "add ONE" does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache

NAMES_KEY = "assistant:builtin:coin-names"
NAMES_TIMEOUT = 60  # seconds, as markets.selectors.coin_symbols caches the symbols

# Names people use that are not the Coin table's: applied only when the symbol is listed.
ALIASES = {
    "ether": "ETH",
    "xbt": "BTC",
    "ripple": "XRP",
    "polkadot": "DOT",
    "avalanche": "AVAX",
    "chainlink": "LINK",
    "doge": "DOGE",
    "shib": "SHIB",
}
# Words of requests (and of the market) that some coin may also be called.
_COMMON = """a ai all alert alerts an and any are as at be best big buy by can coin coins csv day do down for from get
    go has have high hot how i if in is it its json just key last let list low me max min more my near new no
    not now of ok on one or our out over own pnl price pump rsi macd sell show so some the them then these
    this those time to today top up us usd usdt we what when which who will win with you your"""
COMMON_WORDS = frozenset(_COMMON.split())
SUFFIXES = ("USDT", "USDC", "PERP", "USD")
TOKEN_RE = re.compile(r"\$?[A-Za-z0-9]+")


@dataclass(frozen=True)
class Vocabulary:
    """The listed coins: ``symbols`` and lower-case ``names`` (coin names and aliases) → symbol."""

    symbols: frozenset[str]
    names: tuple[tuple[str, str], ...] = ()

    def symbols_in(self, text: str) -> list[str]:
        """The coins ``text`` names, in the order it names them, each once."""
        found: list[tuple[int, str]] = []
        for token in TOKEN_RE.finditer(text):
            symbol = self._symbol(token.group().lstrip("$"), dollar=token.group().startswith("$"))
            if symbol:
                found.append((token.start(), symbol))
        pattern = _names_pattern(self.names)
        if pattern is not None:
            lookup = dict(self.names)
            found += [(m.start(), lookup[m.group(1).lower()]) for m in pattern.finditer(text)]
        return list(dict.fromkeys(symbol for _, symbol in sorted(found)))

    def _symbol(self, token: str, *, dollar: bool) -> str | None:
        upper = token.upper()
        if upper not in self.symbols:
            stem = next((upper[: -len(s)] for s in SUFFIXES if upper.endswith(s) and len(upper) > len(s)), None)
            if stem not in self.symbols:
                return None
            upper = stem
        if dollar or (token.isupper() and token not in {"I", "A"}):
            return upper
        return upper if token.lower() not in COMMON_WORDS and len(token) > 1 else None


@lru_cache(maxsize=8)
def _names_pattern(names: tuple[tuple[str, str], ...]) -> re.Pattern | None:
    """One regular expression for every name, longest first ("shiba inu" before "shiba")."""
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name, _ in sorted(names, key=lambda n: -len(n[0])))
    return re.compile(rf"\b({alternatives})s?\b", re.IGNORECASE)


def vocabulary_load() -> Vocabulary:
    """The listed coins' symbols (``markets.selectors.coin_symbols``) and names, cached for a minute."""
    from markets.models import Coin
    from markets.selectors import coin_symbols

    symbols = coin_symbols()
    names = cache.get(NAMES_KEY)
    if names is None:
        rows = Coin.objects.filter(is_active=True).values_list("name", "symbol")
        names = tuple(sorted({(name.lower(), symbol) for name, symbol in rows if name}))
        cache.set(NAMES_KEY, names, timeout=NAMES_TIMEOUT)
    return vocabulary_of(symbols=symbols, names=dict(names))


def vocabulary_of(*, symbols, names: dict[str, str] | None = None) -> Vocabulary:
    """A vocabulary from symbols and {name: symbol}, with the aliases of listed coins added."""
    symbols = frozenset(s.upper() for s in symbols)
    merged = {alias: symbol for alias, symbol in ALIASES.items() if symbol in symbols}
    for name, symbol in (names or {}).items():
        if symbol.upper() in symbols and name.lower() not in COMMON_WORDS:
            merged[name.lower()] = symbol.upper()
    return Vocabulary(symbols=symbols, names=tuple(sorted(merged.items())))
