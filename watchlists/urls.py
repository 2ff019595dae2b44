"""The watchlists app's pages: the watchlists and the portfolio."""

from watchlists import portfolio_page_urls, watchlist_page_urls

urlpatterns = [*watchlist_page_urls.urlpatterns, *portfolio_page_urls.urlpatterns]
