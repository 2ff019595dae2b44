"""Pages no app owns: addresses with and without a trailing slash, the not-found page, the sections
still to come, /metrics' gate, the favicon, robots.txt and what the schema says of public endpoints."""

from __future__ import annotations

import re
from ipaddress import ip_network
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from scalpaiboard.tests.routes import routes
from scalpaiboard.views import UPCOMING

ROOT = Path(__file__).resolve().parents[2]
NOT_PAGES = ("api/", "admin/", "metrics", "favicon.ico", "robots.txt")


def page_paths() -> list[str]:
    """Every page address the project routes, with BTC for a symbol."""
    return [path for path, _ in routes() if not path[1:].startswith(NOT_PAGES)]


def test_the_page_list_covers_every_kind_of_page():
    paths = page_paths()
    assert {"/", "/coins/BTC", "/coins/BTC/analysis", "/accounts/login/", "/alerts", "/settings"} <= set(paths)
    assert all("<" not in p for p in paths), paths


@pytest.mark.parametrize("path", page_paths())
def test_every_page_answers_with_and_without_a_trailing_slash(client, coins, path):
    other = path[:-1] if path.endswith("/") and path != "/" else path + "/"
    canonical = client.get(path)
    assert canonical.status_code in (200, 302), f"{path}: {canonical.status_code}"  # /analysis redirects
    if path == "/":
        return
    moved = client.get(other)
    assert moved.status_code == 301, f"{other}: {moved.status_code}"
    assert moved["Location"] == path
    assert client.get(other, follow=True).status_code == 200


def test_a_trailing_slash_redirect_keeps_the_query_and_a_post_keeps_its_method(client, coins):
    response = client.get("/coins/BTC/", {"timeframe": "1h"})
    assert (response.status_code, response["Location"]) == (301, "/coins/BTC?timeframe=1h")
    response = client.post("/api/coins/BTC/", {})
    assert (response.status_code, response["Location"]) == (308, "/api/coins/BTC")


def test_an_api_address_with_a_trailing_slash_reaches_the_endpoint(client, coins):
    response = client.get("/api/coins/BTC/", follow=True)
    assert response.status_code == 200 and response.json()["symbol"] == "BTC"


def test_not_found_page_says_what_is_missing_in_words_and_offers_the_search(client, coins):
    response = client.get("/coins/ZZZ")
    html = response.content.decode()
    assert response.status_code == 404
    assert "No coin named ZZZ" in html and "Resolver404" not in html
    assert re.search(r'<input[^>]+name="search"[^>]+value="ZZZ"', html)

    html = client.get("/nowhere/at/all").content.decode()
    assert "There is no page at /nowhere/at/all." in html and "Resolver404" not in html


def test_an_unknown_api_address_is_json(client, db):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "No API endpoint at /api/nothing-here. See /api/docs/.",
        "request_id": response["X-Request-ID"],
    }


@pytest.mark.parametrize("section", UPCOMING)
def test_a_section_still_to_come_says_what_it_will_do(client, db, section):
    response = client.get(f"/{section}")
    html = response.content.decode()
    assert response.status_code == 200
    assert UPCOMING[section][1] in html and "coming soon" in html
    assert re.search(rf'<a class="nav-item soon active" href="/{section}"', html)


def test_metrics_answer_loopback_and_staff_and_refuse_anyone_else(client, db, settings):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403 and b"METRICS_ALLOWED_IPS" in refused.content
    assert b"scalpaiboard_" not in refused.content

    settings.METRICS_ALLOWED_IPS = [ip_network("203.0.113.0/24")]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get("/metrics").status_code == 403

    user = get_user_model().objects.create_user("viewer", password="pw-long-enough-1")
    client.force_login(user)
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1").status_code == 403
    user.is_staff = True
    user.save()
    response = client.get("/metrics", REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 200 and b"scalpaiboard_http_requests_total" in response.content


def test_favicon_and_robots_are_served(client, db):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/x-icon"
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and robots.content.startswith(b"User-agent: *")


def test_public_endpoints_need_no_authentication_in_the_schema(client, db):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert paths["/api/coins"]["get"]["security"] == []
    assert paths["/api/coins/{symbol}/candles"]["get"]["security"] == []
    assert paths["/api/auth/token/"]["post"]["security"] == []
    assert {"jwtAuth": []} in paths["/api/auth/me"]["get"]["security"]


def test_nginx_replaces_the_forwarded_for_header_a_client_sends():
    # daphne --proxy-headers takes the first address: appending to the client's own would let it
    # name itself 127.0.0.1 (and read /metrics, or dodge per-address limits).
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in conf
    assert conf.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2
