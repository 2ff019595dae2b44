"""The star on coin rows and coin pages: which of the user's lists hold each coin, read once per table
(two queries, however many rows), for ``watchlists/_star.html``."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template

from watchlists.selectors import starred_symbols, watchlists_list

register = template.Library()


@dataclass
class Stars:
    """The user's lists (id, name) and, per starred symbol, the ids of the lists holding it."""

    lists: list[tuple[int, str]] = field(default_factory=list)
    starred: dict[str, list[int]] = field(default_factory=dict)

    def lists_for(self, symbol: str) -> list[tuple[int, str, bool]]:
        """Each list with whether it holds ``symbol``."""
        holding = self.starred.get(symbol, [])
        return [(pk, name, pk in holding) for pk, name in self.lists]

    def only_list(self) -> int | None:
        """The id of the user's one list; None when there are several (a menu asks which)."""
        return self.lists[0][0] if len(self.lists) == 1 else None


def stars_for(user) -> Stars | None:
    """The stars of ``user``'s coins; None for a visitor who has not logged in."""
    if not user.is_authenticated:
        return None
    lists = list(watchlists_list(user=user).values_list("id", "name"))
    return Stars(lists=lists, starred=starred_symbols(user=user))


@register.simple_tag(takes_context=True)
def watchlist_stars(context) -> Stars | None:
    """``{% watchlist_stars as stars %}``: the stars of the user viewing the page."""
    return stars_for(context["request"].user)


@register.filter
def lists_for(stars: Stars, symbol: str) -> list[tuple[int, str, bool]]:
    return stars.lists_for(symbol)


@register.filter
def starred(stars: Stars | None, symbol: str) -> bool:
    return bool(stars and stars.starred.get(symbol))
