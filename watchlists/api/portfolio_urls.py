"""API URLs (see watchlists/api/urls.py)."""

urlpatterns: list = []
