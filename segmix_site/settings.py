"""segmix settings: one file, read from the environment.

Defaults just work locally (SQLite under ``var/``, Redis on localhost). Production sets at least
``DEBUG=0``, ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``SEGMIX_ENCRYPTION_KEY``;
the README lists every variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SEGMIX_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret(name: str, filename: str, make: callable) -> str:
    """The environment's value, else (DEBUG only) a value generated once under ``var/``.

    Production must configure secrets explicitly: a generated key on one machine would not be
    shared by the other web and worker machines.
    """
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def database_from_url(url: str) -> dict:
    """Django DATABASES entry for ``postgres://user:pass@host:port/name`` or ``sqlite:///path``."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": env_int("SEGMIX_DB_CONN_MAX_AGE", 60),
            # Off: a health check is one more `SELECT 1` round trip at the start of every
            # request, and round trips are most of an ingest request's client CPU. The price: a
            # connection that died while idle (database restart, network cut) is found by the
            # request that uses it: ingest replaces it and tries once more; a console page
            # errors once, and Django then replaces it.
            "CONN_HEALTH_CHECKS": False,
            "OPTIONS": {"connect_timeout": 5, **options},
        }
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("//"):  # sqlite:////abs/path
            path = path[1:]
        elif path.startswith("/"):  # sqlite:///relative/path
            path = str(BASE_DIR / path[1:])
        return sqlite_database(Path(path))
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported.")


def sqlite_database(path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # WAL + synchronous=FULL: a committed ingest survives a crash (acceptance = durability).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        "TEST": {"NAME": str(path.with_name("test_" + path.name))},
    }


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = local_secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "mappings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "segmix_site.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "segmix_site.urls"
WSGI_APPLICATION = "segmix_site.wsgi.application"

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

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL"))
    if env_str("DATABASE_URL")
    else sqlite_database(VAR_DIR / "segmix.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("SEGMIX_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up when it is missing
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security headers. The console is served over HTTPS in production (SEGMIX_HTTPS=1).
SEGMIX_HTTPS = env_bool("SEGMIX_HTTPS", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SEGMIX_HTTPS
CSRF_COOKIE_SECURE = SEGMIX_HTTPS
SECURE_SSL_REDIRECT = SEGMIX_HTTPS and env_bool("SEGMIX_SSL_REDIRECT", True)
# Segment clients treat a redirect as failure (or, worse, as delivered): never redirect ingest.
SECURE_REDIRECT_EXEMPT = [r"^v1/", r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SEGMIX_HSTS_SECONDS", 31536000 if SEGMIX_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SEGMIX_HTTPS
SECURE_HSTS_PRELOAD = SEGMIX_HTTPS
if env_bool("SEGMIX_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Secrets at rest (destination API secrets). Comma-separated Fernet keys: the first encrypts,
# all decrypt, so a key can be rotated by prepending the new one.
SEGMIX_ENCRYPTION_KEYS = env_list(
    "SEGMIX_ENCRYPTION_KEY",
    local_secret("SEGMIX_ENCRYPTION_KEY", "encryption_key", lambda: Fernet.generate_key().decode()),
)

# Redis and Celery.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("SEGMIX_VISIBILITY_TIMEOUT", 300)}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Mixpanel.
SEGMIX_MIXPANEL_API_URL = env_str("SEGMIX_MIXPANEL_API_URL").rstrip("/")
SEGMIX_MIXPANEL_TIMEOUT = env_float("SEGMIX_MIXPANEL_TIMEOUT", 30.0)
SEGMIX_MIXPANEL_IMPORT_MAX_BYTES = env_int("SEGMIX_MIXPANEL_IMPORT_MAX_BYTES", 9_500_000)
SEGMIX_MIXPANEL_PROFILE_BATCH_SIZE = env_int("SEGMIX_MIXPANEL_PROFILE_BATCH_SIZE", 2000)
SEGMIX_RETRY_WINDOW = env_int("SEGMIX_RETRY_WINDOW", 4 * 3600)

# Delivery (mappings/delivery): batching across requests, leases, relay and retention.
SEGMIX_FLUSH_LINGER = env_float("SEGMIX_FLUSH_LINGER", 1.0)  # seconds events wait to share a flush
SEGMIX_FLUSH_MAX_EVENTS = env_int("SEGMIX_FLUSH_MAX_EVENTS", 1000)  # deliveries claimed per flush
# A claim expires after this; keep it above SEGMIX_MIXPANEL_TIMEOUT plus a margin.
SEGMIX_LEASE_SECONDS = env_int("SEGMIX_LEASE_SECONDS", 300)
SEGMIX_RELAY_INTERVAL = env_float("SEGMIX_RELAY_INTERVAL", 5.0)
SEGMIX_PRUNE_INTERVAL = env_float("SEGMIX_PRUNE_INTERVAL", 3600.0)
# Stored events are also the dedup keys: keep them at least a day (Segment dedupes for 24 h).
SEGMIX_RETENTION_EVENTS_DAYS = max(1, env_int("SEGMIX_RETENTION_EVENTS_DAYS", 30))
SEGMIX_RETENTION_REJECTS_DAYS = env_int("SEGMIX_RETENTION_REJECTS_DAYS", 30)
SEGMIX_RETENTION_REQUEST_LOG_DAYS = env_int("SEGMIX_RETENTION_REQUEST_LOG_DAYS", 7)
SEGMIX_RETENTION_MIXPANEL_REQUESTS_DAYS = env_int("SEGMIX_RETENTION_MIXPANEL_REQUESTS_DAYS", 30)
CELERY_BEAT_SCHEDULE = {
    # The relay makes a lost Celery message or a wiped Redis only a delay (docs/pipeline.md).
    "segmix-relay": {
        "task": "mappings.tasks.relay",
        "schedule": SEGMIX_RELAY_INTERVAL,
        "options": {"expires": SEGMIX_RELAY_INTERVAL},
    },
    "segmix-prune": {"task": "mappings.tasks.prune", "schedule": SEGMIX_PRUNE_INTERVAL},
}

# Ingest (mappings/ingest): the Segment Tracking API under /v1/.
# Host (optionally with a port, no scheme) that SDKs fetching /v1/projects/<key>/settings are told
# to send to; mobile SDKs let it override their own. Empty = the Host of that settings request.
SEGMIX_PUBLIC_INGEST_HOST = env_str("SEGMIX_PUBLIC_INGEST_HOST")
# Per-source token buckets in Redis (spec §6.4); a source's own limits override these.
SEGMIX_RATE_LIMIT_REQUESTS = env_int("SEGMIX_RATE_LIMIT_REQUESTS", 1000)  # requests per second
SEGMIX_RATE_LIMIT_MESSAGES = env_int("SEGMIX_RATE_LIMIT_MESSAGES", 50000)  # messages per second
# Proxies (IPs or CIDRs) whose X-Forwarded-For is believed when finding the client IP.
SEGMIX_TRUSTED_PROXIES = env_list("SEGMIX_TRUSTED_PROXIES")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("SEGMIX_LOG_LEVEL", "INFO")},
}
