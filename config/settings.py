"""Settings for Pulseboard, read from the environment (see docs/operations.md)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.database import pooled_connection_reset
from config.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    is_loopback,
    local_secret_key,
)
from streams.fanout.redis_connection import DEFAULT_MASTER, RedisAddressError, sentinel_url

BASE_DIR = Path(__file__).resolve().parent.parent

HOST = env_str("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000, minimum=1)
if PORT > 65535:
    raise ImproperlyConfigured(f"PORT={PORT} is not a TCP port")

# `make demo` sets PULSEBOARD_DEMO. On loopback (HOST an address, or a name whose
# every address is loopback) the demo keeps the known login demo / demo; bound
# anywhere else it answers every name and address the machine is reached by, over
# plain HTTP, and `seed` gives random passwords.
PULSEBOARD_DEMO = env_bool("PULSEBOARD_DEMO", False)
LOOPBACK_HOST = is_loopback(HOST)
NETWORK_DEMO = PULSEBOARD_DEMO and not LOOPBACK_HOST
# Django's technical pages (every URL pattern, the settings) only for a developer
# who sets DEBUG=1: the demo shows the product's own 403, 404 and 500 pages.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "") or local_secret_key(BASE_DIR / ".secret_key")
# Passwords anyone can guess only where no one else can reach the login page.
PULSEBOARD_KNOWN_DEMO_PASSWORDS = PULSEBOARD_DEMO and LOOPBACK_HOST

# A phone on the demo's network reaches it by an address we cannot know here.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["*"] if NETWORK_DEMO else ["127.0.0.1", "localhost", "[::1]"]
)
if HOST not in ALLOWED_HOSTS and HOST not in ("0.0.0.0", "::"):
    ALLOWED_HOSTS.append(HOST)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Daphne first: its `runserver` then serves WebSockets too (Channels' convention).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "streams",
    "alerts",
    "devices",
    "dashboards",
    # Login throttling (django-axes) keeps its attempts in the database.
    "axes",
]

MIDDLEWARE = [
    # First: it sees every answer under /api/, Django's own errors too, and makes them JSON.
    "streams.http.errors.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "streams.auth.TokenAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
CSRF_FAILURE_VIEW = "streams.http.errors.csrf_failure"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'pulseboard.sqlite3'}")
try:
    # Connections are kept (and checked before reuse) so the producer's tick and
    # the consumers' history reads do not open a new one each time.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("PULSEBOARD_DB_CONN_MAX_AGE", 600, minimum=0),
            conn_health_checks=True,
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(
        f"DATABASE_URL={DATABASE_URL!r} is not understood: {error}"
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "PULSEBOARD_DB_POOL", True
):
    # Under ASGI each request runs in a thread of its own, so a kept connection is
    # never used again: without a pool every request (a push too) opens one, which
    # costs the server a process and the request ~10 ms. Pooled connections are
    # handed from thread to thread instead (a pool keeps no connection of its own
    # beyond `max_size`, and needs CONN_MAX_AGE 0).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("PULSEBOARD_DB_POOL_SIZE", 20, minimum=2),
        "timeout": 10,
        "reset": pooled_connection_reset,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while the producer writes; IMMEDIATE avoids lock upgrades
    # that SQLite cannot wait on.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
# REDIS_SENTINELS (host:port, comma-separated) puts a master that Sentinel watches in
# REDIS_URL's place (whose database and password, if set, are the master's): every
# Redis connection asks the sentinels where the master is, so processes follow a failover.
REDIS_SENTINELS = env_list("REDIS_SENTINELS", [])
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER", DEFAULT_MASTER)
if REDIS_SENTINELS:
    try:
        REDIS_URL = sentinel_url(REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_URL)
    except RedisAddressError as error:
        raise ImproperlyConfigured(
            f"REDIS_SENTINELS={','.join(REDIS_SENTINELS)!r}, "
            f"REDIS_SENTINEL_MASTER={REDIS_SENTINEL_MASTER!r}: {error}"
        ) from None
# Bounded waits, so a Redis that hangs gives errors instead of stalling publishers
# (the fan-out's broker subscribes again on a fresh connection after Redis comes back).
REDIS_CONNECTION_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 3,
    "health_check_interval": 10,
}
# Frames a socket may have waiting before the layer drops them (it refills from history).
CHANNEL_CAPACITY = 500


def channel_layers_for(redis_url: str) -> dict[str, Any]:
    """Return CHANNEL_LAYERS: Redis pub/sub fan-out for a cluster, else the in-process layer."""
    config: dict[str, Any] = {"capacity": CHANNEL_CAPACITY}
    if not redis_url:
        return {"default": {"BACKEND": "streams.fanout.layer.InProcessLayer", "CONFIG": config}}
    config.update(url=redis_url, options=REDIS_CONNECTION_OPTIONS)
    return {"default": {"BACKEND": "streams.fanout.layer.RedisLayer", "CONFIG": config}}


CHANNEL_LAYERS = channel_layers_for(REDIS_URL)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Behind an HTTPS proxy in production: see docs/operations.md.
BEHIND_HTTPS_PROXY = env_bool("BEHIND_HTTPS_PROXY", False)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Cookies are Secure where pages come over HTTPS: a Secure cookie sent over plain
# HTTP is dropped, and login then fails (a phone on the network demo).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", BEHIND_HTTPS_PROXY or SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SESSION_COOKIE_SECURE)

# Login attempts (django-axes): after AXES_FAILURE_LIMIT failures, that username
# from that address is refused for AXES_COOLOFF_MINUTES with a 429 page. Logins
# that skip `authenticate` (tests' force_login) are not counted.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Content-Security-Policy (django-csp): scripts and styles from our own files only.
# The one inline style allowed is the rule htmx adds for its request indicator.
HTMX_INDICATOR_STYLE = "'sha256-faU7yAF8NxuMTNEwVmBz+VcYeIoBQ2EMHW3WaVxCvnk='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, HTMX_INDICATOR_STYLE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Email: password reset is offered only when EMAIL_HOST names a server to send with.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "pulseboard@localhost")
PASSWORD_RESET_ENABLED = bool(EMAIL_HOST)
# Alert emails go through the same server; with none named they are printed (the demo).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
# The address alert notices link back to.
PULSEBOARD_SITE_URL = env_str("PULSEBOARD_SITE_URL", f"http://{HOST}:{PORT}")
# A process that runs a producer also sends queued alert notices (off: `manage.py
# sendalerts` or another process does; docs/alerts.md).
PULSEBOARD_ALERT_SENDER = env_bool("PULSEBOARD_ALERT_SENDER", True)
# Networks a webhook (any address a user types) may reach besides public addresses:
# comma-separated CIDRs. The loopback demo allows loopback so local receivers work;
# anything else allows none unless the operator names them (docs/alerts.md).
PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = env_list(
    "PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS",
    ["127.0.0.0/8", "::1/128"] if PULSEBOARD_DEMO and is_loopback(HOST) else [],
)
for _network in PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS: {_network!r} is not a network (CIDR)"
        ) from None
# Tests and confirmation links one user may have sent in an hour, all contact points together.
PULSEBOARD_TEST_SENDS_PER_HOUR = env_int("PULSEBOARD_TEST_SENDS_PER_HOUR", 10, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "uvicorn": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # Every login and failure otherwise; lockouts are warnings and still shown.
        "axes": {"level": "WARNING"},
    },
}

# Limits of the live protocol, each announced to clients in the `hello` frame.
PULSEBOARD_MAX_FRAME_BYTES = env_int("PULSEBOARD_MAX_FRAME_BYTES", 64 * 1024, minimum=256)
PULSEBOARD_COMMANDS_PER_SECOND = env_float("PULSEBOARD_COMMANDS_PER_SECOND", 20.0, minimum=0.1)
PULSEBOARD_COMMAND_BURST = env_int("PULSEBOARD_COMMAND_BURST", 60, minimum=1)
PULSEBOARD_MAX_CONNECTIONS_PER_USER = env_int("PULSEBOARD_MAX_CONNECTIONS_PER_USER", 20, minimum=1)
PULSEBOARD_MAX_SUBSCRIPTIONS = env_int("PULSEBOARD_MAX_SUBSCRIPTIONS", 50, minimum=1)
# Streams one (non-staff) user may make from the page or the API.
PULSEBOARD_MAX_STREAMS_PER_USER = env_int("PULSEBOARD_MAX_STREAMS_PER_USER", 50, minimum=1)
PULSEBOARD_IDLE_TIMEOUT = env_float("PULSEBOARD_IDLE_TIMEOUT", 300.0, minimum=1.0)
# /ws/data/, the tutorial feed: connections and running feeds per web process,
# and the seconds a connection may stay without a message or a running feed.
PULSEBOARD_DATA_MAX_CONNECTIONS = env_int("PULSEBOARD_DATA_MAX_CONNECTIONS", 100, minimum=1)
PULSEBOARD_DATA_MAX_STREAMS = env_int("PULSEBOARD_DATA_MAX_STREAMS", 50, minimum=1)
PULSEBOARD_DATA_IDLE_TIMEOUT = env_float("PULSEBOARD_DATA_IDLE_TIMEOUT", 300.0, minimum=0.1)
# Events revoke access at once. Under them, each web process reads this often, in
# one query, what its sockets' rights rest on, and only sockets whose rights moved
# check again (streams/live/access_sweep.py).
PULSEBOARD_ACCESS_RECHECK_SECONDS = env_float(
    "PULSEBOARD_ACCESS_RECHECK_SECONDS", 30.0, minimum=0.1
)
# Sockets whose access rests on a dashboard share or secret link also check again
# on their own, each at a random moment, this often on average.
PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS = env_float(
    "PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS", 300.0, minimum=0.1
)
# A client that stops reading stops answering WebSocket pings and is dropped after
# interval + timeout, which bounds what the server buffers for it (`manage.py
# serve` with either server; for plain `daphne` or `uvicorn` pass the flags in
# docs/operations.md).
PULSEBOARD_WS_PING_INTERVAL = env_int("PULSEBOARD_WS_PING_INTERVAL", 30, minimum=1)
PULSEBOARD_WS_PING_TIMEOUT = env_int("PULSEBOARD_WS_PING_TIMEOUT", 10, minimum=1)
# Frames over the protocol's limit get a `too_large` error from the consumer; the
# web server refuses only what it should not even buffer (close code 1009).
PULSEBOARD_WS_MAX_MESSAGE_BYTES = max(1 << 20, 16 * PULSEBOARD_MAX_FRAME_BYTES)
# On uvicorn, live frames are written straight to each socket's transport, framed once
# for all (streams/fanout/transport_uvicorn.py); off (0): every frame goes through
# ASGI `send`, as on Daphne.
PULSEBOARD_DIRECT_WRITES = env_bool("PULSEBOARD_DIRECT_WRITES", True)
# Daphne's `runserver` reads these two.
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = PULSEBOARD_WS_MAX_MESSAGE_BYTES
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = PULSEBOARD_WS_MAX_MESSAGE_BYTES
PULSEBOARD_MAX_BACKFILL = env_int("PULSEBOARD_MAX_BACKFILL", 10_000, minimum=1)
PULSEBOARD_MAX_RESUME = env_int("PULSEBOARD_MAX_RESUME", 300_000, minimum=1)
# Stored samples one connection may ask for a second (subscribe with since or backfill),
# on average; bursts up to PULSEBOARD_MAX_RESUME.
PULSEBOARD_HISTORY_ROWS_PER_SECOND = env_int(
    "PULSEBOARD_HISTORY_ROWS_PER_SECOND", 100_000, minimum=1
)
# The most rows one history answer reads; past it, a coarser tier answers.
PULSEBOARD_HISTORY_MAX_ROWS = env_int("PULSEBOARD_HISTORY_MAX_ROWS", 200_000, minimum=1000)
PULSEBOARD_MAX_INGEST_BATCH = env_int("PULSEBOARD_MAX_INGEST_BATCH", 5_000, minimum=1)
# The most bytes one line protocol write may carry once gzip is undone (`/api/v2/write`).
PULSEBOARD_LINE_PROTOCOL_MAX_BYTES = env_int(
    "PULSEBOARD_LINE_PROTOCOL_MAX_BYTES", 10 * 1024 * 1024, minimum=1024
)

# /metrics answers staff (session or API token) and scrapers that send
# `Authorization: Bearer <this secret>`; empty means staff only.
PULSEBOARD_METRICS_TOKEN = env_str("PULSEBOARD_METRICS_TOKEN", "")

# Samples younger than this stay rows (cheap to append and to resume from); older ones
# move into compressed blocks in the background (streams/history/compaction.py).
PULSEBOARD_HISTORY_HOT_SECONDS = env_int("PULSEBOARD_HISTORY_HOT_SECONDS", 600, minimum=0)
# A batch of this many samples or more (a push of thousands, an MQTT burst) is stored
# straight into a compressed block rather than as rows; 0: always rows.
PULSEBOARD_BLOCK_BATCH_SAMPLES = env_int("PULSEBOARD_BLOCK_BATCH_SAMPLES", 1_000, minimum=0)
# How often a producer process compacts; 0: never on its own (`manage.py compact` does).
PULSEBOARD_COMPACT_EVERY_SECONDS = env_float("PULSEBOARD_COMPACT_EVERY_SECONDS", 60.0, minimum=0)

# Rollup tiers are kept at least as long as raw samples, and by default longer.
PULSEBOARD_SECOND_ROLLUP_RETENTION_SECONDS = env_int(
    "PULSEBOARD_SECOND_ROLLUP_RETENTION_SECONDS", 7 * 86400, minimum=0
)
PULSEBOARD_MINUTE_ROLLUP_RETENTION_SECONDS = env_int(
    "PULSEBOARD_MINUTE_ROLLUP_RETENTION_SECONDS", 90 * 86400, minimum=0
)

# The producer: how often batches go out, and how often it re-reads the database.
PULSEBOARD_TICK_SECONDS = env_float("PULSEBOARD_TICK_SECONDS", 0.05, minimum=0.005)
PULSEBOARD_RECONCILE_SECONDS = env_float("PULSEBOARD_RECONCILE_SECONDS", 2.0, minimum=0.1)
# A web process started by `runserver` or a bare `daphne`/`uvicorn` runs the producer
# itself (streams/producer/embedded.py); with Redis, `manage.py produce` workers do.
PULSEBOARD_EMBEDDED_PRODUCER = env_bool("PULSEBOARD_EMBEDDED_PRODUCER", not REDIS_URL)
# Run the MQTT bridges of users' brokers beside this process's producer (off: only
# `manage.py mqttbridge` runs them). docs/ingest.md.
PULSEBOARD_MQTT_BRIDGES = env_bool("PULSEBOARD_MQTT_BRIDGES", False)
# A producer owns a stream for a lease it renews every few hundred milliseconds, so a
# dead producer's streams go on elsewhere within about a lease plus a renewal; it stops
# publishing the margin before its lease ends (its clock may differ from the others').
PULSEBOARD_LEASE_SECONDS = env_float("PULSEBOARD_LEASE_SECONDS", 1.6, minimum=0.5)
PULSEBOARD_LEASE_RENEW_SECONDS = env_float("PULSEBOARD_LEASE_RENEW_SECONDS", 0.25, minimum=0.05)
PULSEBOARD_LEASE_MARGIN_SECONDS = env_float("PULSEBOARD_LEASE_MARGIN_SECONDS", 0.3, minimum=0.0)
if PULSEBOARD_LEASE_MARGIN_SECONDS + 2 * PULSEBOARD_LEASE_RENEW_SECONDS >= PULSEBOARD_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "PULSEBOARD_LEASE_SECONDS must exceed PULSEBOARD_LEASE_MARGIN_SECONDS plus two "
        "PULSEBOARD_LEASE_RENEW_SECONDS, or a producer stops publishing between renewals."
    )
# How long a push waits for its turn to write (SQLite) before it is answered 503.
PULSEBOARD_INGEST_WAIT_SECONDS = env_float("PULSEBOARD_INGEST_WAIT_SECONDS", 5.0, minimum=0.1)
