"""Jiebang settings: one file, every deployment value from the environment.

See README ("配置" / "Configuration") for the variables and their defaults.
The embedded default (no variables set, DEBUG=1) is SQLite with Celery eager.
"""

import logging
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

if DEBUG:
    # Only for local development; production must provide its own key.
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-local-development-only-key")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "csp",
    "accounts",
    "audit",
    "calls",
    "proposals",
    "experts",
    "reviews",
    "exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes must come last so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
_default_db = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", _default_db), conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0)
        )
    }
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_PREPARED_STATEMENTS", True):
    # Server-side parameters, and a statement run 5 times on a connection is prepared: PostgreSQL
    # then skips parsing and planning it (most of a short query's cost; a submit runs about 20).
    # Turn off behind a pooler in transaction mode that cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not memory) so that a Celery worker process can see the test data.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test"}
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker, result backend and cache -----------------------
REDIS_URL = env_str("REDIS_URL", None)
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://.")

CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "close-calls-at-deadline": {
        "task": "calls.close_overdue",
        "schedule": timedelta(minutes=1),
    },
    "invitation-reminders-and-expiry": {
        "task": "reviews.invitation_housekeeping",
        "schedule": timedelta(minutes=15),
    },
    "verify-audit-chain": {
        "task": "audit.verify_chain",
        "schedule": timedelta(hours=6),
    },
    "remove-expired-exports": {
        "task": "exports.cleanup",
        "schedule": timedelta(hours=1),
    },
}
# acks_late tasks of a killed worker stay unacknowledged in Redis; kombu moves them back to the
# queue once they are older than visibility_timeout, checking every unacked_restore_interval
# seconds (throttle 1: every check scans). Recovery time ≈ visibility_timeout + interval
# (default 1800 + 10 s). The timeout must exceed the longest task including its retry
# countdown (exports: hard limit 900 s + back-off up to 300 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 1800, minimum=1),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10, minimum=1),
    "unacked_restore_throttle": 1,
}
# Export files (exports app) are deleted this many hours after they are built.
EXPORT_TTL_HOURS = env_int("EXPORT_TTL_HOURS", 72, minimum=1)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication -------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any hashing happens.
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "home"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Proposal attachments and exports: never under MEDIA_URL, served by views only.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "private")))
ATTACHMENT_MAX_MB = env_int("ATTACHMENT_MAX_MB", 20, minimum=1)
# Where private files live: a local (or mounted, shared) folder, or an S3-compatible bucket
# (MinIO, OSS, COS, …) that every web and worker host reaches — needed once workers run on other hosts.
PRIVATE_STORAGE = env_choice(
    "PRIVATE_STORAGE",
    "filesystem",
    {"filesystem": "config.storage.PrivateStorage", "s3": "storages.backends.s3.S3Storage"},
)
_private_options = {}
if PRIVATE_STORAGE == "storages.backends.s3.S3Storage":
    _private_options = {
        "bucket_name": env_str("S3_BUCKET"),
        "endpoint_url": env_str("S3_ENDPOINT_URL", None),
        "region_name": env_str("S3_REGION", None),
        "access_key": env_str("S3_ACCESS_KEY_ID", None),
        "secret_key": env_str("S3_SECRET_ACCESS_KEY", None),
        "location": env_str("S3_PREFIX", "private"),
        # Objects stay private: no public ACL, no URLs handed out; views stream them after the check.
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": True,
    }
# nginx internal location (e.g. /_private/) that aliases PRIVATE_MEDIA_ROOT: views answer with
# X-Accel-Redirect after their permission check and nginx sends the bytes. Empty: Django streams.
PRIVATE_ACCEL_REDIRECT = env_str("PRIVATE_ACCEL_REDIRECT", "")
if PRIVATE_ACCEL_REDIRECT and not (PRIVATE_ACCEL_REDIRECT.startswith("/") and PRIVATE_ACCEL_REDIRECT.endswith("/")):
    raise ImproperlyConfigured("PRIVATE_ACCEL_REDIRECT must be a path that starts and ends with '/', e.g. /_private/.")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": PRIVATE_STORAGE, "OPTIONS": _private_options},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Without collectstatic (tests, first start) WhiteNoise finds files in place.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail ----------------------------------------------------------------
EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "console",
    {
        "console": "django.core.mail.backends.console.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    },
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "jiebang@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security ---------------------------------------------------------------
# Secure by default whenever DEBUG is off; each can be relaxed explicitly
# (e.g. SECURE_SSL_REDIRECT=0 when a proxy already redirects).
_secure = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _secure)
# Load balancers and monitors probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _secure)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _secure)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _secure else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _secure)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _secure)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Only behind a proxy that sets X-Forwarded-For itself; otherwise clients could forge it.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level.")
# LOG_FORMAT=json: one JSON object a line (timestamp in UTC, level, logger, message and any extra
# fields such as task_id or job_id) for log collectors; plain (default) is for people reading a terminal.
# Celery workers and beat use this same configuration (config/celery.py, setup_logging).
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", {"plain": "plain", "json": "json"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env_str("API_LOGIN_RATE", "10/min")},
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    # Rate limits key on the client address; X-Forwarded-For only from our own proxy.
    "NUM_PROXIES": 1 if TRUST_X_FORWARDED_FOR else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "揭榜挂帅 Jiebang API",
    "DESCRIPTION": "Challenge calls, consortium proposals, expert review and awards (揭榜挂帅).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Enum components named after their choices, wherever a field of that name appears.
    "ENUM_NAME_OVERRIDES": {
        "CallStatusEnum": "calls.choices.CallStatus",
        "SupportModeEnum": "calls.choices.SupportMode",
        "TechFieldEnum": "calls.choices.TechField",
        "ComparatorEnum": "calls.choices.Comparator",
        "AggregationEnum": "calls.choices.Aggregation",
        "NoticeDayKindEnum": "calls.choices.NoticeDayKind",
        "AmendmentKindEnum": "calls.choices.AmendmentKind",
        "ProposalStatusEnum": "proposals.choices.ProposalStatus",
        "UnitRoleEnum": "proposals.choices.UnitRole",
        "FundingSourceEnum": "proposals.choices.FundingSource",
        "AttachmentKindEnum": "proposals.choices.AttachmentKind",
        "TeamRoleEnum": "proposals.choices.TeamRole",
        "ExpertTypeEnum": "experts.choices.ExpertType",
        "ConflictReasonEnum": "experts.choices.ConflictReason",
        "DeclaredConflictReasonEnum": "reviews.api.DECLARED_REASON_CHOICES",
        "ConflictStatusEnum": "experts.choices.ConflictStatus",
        "DrawStatusEnum": "reviews.models.DrawStatus",
        "InvitationStatusEnum": "reviews.models.InvitationStatus",
        "ScoreStatusEnum": "reviews.models.ScoreStatus",
        "ObjectionStatusEnum": "reviews.models.ObjectionStatus",
        "ExportKindEnum": "exports.models.ExportKind",
        "ExportStatusEnum": "exports.models.ExportStatus",
        "RoleEnum": "accounts.models.Role",
        "OrganizationTypeEnum": "accounts.models.OrganizationType",
        "CreditStatusEnum": "accounts.models.CreditStatus",
        "RegionEnum": "accounts.regions.Region",
        "FinaliseOutcomeEnum": [("awarded", "awarded"), ("failed", "failed")],
    },
}

# Jiebang-specific
JIEBANG_SITE_NAME = _("Jiebang: open challenge calls")
