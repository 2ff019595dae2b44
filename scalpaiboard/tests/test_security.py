"""Production security settings: `check --deploy` with the documented production environment, the
embedded defaults for plain HTTP, the Content-Security-Policy, CORS for API clients, static files."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import jwt
import pytest
import yaml
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from markets.tests.test_views import published  # noqa: F401 (the fixture: an order book to draw)
from scalpaiboard.tests.test_pages import page_paths
from scalpaiboard.tests.test_settings import settings_of

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
SECURE = {"HTTP_X_FORWARDED_PROTO": "https"}  # what nginx sends for an HTTPS request


def production_environment() -> dict[str, str]:
    """The production example of .env.example ("#   NAME=value" lines), with a real secret key."""
    found = dict(re.findall(r"^#   ([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    return {**found, "SECRET_KEY": secrets.token_urlsafe(50)}


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "scalpaiboard.settings", "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- check --deploy and the embedded defaults -----------------------------------------------------


def test_the_documented_production_environment_names_each_https_setting():
    assert {
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DEBUG", "ALLOWED_HOSTS",
    } <= set(production_environment())  # fmt: skip


def test_check_deploy_finds_nothing_with_the_documented_production_environment(tmp_path):
    result = check_deploy(tmp_path, **production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_with_the_embedded_defaults_names_only_what_plain_http_needs(tmp_path):
    result = check_deploy(tmp_path, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 1
    warnings = set(re.findall(r"\(security\.(W\d+)\)", result.stderr + result.stdout))
    assert warnings == {"W004", "W008", "W012", "W016"}  # HSTS, redirect, session and CSRF cookies


def test_production_variables_fill_the_django_settings(tmp_path):
    names = ["SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT",
             "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"]  # fmt: skip
    code = f"print([getattr(settings, name) for name in {names}])"
    production = settings_of(code=code, VAR_DIR=str(tmp_path), **production_environment())
    embedded = settings_of(code=code, VAR_DIR=str(tmp_path))
    assert production.returncode == embedded.returncode == 0, production.stderr + embedded.stderr
    assert production.stdout.strip() == "[31536000, True, True, True, ('HTTP_X_FORWARDED_PROTO', 'https'), True, True]"
    assert embedded.stdout.strip() == "[0, False, False, False, None, False, False]"


def test_embedded_defaults_serve_plain_http_with_cookies_a_browser_sends_over_it(client, coins, django_user_model):
    django_user_model.objects.create_user(username="ada", password="a long pass phrase")
    assert client.get("/").status_code == 200  # no redirect to HTTPS
    response = client.post("/accounts/login/", {"username": "ada", "password": "a long pass phrase"})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and not session["secure"]
    assert "Strict-Transport-Security" not in client.get("/", **SECURE)


@pytest.fixture
def production(settings):
    """The settings that the documented production environment gives."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    return settings


def test_production_redirects_plain_http_and_pins_https_with_hsts(client, coins, production):
    response = client.get("/coins/BTC", HTTP_X_FORWARDED_PROTO="http")
    assert (response.status_code, response["Location"]) == (301, "https://testserver/coins/BTC")
    response = client.get("/coins/BTC", **SECURE)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_production_answers_probes_inside_the_network_over_plain_http(client, production):
    assert client.get("/api/health/live").status_code == 200  # the compose health check
    assert client.get("/metrics").status_code == 200  # Prometheus, from the loopback address


def test_production_cookies_are_secure_and_hidden_from_scripts(client, coins, production, django_user_model):
    django_user_model.objects.create_user(username="ada", password="a long pass phrase")
    form = client.get("/accounts/login/", **SECURE)
    csrf = form.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]
    response = client.post("/accounts/login/", {"username": "ada", "password": "a long pass phrase"}, **SECURE)
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]


# --- Content-Security-Policy --------------------------------------------------------------------


def policy_of(response) -> dict[str, list[str]]:
    """The enforced Content-Security-Policy of a response, by directive."""
    assert "Content-Security-Policy-Report-Only" not in response
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {name: values for name, *values in directives}


class InlineCode(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' refuses unless it has a nonce:
    inline scripts and style elements, and (never allowed) event handler and style attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"<script> nonce={names.get('nonce')}")
        if tag == "style":
            self.found.append(f"<style> nonce={names.get('nonce')}")
        self.found += [f"<{tag} {name}=...>" for name in names if name == "style" or name.startswith("on")]


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_every_page_is_served_with_an_enforced_policy_and_no_unsafe_source(client, coins):
    for path in page_paths():
        response = client.get(path, follow=True)
        policy = policy_of(response)
        assert policy["script-src"] == ["'self'"], f"{path}: {policy}"  # no nonce: nothing inline to allow
        assert policy["connect-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"], path
        assert "'unsafe-inline'" not in str(policy) and "'unsafe-eval'" not in str(policy), path


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])  # a whole page, or the fragment it swaps
@pytest.mark.parametrize("path", [*page_paths(), "/coins/BTC?timeframe=1h", "/no-such-page"])
def test_pages_and_fragments_carry_no_inline_code(client, published, path, htmx):  # noqa: F811
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    assert inline_code(client.get(path, follow=True, **headers).content.decode()) == []


