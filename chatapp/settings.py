"""Settings for the team chat, read from the environment.

Defaults make `make run` work with no configuration: SQLite under var/, the in-memory channel
layer (one process), and the offline simulator when no GEMINI_API_KEY is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .env import database_from_url, env_bool, env_int, env_list, env_str

# Where templates/ and static/ live: the checkout, or the image's /app (APP_ROOT) when the
# package itself is installed as a wheel.
BASE_DIR = Path(env_str("APP_ROOT", str(Path(__file__).resolve().parent.parent)))
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY") or ("dev-only-insecure-key" if DEBUG else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
if not DEBUG:
    # Production refuses to start half-configured, naming everything that is missing.
    _missing = [
        name
        for name, value in (("SECRET_KEY", SECRET_KEY), ("ALLOWED_HOSTS", ALLOWED_HOSTS))
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(
            "Missing required settings for production (DEBUG=false): " + ", ".join(_missing)
        )

INSTALLED_APPS = [
    # Daphne first, so `runserver` is the ASGI server.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chatapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CSP with a per-request nonce, no-store for signed-in pages (chatapp.headers); outside
    # the session and CSRF layers so that their own responses carry the headers too.
    "chatapp.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's chosen language over the browser's (chatapp.languages).
    "chatapp.languages.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatapp.urls"
ASGI_APPLICATION = "chatapp.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chatapp.context_processors.upstream",
                "chatapp.theme.theme",  # data-theme on <html>, no flash
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": database_from_url(DATABASE_URL)
    if DATABASE_URL
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        # WAL: readers never wait for the writer and a commit is an append, not a sync of
        # the whole file (bench/relay.py: commit p99 78 ms -> under 1 ms).
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        "CONN_MAX_AGE": None,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One process: the in-memory layer. Many workers: Redis pub/sub carries requests between
# workers and to sockets (the frames themselves travel in Redis Streams: chatapp.delivery).
# Pub/sub, not the list-based layer: its subscriber reconnects and resubscribes by itself,
# so a Redis restart of a few seconds ends no consumer (the list-based layer raises into
# every consumer, closing every socket, and can leave its receive lock held afterwards).
REDIS_URL = env_str("REDIS_URL")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": 15,
                    "socket_connect_timeout": 5,
                    # A connection idle this long is pinged before use: after a Redis
                    # restart the pool's dead connections are replaced, not used.
                    "health_check_interval": 5,
                }
            ],
        },
    }
    if REDIS_URL
    else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The page's language follows the browser (or the person's choice); catalogues in locale/.
LANGUAGES = [("en", "English"), ("es", "Español"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The image collects static files at build time, outside the data volume.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# Stored files: the local disk, or an S3-compatible store shared by every machine
# (chatapp.media_storage), from MEDIA_STORAGE_URL or the usual AWS_STORAGE_BUCKET_NAME.
MEDIA_STORAGE_URL = env_str("MEDIA_STORAGE_URL")
if MEDIA_STORAGE_URL:
    from .media_storage import storage_from_url

    _media_storage = storage_from_url(MEDIA_STORAGE_URL)
elif env_str("AWS_STORAGE_BUCKET_NAME"):
    from .media_storage import s3_storage

    _media_storage = s3_storage(
        {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "location": env_str("AWS_LOCATION"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL"),
            "region_name": env_str("AWS_S3_REGION_NAME"),
        }
    )
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# WhiteNoise serves from STATIC_ROOT; it must exist even before collectstatic has run.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG

# --- upstream: the Interactions API, or the built-in simulator when no key is set ---
GEMINI_API_KEY = env_str("GEMINI_API_KEY")
GEMINI_BASE_URL = env_str("GOOGLE_GEMINI_BASE_URL")
GEMINI_API_VERSION = env_str("GEMINI_API_VERSION", "v1")
USE_SIMULATOR = not GEMINI_API_KEY
SIMULATOR_TOKENS_PER_SECOND = env_int("SIMULATOR_TOKENS_PER_SECOND", 12)
UPSTREAM_READ_TIMEOUT_SECONDS = env_int("UPSTREAM_READ_TIMEOUT_SECONDS", 120)
UPSTREAM_MAX_RETRIES = env_int("UPSTREAM_MAX_RETRIES", 2)
BACKGROUND_POLL_SECONDS = env_int("BACKGROUND_POLL_SECONDS", 2)
BACKGROUND_MAX_POLL_SECONDS = env_int("BACKGROUND_MAX_POLL_SECONDS", 15)
# Gemini's webhooks (POST /hooks/gemini/, chatapp.gemini_webhooks): the signing secret(s),
# `whsec_…`, comma-separated during a rotation. Set, background turns wait for the webhook
# and poll only every WEBHOOK_SAFETY_POLL_SECONDS; agent schedules look for trigger results
# every AGENT_TRIGGER_POLL_SECONDS whatever (chatapp.agent_triggers).
GEMINI_WEBHOOK_SECRET = env_list("GEMINI_WEBHOOK_SECRET", [])
WEBHOOK_SAFETY_POLL_SECONDS = env_int("WEBHOOK_SAFETY_POLL_SECONDS", 300)
AGENT_TRIGGER_POLL_SECONDS = env_int("AGENT_TRIGGER_POLL_SECONDS", 60)
# Upstream streams per worker: UPSTREAM_POOLS pools of UPSTREAM_POOL_CONNECTIONS connections.
UPSTREAM_POOLS = env_int("UPSTREAM_POOLS", 8)
UPSTREAM_POOL_CONNECTIONS = env_int("UPSTREAM_POOL_CONNECTIONS", 64)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "chatapp.logs.JSONFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_str("LOG_FORMAT", "plain" if DEBUG else "json"),
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request line at INFO: noise in a chat server's log.
    "loggers": {"httpx": {"level": "WARNING"}},
}
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- the chat ---
CHAT_MODELS = {
    "Text": env_list(
        "CHAT_TEXT_MODELS", ["gemini-3.5-flash", "gemini-3.1-pro-preview", "gemini-2.5-flash"]
    ),
    "Images": env_list("CHAT_IMAGE_MODELS", ["gemini-3.1-flash-image", "gemini-3-pro-image"]),
    "Agents": env_list(
        "CHAT_AGENTS", ["antigravity-preview-05-2026", "deep-research-preview-04-2026"]
    ),
}
DEFAULT_MODEL = env_str("CHAT_DEFAULT_MODEL", CHAT_MODELS["Text"][0])
# Human names, descriptions, context windows and default prices of models (chatapp.catalogue).
CHAT_CATALOGUE_FILE = env_str("CHAT_CATALOGUE_FILE", str(BASE_DIR / "chatapp" / "catalogue.json"))
# After a conversation's first answer, this small model writes its title (empty: the first
# line of the message stays the title).
CHAT_TITLE_MODEL = env_str("CHAT_TITLE_MODEL", "gemini-2.5-flash-lite")
OPEN_SIGNUP = env_bool("OPEN_SIGNUP", False)
CHAT_RECOVERY_INTERVAL_SECONDS = env_int("CHAT_RECOVERY_INTERVAL_SECONDS", 15)
CHAT_RECOVERY_STALE_SECONDS = env_int("CHAT_RECOVERY_STALE_SECONDS", 20)
# A stopping worker (SIGTERM) lets running answers finish this long, then hands the rest to
# the other workers (chatapp.shutdown). Give the process manager's stop timeout a few more.
CHAT_SHUTDOWN_GRACE_SECONDS = env_int("CHAT_SHUTDOWN_GRACE_SECONDS", 20)
# How often each worker looks for due scheduled prompts (chatapp.scheduler); 0 turns it off.
CHAT_SCHEDULE_INTERVAL_SECONDS = env_int("CHAT_SCHEDULE_INTERVAL_SECONDS", 20)
# A generation's writes wait this long for a database that went away (a restart) before the
# turn fails (chatapp.db_retry).
CHAT_DB_RETRY_SECONDS = env_int("CHAT_DB_RETRY_SECONDS", 120)
# Open websockets (tabs) per user across all workers; one more is refused with close code 4429.
CHAT_MAX_SOCKETS_PER_USER = env_int("CHAT_MAX_SOCKETS_PER_USER", 30)
# A page that hears nothing of a running answer for this long asks for a snapshot.
CHAT_STALL_SECONDS = env_int("CHAT_STALL_SECONDS", 15)
# Test faults only: live frames each socket drops once per turn ("3,7,final"), to prove
# that pages resync. Never set in production.
CHAT_FAULT_DROP_FRAMES = frozenset(
    int(item) if item.isdigit() else item for item in env_list("CHAT_FAULT_DROP_FRAMES", [])
)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- tools ---
# Extra function tools as dotted paths to Python functions, e.g. "myteam.tools.lookup_order".
CHAT_TOOLS = env_list("CHAT_TOOLS", [])
# Each call runs in a tool process (chatapp.tool_runner), killed past any of these limits:
# wall-clock, CPU time, and memory allocated beyond what the process held before the call.
TOOL_TIMEOUT_SECONDS = env_int("TOOL_TIMEOUT_SECONDS", 20)
TOOL_CPU_SECONDS = env_int("TOOL_CPU_SECONDS", 10)
TOOL_MEMORY_MB = env_int("TOOL_MEMORY_MB", 512)
# Tool processes per worker, started before the first call; more calls at once wait their turn.
TOOL_PROCESSES = env_int("TOOL_PROCESSES", 2)
for _name in ("TOOL_TIMEOUT_SECONDS", "TOOL_CPU_SECONDS", "TOOL_MEMORY_MB", "TOOL_PROCESSES"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be positive")
TOOL_MAX_ROUNDS = env_int("TOOL_MAX_ROUNDS", 8)
# MCP servers registered on /team/mcp/ must be https; plain http only to this machine, in dev.
MCP_ALLOW_LOOPBACK_HTTP = env_bool("MCP_ALLOW_LOOPBACK_HTTP", DEBUG)
# A Maps JavaScript API *browser* key (restricted by referrer in Google Cloud) for the
# contextual Maps widget of Maps-grounded answers; unset: places are listed without it.
GOOGLE_MAPS_WIDGET_KEY = env_str("GOOGLE_MAPS_WIDGET_KEY")

# --- uploads ---
# Per-kind size limits; the largest also bounds a whole upload request.
UPLOAD_MAX_BYTES = {
    "image": env_int("UPLOAD_MAX_IMAGE_MB", 20) * 1024 * 1024,
    "audio": env_int("UPLOAD_MAX_AUDIO_MB", 50) * 1024 * 1024,
    "video": env_int("UPLOAD_MAX_VIDEO_MB", 100) * 1024 * 1024,
    "document": env_int("UPLOAD_MAX_DOCUMENT_MB", 50) * 1024 * 1024,
}
# Media this large (and any video) goes to Gemini's Files API, streamed from our copy and
# used by uri (chatapp.remote_files); smaller images stay inline. The API takes 2 GB a file.
FILES_API_MIN_BYTES = env_int("FILES_API_MIN_MB", 15) * 1024 * 1024
FILES_API_ACTIVE_TIMEOUT_SECONDS = env_int("FILES_API_ACTIVE_TIMEOUT_SECONDS", 600)
if max(UPLOAD_MAX_BYTES.values()) > 2048 * 1024 * 1024:
    raise ImproperlyConfigured("UPLOAD_MAX_*_MB: the Files API takes 2048 MB a file at most")
# Knowledge base documents (Gemini's file search stores take 100 MB a document).
KNOWLEDGE_MAX_DOCUMENT_BYTES = env_int("KNOWLEDGE_MAX_DOCUMENT_MB", 100) * 1024 * 1024
# Images with more pixels are refused as possible decompression bombs, from their headers:
# nothing is decoded (chatapp.image_headers).
UPLOAD_MAX_IMAGE_PIXELS = env_int("UPLOAD_MAX_IMAGE_PIXELS", 50_000_000)

# --- request bodies ---
# Daphne answers 413 before reading a body over the limit (chatapp.daphne_tuning): requests
# without a session cookie (sign-in forms are a few hundred bytes), then signed-in requests
# other than /upload (the largest UPLOAD_MAX_*_MB) and /import (20 MB).
REQUEST_MAX_ANONYMOUS_BYTES = env_int("REQUEST_MAX_ANONYMOUS_KB", 1024) * 1024
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_KB", 2560) * 1024

# --- production security (DEBUG off); every value can be tuned from the environment ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The load balancer's probes come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Joining browsers' preload list is a separate, deliberate step (see hstspreload.org).
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"
# Links out of a conversation never tell the other site which page they came from.
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# --- single sign-on: OIDC_* from chatapp.settings_sso (checked there) ---
from .settings_sso import *  # noqa: E402,F403
from .settings_sso import SSO_ENABLED  # noqa: E402

if SSO_ENABLED:
    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",  # local accounts first
        "chatapp.sso.Backend",
    ]
# The login page's "Sign in with …" button when SSO is on; adds nothing otherwise.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("chatapp.sso.login_button")

# --- administration ---
# Limits for users an admin has not set limits for (chatapp.limits); unset or 0: no limit.
DEFAULT_MESSAGES_PER_MINUTE = env_int("DEFAULT_MESSAGES_PER_MINUTE", 0) or None
DEFAULT_TOKENS_PER_DAY = env_int("DEFAULT_TOKENS_PER_DAY", 0) or None
# Sign-in throttling (chatapp.limits): this many failed attempts for one username from one
# address, or for any usernames from one address (IPv6: one /64), then that address is refused
# (without checking the password) until the window, counted from the first failure, is over.
# Never per username alone: a stranger must not be able to lock someone out. 0 turns a limit
# off. The address is REMOTE_ADDR: behind a proxy, Daphne needs --proxy-headers.
SIGNIN_MAX_FAILURES = env_int("SIGNIN_MAX_FAILURES", 5)
SIGNIN_MAX_FAILURES_PER_ADDRESS = env_int("SIGNIN_MAX_FAILURES_PER_ADDRESS", 20)
SIGNIN_WINDOW_MINUTES = env_int("SIGNIN_WINDOW_MINUTES", 15)
for _name in (
    "DEFAULT_MESSAGES_PER_MINUTE",
    "DEFAULT_TOKENS_PER_DAY",
    "SIGNIN_MAX_FAILURES",
    "SIGNIN_MAX_FAILURES_PER_ADDRESS",
    "SIGNIN_WINDOW_MINUTES",
):
    if (globals()[_name] or 0) < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative")
# Share links (chatapp.share_links): a link's page is rendered once, when it is made, and served as
# stored. SHARE_MAX_BYTES caps what one link holds, its frozen copy and its page each; a bigger
# branch is refused with a message (rendering a 5 MB page takes 6-12 s of CPU, once; a view of
# the stored page, 50 ms). Anonymous views of share pages are throttled per address (IPv6: per
# /64) to SHARE_VIEWS_PER_MINUTE, and their downloads of a share's files to
# SHARE_DOWNLOAD_MB_PER_MINUTE; 0 turns a throttle off.
SHARE_MAX_BYTES = env_int("SHARE_MAX_BYTES", 5 * 2**20)
SHARE_VIEWS_PER_MINUTE = env_int("SHARE_VIEWS_PER_MINUTE", 60)
SHARE_DOWNLOAD_MB_PER_MINUTE = env_int("SHARE_DOWNLOAD_MB_PER_MINUTE", 200)
if SHARE_MAX_BYTES <= 0:
    raise ImproperlyConfigured("SHARE_MAX_BYTES must be positive")
for _name in ("SHARE_VIEWS_PER_MINUTE", "SHARE_DOWNLOAD_MB_PER_MINUTE"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative")
# The throttle's counters live in the cache: shared by every worker through Redis when set.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
