"""Scalpaiboard settings, read from the environment.

With no variables set the project runs embedded (SQLite, in-memory channel layer, local-memory
cache, Celery tasks in-process, the market feed inside the server). DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL switch each part to the full stack. See DESIGN.md, "Two modes, one codebase".
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from django.utils.csp import CSP

from scalpaiboard.environment import (
    env,
    read_bool,
    read_database,
    read_duration,
    read_durations,
    read_fernet_keys,
    read_float,
    read_int,
    read_list,
    read_networks,
    read_origins,
    read_proxy_ssl_header,
    read_str,
    read_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(read_str("VAR_DIR", default=str(BASE_DIR / "var")))
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A key kept in var/ so that sessions survive restarts of an embedded install."""
    path = VAR_DIR / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = read_str("SECRET_KEY", default="") or _embedded_secret_key()

DEBUG = read_bool("DEBUG", default=False)
ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "corsheaders",
    "channels",
    "django_celery_beat",
    "scalpaiboard.accounts",
    "markets",
    "alerts",
    "watchlists",
    "providers",
    "assistant",
]

MIDDLEWARE = [
    # First, so that every answer carries X-Request-ID and every log line of the request its id.
    "scalpaiboard.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before any middleware that can answer (see Security)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a log-in refused by the lock-out into a 429 (scalpaiboard/accounts/lockout.py).
    "axes.middleware.AxesMiddleware",
    # Sync-only and innermost on purpose: Django then runs the whole chain in one thread under
    # ASGI instead of hopping between the event loop and threads for each middleware's hooks
    # (measured: 1.1 instead of 1.7 ms of CPU for the smallest request).
    "scalpaiboard.metrics.RequestMetricsMiddleware",
]

ROOT_URLCONF = "scalpaiboard.urls"
CSRF_FAILURE_VIEW = "scalpaiboard.api.csrf_failure"
ASGI_APPLICATION = "scalpaiboard.asgi.application"
WSGI_APPLICATION = "scalpaiboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",  # csp_nonce, for the inline code that remains
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------

