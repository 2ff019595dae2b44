"""Page URLs (see watchlists/urls.py)."""

urlpatterns: list = []
