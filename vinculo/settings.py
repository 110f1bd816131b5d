"""Vínculo settings: one module, configured from the environment.

Environment variables (all optional):
  DATABASE_URL            sqlite:///path or postgres://user@host:port/db (default: SQLite in var/)
  VINCULO_DB_POOL_MIN_SIZE/MAX_SIZE/TIMEOUT  PostgreSQL connection pool per process (2/8/10 s;
                          MAX_SIZE=0 turns the pool off, then VINCULO_CONN_MAX_AGE applies)
  VINCULO_SQLITE_POOL_SIZE  SQLite: open connections kept per process for the next request
                          (default 8; 0 opens and closes one per request)
  VINCULO_PG_PARALLEL_WORKERS  PostgreSQL max_parallel_workers_per_gather for the app's
                          sessions (default 0: page queries read few rows; "" keeps the
                          server's setting)
  VINCULO_VAR_DIR         SQLite file, secret key, uploads and warehouse (default: ./var)
  VINCULO_SECRET_KEY      secret key; if unset one is generated once and kept in var/secret_key
  VINCULO_DEBUG           "1" to turn DEBUG on (demo/dev only)
  VINCULO_ALLOWED_HOSTS   comma-separated host names (default: localhost,127.0.0.1,[::1])
  VINCULO_TASKS_BACKEND   "db" (default), "rq" (needs VINCULO_REDIS_URL) or "immediate" (tests)
  VINCULO_REDIS_URL       redis://127.0.0.1:6379/0 for the RQ task backend
  VINCULO_EMAIL_HOST/PORT SMTP server for outgoing mail (default localhost:25)
  VINCULO_WAREHOUSE_PATH  the DuckDB warehouse file (default: var/warehouse.duckdb)
  VINCULO_WAREHOUSE_MEMORY_LIMIT  DuckDB memory cap per process, e.g. 2GB (default 2GB)
  VINCULO_WAREHOUSE_THREADS  DuckDB threads (default: one per core)
  VINCULO_IMPORT_UPLOADS_KEEP_DAYS  days an abandoned import file is kept (default 7)
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VINCULO_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("VINCULO_SECRET_KEY") or os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    # Demo/dev convenience: generate once and keep it, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("VINCULO_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("VINCULO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(
        ","
    )
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("VINCULO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "vinculo.core",
    "vinculo.accounts",
    "vinculo.customers",
    "vinculo.interactions",
    "vinculo.sales",
    "vinculo.analytics",
    "vinculo.devdata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "vinculo.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "vinculo.urls"
WSGI_APPLICATION = "vinculo.wsgi.application"
ASGI_APPLICATION = "vinculo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "vinculo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% url %} and |date without their per-call overhead (vinculo.core.fast, 0014).
            "builtins": ["vinculo.core.templatetags.fast_builtins"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vinculo.core.context_processors.ui",
                "vinculo.accounts.context_processors.capabilities",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'vinculo.sqlite3'}"),
        conn_max_age=int(os.environ.get("VINCULO_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs its sync view in a new thread, and Django's connections
    # are per thread: a persistent connection (CONN_MAX_AGE > 0) is never reused and lingers
    # until the garbage collector finds it, so each request paid a new connection. A pool per
    # process hands one connection to each request and takes it back (Django 5.1+; needs
    # CONN_MAX_AGE = 0). VINCULO_DB_POOL_MAX_SIZE=0 turns it off (e.g. behind PgBouncer).
    _pool_max = int(os.environ.get("VINCULO_DB_POOL_MAX_SIZE", "8"))
    if _pool_max > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a dead connection is replaced
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(int(os.environ.get("VINCULO_DB_POOL_MIN_SIZE", "2")), _pool_max),
            "max_size": _pool_max,
            # A request waits this long for a free connection, then fails rather than queue.
            "timeout": float(os.environ.get("VINCULO_DB_POOL_TIMEOUT", "10")),
            "max_idle": 300.0,  # idle connections above min_size are closed after 5 minutes
        }
    # Page queries read a few rows by index; a parallel plan for a LIMIT 51 starts workers
    # that compete with the web processes for the same cores (decision 0014).
    _parallel = os.environ.get("VINCULO_PG_PARALLEL_WORKERS", "0")
    if _parallel != "":
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c max_parallel_workers_per_gather={int(_parallel)}"
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work at once; IMMEDIATE transactions avoid
    # "database is locked" upgrades when two writers race.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA cache_size=-64000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Django's SQLite backend plus a pool of open connections per process: a new connection
    # parses the whole schema and starts with a cold page cache (decision 0015).
    DATABASES["default"]["ENGINE"] = "vinculo.core.db.sqlite"
    DATABASES["default"]["POOL_SIZE"] = int(os.environ.get("VINCULO_SQLITE_POOL_SIZE", "8"))
    # ":memory:" (what None means to Django) spelled out: pytest-django recognises an
    # in-memory test database by this name or by Django's own engine path, not ours.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("VINCULO_TEST_SQLITE_NAME") or ":memory:"
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Ours loads the user with the ids of the teams they manage in one query (decision 0016);
# Django's stays listed so sessions signed in through it before keep working.
AUTHENTICATION_BACKENDS = [
    "vinculo.accounts.backends.VinculoModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "vinculo" / "locale"]
TIME_ZONE = os.environ.get("VINCULO_TIME_ZONE", "Europe/Madrid")
USE_I18N = True
USE_TZ = True
VINCULO_DEFAULT_CURRENCY = os.environ.get("VINCULO_DEFAULT_CURRENCY", "EUR")
VINCULO_DEFAULT_REGION = os.environ.get("VINCULO_DEFAULT_REGION", "ES")  # for phone parsing

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "vinculo" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Import files abandoned (never run, or cancelled) for this many days are deleted by the
# scheduled `vinculo clean_import_uploads` (docs/operations.md).
_keep_days = os.environ.get("VINCULO_IMPORT_UPLOADS_KEEP_DAYS", "7").strip()
if not _keep_days.isdigit() or int(_keep_days) < 1:
    raise ImproperlyConfigured(
        f"VINCULO_IMPORT_UPLOADS_KEEP_DAYS must be a whole number of days, 1 or more "
        f"(got {_keep_days!r})."
    )
IMPORT_UPLOADS_KEEP_DAYS = int(_keep_days)
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- Analytics warehouse (DuckDB file; see vinculo/analytics/warehouse) --------------------------
VINCULO_WAREHOUSE_PATH = Path(
    os.environ.get("VINCULO_WAREHOUSE_PATH", VAR_DIR / "warehouse.duckdb")
).resolve()
# DuckDB's own default is 80 % of the machine's RAM for every process that opens the
# warehouse; past the limit a refresh spills to <warehouse>.tmp instead (docs/warehouse.md).
VINCULO_WAREHOUSE_MEMORY_LIMIT = os.environ.get("VINCULO_WAREHOUSE_MEMORY_LIMIT", "2GB").strip()
if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B)", VINCULO_WAREHOUSE_MEMORY_LIMIT, re.I):
    raise ImproperlyConfigured(
        f"VINCULO_WAREHOUSE_MEMORY_LIMIT must be a size like 2GB or 512MB "
        f"(got {VINCULO_WAREHOUSE_MEMORY_LIMIT!r})."
    )
_wh_threads = os.environ.get("VINCULO_WAREHOUSE_THREADS", "").strip()
if _wh_threads and (not _wh_threads.isdigit() or int(_wh_threads) < 1):
    raise ImproperlyConfigured(
        f"VINCULO_WAREHOUSE_THREADS must be a whole number, 1 or more (got {_wh_threads!r})."
    )
VINCULO_WAREHOUSE_THREADS = int(_wh_threads) if _wh_threads else None  # None: one per core

# --- Background tasks (django.tasks API via the django-tasks backport) -------------------------
_tasks_backend = os.environ.get("VINCULO_TASKS_BACKEND", "db")
if _tasks_backend == "rq":
    INSTALLED_APPS.append("django_tasks_rq")
    RQ_QUEUES = {
        "default": {"URL": os.environ.get("VINCULO_REDIS_URL", "redis://127.0.0.1:6379/0")}
    }
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif _tasks_backend == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Email ----------------------------------------------------------------------------------------
EMAIL_HOST = os.environ.get("VINCULO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("VINCULO_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("VINCULO_FROM_EMAIL", "crm@localhost")

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, read with a precompiled statement (vinculo.core.sessions).
SESSION_ENGINE = "vinculo.core.sessions"
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the cookie-less meta tag; kept default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG and _env_bool("VINCULO_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VINCULO_LOG_LEVEL", "WARNING")},
}

NINJA_PAGINATION_PER_PAGE = 50