DATABASES = {"default": read_database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets pages read while the embedded feed writes; IMMEDIATE avoids lock upgrades.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # A file, not memory, so that servers started by the browser tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test{os.environ.get('PYTEST_XDIST_WORKER', '')}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = read_url("REDIS_URL", default=None, schemes=("redis", "rediss", "unix"))
# Everything this deployment keeps in Redis is namespaced, so that deployments (and parallel
# test workers, which pytest-xdist names in PYTEST_XDIST_WORKER) can share one server.
REDIS_PREFIX = read_str("REDIS_PREFIX", default="scalpaiboard") + os.environ.get("PYTEST_XDIST_WORKER", "")

if REDIS_URL:
    # While Redis is unreachable the site degrades instead of failing (scalpaiboard/cache.py): the
    # cache answers as an empty one, so every read falls back to the database (API and pages
    # alike) and writes are dropped. After a failed connection, calls skip Redis at once while a
    # thread tries it every second, so that it is used again within a second of its return; the
    # outage is logged once. The API throttles count nothing meanwhile (they let requests through);
    # the log-in lock-out keeps working (its attempts are in the database). /ws refuses new sockets
    # until the channel layer is back (markets/consumers.py); /api/health says "degraded".
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_CLASS": "scalpaiboard.cache.OutageAwareConnectionPool",
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True  # but for unreachable Redis, logged once (see LOGGING)
    DJANGO_REDIS_LOGGER = "scalpaiboard.cache.ignored"
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: a broadcast is published once and fanned out inside each server process.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # Timeouts, so that publishing to a Redis that hangs fails in seconds, not after minutes.
                "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 2, "socket_timeout": 5}],
                "prefix": f"{REDIS_PREFIX}:ws",
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "scalpaiboard",
            # Room for every coin's ticker, trades and analysis of a few timeframes (default: 300).
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def _embedded_encryption_key() -> str:
    """An embedded install's key for stored secrets (AI provider keys), made in var/ on first set-up."""
    path = VAR_DIR / "field_encryption.key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
        print(
            f"FIELD_ENCRYPTION_KEYS is not set: generated a key into {path} (keep it with the database).",
            file=sys.stderr,
        )
    return path.read_text().strip()


# Stored credentials (providers app) are encrypted with the first key and decrypted with any: to
# rotate, put a new key first, run `manage.py rotate_provider_keys`, then drop the old one. The full
# stack (REDIS_URL set) has several processes that must share the keys, so there it must be set.
FIELD_ENCRYPTION_KEYS = read_fernet_keys(
    "FIELD_ENCRYPTION_KEYS", embedded_default=None if REDIS_URL else _embedded_encryption_key
)


# --- Background work ---------------------------------------------------------------------

CELERY_BROKER_URL = read_url(
    "CELERY_BROKER_URL", default=REDIS_URL, schemes=("redis", "rediss", "amqp", "amqps", "memory")
)
# Without a broker, tasks run in-process when they are sent (embedded mode).
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "candles-prune": {"task": "markets.tasks.candles_prune", "schedule": timedelta(hours=1)},
    "alerts-expire": {"task": "alerts.tasks.alerts_expire_due", "schedule": timedelta(minutes=1)},
    # Deliveries whose task was lost, or whose worker died while sending (alerts.deliveries).
    "deliveries-sweep": {
        "task": "alerts.tasks.deliveries_sweep_due",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 5},  # sweeps queued while no notify worker runs are dropped, not piled up
    },
    # Without TELEGRAM_WEBHOOK_URL, a /start <code> links its chat within 3 s; stale polls expire unrun.
    "telegram-updates-poll": {
        "task": "alerts.tasks.telegram_updates_poll",
        "schedule": timedelta(seconds=3),
        "options": {"expires": 3},
    },
}
# The engine's work has a queue of its own, so that its workers keep their alerts in memory.
CELERY_TASK_ROUTES = {
    "alerts.tasks.alerts_prices_evaluate": {"queue": "alerts"},
    "alerts.tasks.alerts_bars_evaluate": {"queue": "alerts"},
    "alerts.tasks.deliveries_send": {"queue": "notify"},
    "alerts.tasks.deliveries_sweep_due": {"queue": "notify"},
}
# Whether the feed's market events reach the alert engine (off only in tests that do not exercise it).
ALERTS_ENGINE_ENABLED = read_bool("ALERTS_ENGINE_ENABLED", default=True)
CELERY_TIMEZONE = "UTC"

# --- Market data -------------------------------------------------------------------------

MARKET_SOURCE = read_str("MARKET_SOURCE", default="simulated", choices=("simulated", "binance"))
SIMULATION_SEED = read_int("SIMULATION_SEED", default=20241124, minimum=0)
SIMULATION_TICK_SECONDS = read_float("SIMULATION_TICK_SECONDS", default=1.0, minimum=0.05)
BINANCE_REST_URL = read_url("BINANCE_REST_URL", default="https://api.binance.com", schemes=("http", "https"))
BINANCE_WS_URL = read_url("BINANCE_WS_URL", default="wss://stream.binance.com:9443", schemes=("ws", "wss"))
# With MARKET_SOURCE=binance: how many USDT pairs to track, the busiest by 24h quote volume (plus pinned coins).
MARKET_TOP_N = read_int("MARKET_TOP_N", default=150, minimum=1, maximum=5000)
# The feed runs inside the server process when the channel layer is in-memory (embedded mode):
# an in-memory layer belongs to one event loop, so a separate feed would publish into a void.
FEED_EMBEDDED = read_bool("FEED_EMBEDDED", default=not REDIS_URL)
FEED_STALE_SECONDS = read_float("FEED_STALE_SECONDS", default=10.0, minimum=1.0)
# Pages show "data delayed" and /api/health reports "delayed" when the newest exchange update is older.
FEED_DELAY_SECONDS = read_float("FEED_DELAY_SECONDS", default=5.0, minimum=1.0)
# A client gets at most one ticker message per this many seconds, carrying every change.
FEED_PUBLISH_INTERVAL = read_float("FEED_PUBLISH_INTERVAL", default=0.25, minimum=0.0)
CANDLE_RETENTION_DAYS_1M = read_int("CANDLE_RETENTION_DAYS_1M", default=7, minimum=1)

