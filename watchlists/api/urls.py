"""The watchlists app's API, mounted under /api/: the watchlists and the portfolio."""

from watchlists.api import portfolio_urls, watchlist_urls

urlpatterns = [*watchlist_urls.urlpatterns, *portfolio_urls.urlpatterns]