def test_the_order_book_hands_its_depth_to_the_script_as_data(client, published):  # noqa: F811
    html = client.get("/coins/BTC/orderbook").content.decode()
    assert len(re.findall(r'<tr data-depth="\d+">', html)) == 30  # 15 asks, 15 bids


def test_swagger_ui_runs_its_inline_code_under_the_request_nonce(client):
    first, second = client.get("/api/docs/"), client.get("/api/docs/")
    nonce = re.fullmatch(r"'nonce-([\w-]+)'", policy_of(first)["script-src"][1])[1]
    assert policy_of(first)["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert inline_code(first.content.decode()) == [f"<style> nonce={nonce}", f"<script> nonce={nonce}"]
    assert f"nonce-{nonce}" not in second["Content-Security-Policy"]  # a new one for every answer


def test_the_periodic_task_form_of_the_admin_runs_its_inline_script_under_the_nonce(admin_client):
    response = admin_client.get("/admin/django_celery_beat/periodictask/add/")
    nonce = re.fullmatch(r"'nonce-([\w-]+)'", policy_of(response)["script-src"][1])[1]
    assert inline_code(response.content.decode()) == [f"<script> nonce={nonce}"]


# --- CORS and static files --------------------------------------------------------------------


@pytest.fixture
def api_client_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    return "https://app.example.com"


def test_an_allowed_origin_may_call_the_api_with_a_jwt(client, coins, api_client_origin):
    preflight = client.options(
        "/api/coins",
        HTTP_ORIGIN=api_client_origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == api_client_origin
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    response = client.get("/api/coins", HTTP_ORIGIN=api_client_origin)
    assert response["Access-Control-Allow-Origin"] == api_client_origin
    assert set(response["Access-Control-Expose-Headers"].split(", ")) == {"Retry-After", "X-Request-ID"}
    assert "Access-Control-Allow-Credentials" not in response  # cookies are not sent cross-origin


def test_other_origins_and_the_pages_get_no_cors_headers(client, coins, api_client_origin):
    other = client.get("/api/coins", HTTP_ORIGIN="https://evil.example.com")
    preflight = client.options(
        "/api/coins", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    page = client.get("/", HTTP_ORIGIN=api_client_origin)
    for response in (other, preflight, page):
        assert not any(name.startswith("Access-Control-") for name in response.headers), response.headers


def test_without_cors_allowed_origins_no_origin_may_call_the_api(client, coins):
    response = client.get("/api/coins", HTTP_ORIGIN="https://app.example.com")
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/js/app.js", "/static/favicon.svg"])
def test_static_files_do_not_allow_every_origin(client, path):
    response = client.get(path, HTTP_ORIGIN="https://evil.example.com")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


# --- The rest of the seed's checklist: JWT validation, SQL injection, passwords, the network ---------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def access_token(db, django_user_model) -> str:
    user = django_user_model.objects.create_user(username="ada", password="a long pass phrase")
    return str(AccessToken.for_user(user))


def forged(token: str, how: str) -> str:
    """``token`` altered as an attacker would: its signature, its algorithm, its key, its expiry."""
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    if how == "signature":
        return f"{header}.{payload}.{signature[:-4]}AAAA"
    if how == "alg none":
        return f"{b64url(b'{"alg":"none","typ":"JWT"}')}.{payload}."
    if how == "another key":
        return jwt.encode(claims, secrets.token_urlsafe(50), algorithm="HS256")
    if how == "expired":
        return jwt.encode(
            {**claims, "exp": int(time.time()) - 1}, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"
        )
    if how == "refresh as access":
        return jwt.encode({**claims, "token_type": "refresh"}, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    raise ValueError(how)


def test_a_genuine_access_token_authenticates(client, access_token):
    assert client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code == 200


@pytest.mark.parametrize("how", ["signature", "alg none", "another key", "expired", "refresh as access"])
def test_a_forged_or_expired_jwt_is_refused(client, access_token, how):
    response = client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {forged(access_token, how)}")
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize(
    "search", ["' OR '1'='1", "BTC'; DROP TABLE markets_coin; --", '" OR 1=1 --', "%' UNION SELECT password FROM x --"]
)
def test_sql_in_a_search_is_searched_for_as_text(client, coins, search):
    response = client.get("/api/coins", {"search": search})
    assert (response.status_code, response.json()["count"]) == (200, 0)
    assert client.get("/api/coins").json()["count"] == 5  # and the table is all there


def test_passwords_are_stored_as_salted_slow_hashes(django_user_model, db):
    user = django_user_model.objects.create_user(username="ada", password="a long pass phrase", email="a@example.com")
    other = django_user_model.objects.create_user(username="bob", password="a long pass phrase", email="b@example.com")
    algorithm, iterations, _salt, _digest = user.password.split("$")
    assert algorithm == "pbkdf2_sha256" and int(iterations) >= 1_000_000
    assert "a long pass phrase" not in user.password and user.password != other.password  # salted


def test_only_nginx_is_reachable_from_outside_the_compose_network():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    reachable = {name for name, service in services.items() if service.get("ports")}
    assert reachable == {"nginx"}  # PostgreSQL, Redis and daphne answer on the internal network only


def test_the_env_file_stays_out_of_git():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_an_embedded_install_generates_its_secret_key_readable_by_its_owner_only(tmp_path):
    result = settings_of(code="print(len(settings.SECRET_KEY))", VAR_DIR=str(tmp_path), SECRET_KEY="")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 50
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