# --- Alerts ----------------------------------------------------------------------------

# Active alerts one user may have; the next is refused (a 400 saying so).
ALERTS_PER_USER = read_int("ALERTS_PER_USER", default=1000, minimum=1, maximum=1_000_000)

# --- Notifications (email, Telegram, webhooks, Apprise) --------------------------------------

DEFAULT_FROM_EMAIL = read_str("DEFAULT_FROM_EMAIL", default="Scalpaiboard <alerts@localhost>")
TELEGRAM_BOT_TOKEN = read_str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_URL = read_url("TELEGRAM_API_URL", default="https://api.telegram.org", schemes=("http", "https"))
# Set: Telegram posts the bot's updates there (setWebhook); unset: a beat task polls getUpdates.
TELEGRAM_WEBHOOK_URL = read_url("TELEGRAM_WEBHOOK_URL", default=None, schemes=("https", "http"))
# Webhooks to loopback, private, link-local or multicast addresses are refused unless this is true.
WEBHOOK_ALLOW_PRIVATE = read_bool("WEBHOOK_ALLOW_PRIVATE", default=False)
# After a transient failure a delivery retries after each of these in turn (with ±20 % jitter).
NOTIFY_RETRY_DELAYS = read_durations("NOTIFY_RETRY_DELAYS", default=[2, 10, 30, 120, 600, 1800])
# A delivery this long after its firing goes dead instead of out: a stale price alert misleads.
NOTIFY_MAX_AGE = read_duration("NOTIFY_MAX_AGE", default=3600)
# A delivery claimed longer ago than this and still "sending" is taken as lost with its worker and sent
# again; longer than a send can take (transports time out after 10 s).
NOTIFY_CLAIM_LEASE = read_duration("NOTIFY_CLAIM_LEASE", default=60)
# The site's address as users reach it (https://dashboard.example.com): links in notifications. Unset: none.
SITE_URL = read_url("SITE_URL", default=None, schemes=("https", "http"))

# --- AI assistant -------------------------------------------------------------------------

# A streamed answer (POST /api/ai/chat) that sends nothing for this many seconds ends with an error event.
ASSISTANT_STREAM_IDLE_SECONDS = read_float("ASSISTANT_STREAM_IDLE_SECONDS", default=120.0, minimum=0.1)

# --- WebSocket limits (/ws; counted per server process) -------------------------------------

# Browser pages may open /ws from the server's own origin (scheme, host and port) and from these.
WS_ALLOWED_ORIGINS = read_list("WS_ALLOWED_ORIGINS", default=[])
# A larger frame closes the socket with 1009; 1 MiB is daphne's own ceiling.
WS_MAX_FRAME_BYTES = read_int("WS_MAX_FRAME_BYTES", default=65536, minimum=1024, maximum=1048576)
# Symbols followed for prices plus candle streams, on one socket.
WS_MAX_SUBSCRIPTIONS = read_int("WS_MAX_SUBSCRIPTIONS", default=500, minimum=1)
# Client messages a second on one socket (bursts of as many); 0 means no limit.
WS_MESSAGES_PER_SECOND = read_int("WS_MESSAGES_PER_SECOND", default=20, minimum=0)
# Open sockets from one client address; further handshakes are refused (403). 0 means no limit.
WS_MAX_SOCKETS_PER_ADDRESS = read_int("WS_MAX_SOCKETS_PER_ADDRESS", default=50, minimum=0)

