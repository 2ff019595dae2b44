from watchlists import portfolio_admin  # noqa: F401
