"""Helpa's settings: one file, read from the environment, with safe defaults for one machine.

Everything an installation changes comes from environment variables (see README):
DATABASE_URL, REDIS_URL, HELPA_DATA_DIR, HELPA_SECRET_KEY, HELPA_BASE_URL, HELPA_DEBUG.
"""

import sys
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from helpa.lib.env import envbool, envint, envstr

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("HELPA_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or envbool("HELPA_TESTING")
DEBUG = envbool("HELPA_DEBUG", False)


def _secret_key() -> str:
    """The key from the environment, or one generated once and kept in the data directory."""
    from_env = envstr("HELPA_SECRET_KEY")
    if from_env:
        return from_env
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
BASE_URL = envstr("HELPA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = [h for h in envstr("HELPA_ALLOWED_HOSTS", "").split(",") if h] or [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "testserver",
]
from urllib.parse import urlsplit  # noqa: E402

_base_host = urlsplit(BASE_URL).hostname
if _base_host and _base_host not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_base_host)
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    "helpa.accounts",
    "helpa.crm",
    "helpa.tickets",
    "helpa.mail",
    "helpa.sms",
    "helpa.automation",
    "helpa.portal",
    "helpa.webforms",
    "helpa.kb",
    "helpa.administration",
    "helpa.privacy",
    "helpa.reports",
    "helpa.api",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

# Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses), so rate
# limits see the visitor's address rather than the proxy's (helpa/lib/proxy.py).
TRUSTED_PROXIES = [a.strip() for a in envstr("HELPA_TRUSTED_PROXIES").split(",") if a.strip()]

MIDDLEWARE = [
    "helpa.lib.proxy.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "helpa.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "helpa.urls"
WSGI_APPLICATION = "helpa.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpa.accounts.context_processors.workspace",
            ],
            "builtins": ["helpa.tickets.templatetags.helpa_tags"],
        },
    }
]

# --- Database: embedded SQLite by default, PostgreSQL when DATABASE_URL is set -------------------
DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "helpa.sqlite3",
            # WAL lets the worker write while web requests read; IMMEDIATE avoids the
            # "database is locked" upgrade deadlock between two writers. A checkpoint (copying
            # the WAL into the database file) every 10,000 pages (~40 MB) rather than SQLite's
            # 1,000: the pages every write touches (index ends, the search index) are copied
            # once per checkpoint, not ten times — a fifth of each mail's commit time.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA wal_autocheckpoint=10000;"
                ),
            },
            # A file, not :memory:, so that a worker or server process started by a test
            # sees the same test database.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
# Points a process at another database of the same server (a test's worker at the test database).
if envstr("HELPA_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = envstr("HELPA_DATABASE_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) serve PostgreSQL; SQLite builds them without the extra columns,
# which is fine — say nothing about it on every command.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Full-text search configuration on PostgreSQL (stemming language).
SEARCH_CONFIG = envstr("HELPA_SEARCH_CONFIG", "swedish")

# --- Background worker (Huey) --------------------------------------------------------------------
REDIS_URL = envstr("REDIS_URL")
HUEY: dict[str, object]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": envstr("HELPA_HUEY_NAME", "helpa"),
        "connection": {"url": REDIS_URL},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": envstr("HELPA_HUEY_NAME", "helpa"),
        "filename": envstr("HELPA_HUEY_FILE") or str(DATA_DIR / "huey.sqlite3"),
    }
HUEY["immediate"] = envbool("HELPA_HUEY_IMMEDIATE", TESTING)
HUEY["utc"] = True
# flush_locks: a worker killed during a mailbox poll or an outbox run leaves its lock behind;
# a starting worker clears such locks, so polling never stays stopped.
HUEY["consumer"] = {
    "workers": envint("HELPA_WORKERS", 2),
    "worker_type": "thread",
    "flush_locks": True,
}

# --- REST API (helpa/api/) -----------------------------------------------------------------------
# Requests per API token (or per signed-in user); DRF's "600/min" notation. Counted in Django's
# cache: per process with the default local-memory cache.
HELPA_API_RATE = envstr("HELPA_API_RATE", "600/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpa.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["helpa.api.permissions.AgentWithTokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["helpa.api.throttling.PerTokenThrottle"],
    "DEFAULT_PAGINATION_CLASS": "helpa.api.pagination.IdCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpa.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpa API",
    "VERSION": "1",
    "DESCRIPTION": "Tickets, contacts and companies of a Helpa helpdesk. Authenticate with "
    "`Authorization: Bearer <token>` (a personal API token).",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validity badge: Swagger UI would fetch it from an outside validator service.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Two choice sets are both called "status": a ticket's keeps its name, an article's gets one.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "helpa.tickets.models.Status.choices",
        "KbArticleStatusEnum": "helpa.api.serializers.KB_ARTICLE_STATUSES",
    },
}

# --- Auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Languages: English source, Swedish complete ------------------------------------------------
# The installation's language: the fallback for users, and the language of mail to contacts
# (auto-replies, notices) until contacts carry their own.
LANGUAGE_CODE = envstr("HELPA_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("sv", _("Swedish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = envstr("HELPA_TIME_ZONE", "Europe/Stockholm")
USE_TZ = True

# --- Files ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
MEDIA_ROOT = DATA_DIR / "files"
MEDIA_URL = "/files/"  # never served directly: downloads go through a permission check
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING or DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = TESTING or DEBUG
# Uploads above the admin-set limit are refused by the form; this caps what Django buffers.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_BACKEND = (
    "django.core.mail.backends.locmem.EmailBackend"
    if TESTING
    else envstr("HELPA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
)
DEFAULT_FROM_EMAIL = envstr("HELPA_FROM_EMAIL", "helpa@localhost")
# The installation's outgoing mail server, e.g. smtp://user:password@mail.example.com:587
# (STARTTLS), smtps://… (TLS) or smtp://127.0.0.1:25 (plain). A queue may set its own.
# Unset: outgoing mail waits in the outbox, with the reason shown on each message.
HELPA_SMTP_URL = envstr("HELPA_SMTP_URL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("HELPA_LOG_LEVEL", "INFO")},
    # The worker prints its own log lines; passing them to the root logger too would double them.
    "loggers": {"huey": {"level": "INFO", "propagate": False}},
}