# --- Accounts, API -----------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
# Axes first: it refuses log-ins of a locked-out account or address before a password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "markets:dashboard"
LOGOUT_REDIRECT_URL = "markets:dashboard"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    # Bodies nested too deep are a 400 before any parser recurses (scalpaiboard/api.py).
    "DEFAULT_PARSER_CLASSES": [
        "scalpaiboard.api.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "scalpaiboard.schema.ProjectAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["scalpaiboard.api.ORJSONRenderer"],
    "EXCEPTION_HANDLER": "scalpaiboard.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # See "Abuse limits" below. Throttles key anonymous clients by REMOTE_ADDR alone (0 proxies):
    # behind nginx, daphne's --proxy-headers sets it from the X-Forwarded-For that nginx writes,
    # whereas DRF's default would take a client-supplied X-Forwarded-For as is.
    "DEFAULT_THROTTLE_CLASSES": [
        "scalpaiboard.api.AnonRateThrottle",
        "scalpaiboard.api.UserRateThrottle",
        "scalpaiboard.api.ScopedRateThrottle",
    ],
    "NUM_PROXIES": 0,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=read_int("JWT_ACCESS_MINUTES", default=30, minimum=1, maximum=1440)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=read_int("JWT_REFRESH_DAYS", default=7, minimum=1, maximum=365)),
    "SIGNING_KEY": SECRET_KEY,
    # A refresh answers a new refresh token too, and the one used is blacklisted: a stolen refresh
    # token works once at most, and its theft shows when the owner's next refresh is refused.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}

# --- Abuse limits: log-in lock-out (django-axes) and API throttles (DRF) ----------------------
#
# Log-in (the page, the admin and POST /api/auth/token/): after LOGIN_FAILURE_LIMIT failures of one
# account, or from one address, within LOGIN_COOLOFF_MINUTES, further attempts are refused until
# that many minutes after the last failure; a success forgives that account's failures from that
# address. Attempts are rows in the database (visible in the admin under "Axes").
LOGIN_FAILURE_LIMIT = read_int("LOGIN_FAILURE_LIMIT", default=5, minimum=1, maximum=1000)
LOGIN_COOLOFF_MINUTES = read_int("LOGIN_COOLOFF_MINUTES", default=15, minimum=1, maximum=10080)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account and per address
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lock-out do not extend it, so Retry-After stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "scalpaiboard.accounts.lockout.LoginAttemptHandler"
AXES_LOCKOUT_CALLABLE = "scalpaiboard.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)  # never a header a client can write
AXES_USERNAME_CALLABLE = "scalpaiboard.accounts.lockout.attempt_username"  # cut to the log's 255 characters
AXES_VERBOSE = False  # no banner on every manage.py command; lock-outs are still logged

# API (DRF views only; the pages' HTMX polling goes through Django views and is not throttled):
# RATE_LIMIT_RPM requests a minute per signed-in user and per anonymous address, 0 for no limit.
# The throttles count in the cache: Redis in the full stack (shared by every server process),
# local memory per process in embedded mode. Scopes: `login` for the JWT views, `backtest` for the
# alert backtest (it replays a month of candles), `notify_test` for a channel's test message (it
# sends a real one), `ai_chat` for the assistant's chat endpoint
# and a provider's connection test (each a paid request). Answers that /api/coins and
# /api/coins/{symbol} serve from the market cache never reach DRF and are not counted (each costs
# less than counting it would); a new query string misses that cache and is counted.
RATE_LIMIT_RPM = read_int("RATE_LIMIT_RPM", default=600, minimum=0)
RATE_LIMIT_LOGIN_RPM = read_int("RATE_LIMIT_LOGIN_RPM", default=20, minimum=0)
RATE_LIMIT_AI_CHAT_RPM = read_int("RATE_LIMIT_AI_CHAT_RPM", default=10, minimum=0)
RATE_LIMIT_BACKTEST_RPM = read_int("RATE_LIMIT_BACKTEST_RPM", default=30, minimum=0)
RATE_LIMIT_NOTIFY_TEST_RPM = read_int("RATE_LIMIT_NOTIFY_TEST_RPM", default=10, minimum=0)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    scope: f"{rpm}/min" if rpm else None
    for scope, rpm in {
        "anon": RATE_LIMIT_RPM,
        "user": RATE_LIMIT_RPM,
        "login": RATE_LIMIT_LOGIN_RPM,
        "ai_chat": RATE_LIMIT_AI_CHAT_RPM,
        "backtest": RATE_LIMIT_BACKTEST_RPM,
        "notify_test": RATE_LIMIT_NOTIFY_TEST_RPM,
    }.items()
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Scalpaiboard API",
    "DESCRIPTION": "Live crypto markets, candles, order books and trades. "
    "Authenticate with a JWT from /api/auth/token/ (Bearer) or a browser session.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two fields named "side" with different choices: a trade's taker side and a portfolio transaction's.
    "ENUM_NAME_OVERRIDES": {
        "TradeSideEnum": ["buy", "sell"],
        "TransactionSideEnum": ["buy", "sell", "transfer_in", "transfer_out"],
    },
}

# --- Static files, i18n, logging -----------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the source folders too, so that `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)

# /metrics answers signed-in staff and these addresses or networks (Prometheus' scraper); nobody else.
METRICS_ALLOWED_IPS = read_networks("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])

LOG_LEVEL = read_str("LOG_LEVEL", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line carries the id of the request it was written for ("-" outside requests), the
    # same id as the X-Request-ID header and the request_id of an API 500's body.
    "filters": {
        "request_id": {"()": "scalpaiboard.request_id.RequestIdFilter"},
        "redis_outage": {"()": "scalpaiboard.cache.OutageRecordsFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # a line per failed log-in at INFO; lock-outs are warnings
        "httpx": {"level": "WARNING"},  # one line per request: the Binance back-fill makes hundreds
        # Cache errors django-redis ignores (DJANGO_REDIS_LOGGER); an unreachable Redis is logged once.
        "scalpaiboard.cache.ignored": {"filters": ["redis_outage"]},
    },
}

# --- Security: HTTPS, cookies, Content-Security-Policy, CORS ---------------------------------
#
# The defaults serve plain http://127.0.0.1:8000. A deployment behind TLS sets the variables below,
# each named as the Django setting it fills (docs/deployment.md, "Production settings"); with them
# `manage.py check --deploy --fail-level WARNING` passes (scalpaiboard/tests/test_security.py).
SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", default=False)
# Probes inside the network (the compose health check, Prometheus) speak plain HTTP to daphne.
SECURE_REDIRECT_EXEMPT = [r"^api/health(/live)?$", r"^metrics$"]
SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", default=0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = read_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = read_bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a proxy that terminates TLS: the header it sets and the value meaning HTTPS, so that
# request.is_secure() is true. Only with a proxy that overwrites the header: a client can send it.
SECURE_PROXY_SSL_HEADER = read_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SESSION_COOKIE_SECURE = read_bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = read_bool("CSRF_COOKIE_SECURE", default=False)
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: pages take the token from the template (forms, hx-headers).
CSRF_COOKIE_HTTPONLY = True

# Enforced on every page; no 'unsafe-inline', no 'unsafe-eval' (htmx runs with allowEval false).
# Our templates carry no inline code; the nonce serves the inline script and style of Swagger UI
# (templates/drf_spectacular/swagger_ui.html). lightweight-charts and htmx set styles through the
# CSSOM, which a policy does not restrict. 'self' also covers ws:// and wss:// of the page's own
# host and port (CSP Level 3), which is where /ws is.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Cross-origin API clients (browser apps on other origins) from these origins, under /api/ only.
# Without credentials: they authenticate with a JWT, never with this site's session cookie.
CORS_ALLOWED_ORIGINS = read_origins("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/"
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]
# WhiteNoise would send "Access-Control-Allow-Origin: *" with every static file.
WHITENOISE_ALLOW_ALL_ORIGINS = False
