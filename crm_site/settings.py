"""Settings, read from the environment.

DATABASE_URL   postgres://user@host:5432/name (default: SQLite file db.sqlite3, demo only)
REDIS_URL      redis://host:6379/0 (default: Celery runs tasks eagerly in-process)
SECRET_KEY     required when DEBUG is off
DEBUG          "1"/"true" for development (default on only when no SECRET_KEY is given)
ALLOWED_HOSTS  comma-separated
CSRF_TRUSTED_ORIGINS comma-separated, e.g. https://crm.example.com
CRM_DEFAULT_REGION   default phone region for numbers typed without a country code (default RU)
LANGUAGE_CODE  default interface language: en, ru or uk (default ru)
CRM_PRODUCTION "1" to turn on HTTPS-only cookies, HSTS and SSL redirect
CRM_CLIENT_IP_HEADER   production only: the header the trusted reverse proxy puts the client's address in
CRM_LOGIN_FAILURE_LIMIT / CRM_LOGIN_FAILURE_LIMIT_IP / CRM_LOGIN_COOLOFF_MINUTES   lockout after failed logins
CRM_SESSION_IDLE_MINUTES   a session ends after this long without a request
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = env_bool("CRM_PRODUCTION")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", default=not SECRET_KEY and not PRODUCTION)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "guardian",
    "simple_history",
    "import_export",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "crm_site.apps.CrmSiteConfig",
    "crm_site.customfields.apps.CustomFieldsConfig",
    "access.apps.AccessConfig",
    "access.twofactor.apps.TwoFactorConfig",
    "access.lockout.apps.LockoutConfig",
    "access.sessions.apps.SessionsConfig",
    "companies.apps.CompaniesConfig",
    "contacts.apps.ContactsConfig",
    "leads.apps.LeadsConfig",
    "deals.apps.DealsConfig",
    "timeline.apps.TimelineConfig",
    "dedup.apps.DedupConfig",
    "trash.apps.TrashConfig",
    "crm_site.lists.apps.ListsConfig",
    "crm_site.api.apps.ApiConfig",
    "crm_site.webhooks.apps.WebhooksConfig",
    "crm_site.reports.apps.ReportsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "access.headers.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "access.sessions.middleware.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm_site.validation.InputSanityMiddleware",  # NUL / control characters / oversized values: 400, nothing runs
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "access.twofactor.middleware.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm_site.urls"

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
                "crm_site.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "crm_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "access.lockout.backends.LockoutBackend",  # django-axes: refuses a locked-out username or IP first
    "django.contrib.auth.backends.ModelBackend",
    "access.backends.RoleMatrixBackend",  # entity permissions from the role matrix (per object too)
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "ru")
LANGUAGES = [("en", _("English")), ("ru", _("Russian")), ("uk", _("Ukrainian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True

CRM_DEFAULT_REGION = os.environ.get("CRM_DEFAULT_REGION", "RU").upper()
CRM_PAGE_SIZE = 25
CRM_BULK_SYNC_LIMIT = int(os.environ.get("CRM_BULK_SYNC_LIMIT", "500"))  # more rows: a background task
# Days a record stays in the recycle bin before the purge (per entity type: trash.RetentionPolicy in the admin).
CRM_TRASH_RETENTION_DAYS = int(os.environ.get("CRM_TRASH_RETENTION_DAYS", "30"))
# Who may start a duplicate scan and follow it: administrators, and roles whose edit level on the entity reaches
# this access.models.Level (2 = the department; 5 = "all" only; 1 = anyone who edits their own records).
CRM_DEDUP_SCAN_MIN_LEVEL = int(os.environ.get("CRM_DEDUP_SCAN_MIN_LEVEL", "2"))

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"

# Uploads: keep request bodies bounded; import files get their own checks.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
# Import files (dedup/importing/limits.py has the XLSX zip limits too): size in bytes, data rows.
CRM_IMPORT_MAX_FILE_SIZE = int(os.environ.get("CRM_IMPORT_MAX_FILE_SIZE", str(50 * 1024 * 1024)))
CRM_IMPORT_MAX_ROWS = int(os.environ.get("CRM_IMPORT_MAX_ROWS", "1000000"))
# Exports above this many rows run in the background (Celery) and end in a download link valid this many hours.
CRM_EXPORT_BACKGROUND_ROWS = int(os.environ.get("CRM_EXPORT_BACKGROUND_ROWS", "10000"))
CRM_EXPORT_LINK_HOURS = int(os.environ.get("CRM_EXPORT_LINK_HOURS", "24"))

# Celery: Redis when REDIS_URL is set, otherwise tasks run eagerly in-process (demo mode).
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "crm@localhost")

# Timeline: a new task's default deadline in working days; reminders this many minutes before a deadline.
CRM_TASK_DEFAULT_DAYS = int(os.environ.get("CRM_TASK_DEFAULT_DAYS", "3"))
CRM_REMIND_BEFORE_MINUTES = int(os.environ.get("CRM_REMIND_BEFORE_MINUTES", "60"))

SESSION_COOKIE_HTTPONLY = True
# Sessions live in the database, one row per login with its user, address and browser, so a user can list and
# end them (access/sessions). A session ends after CRM_SESSION_IDLE_MINUTES without a request: its expiry moves
# forward at most once a minute while the user works.
SESSION_ENGINE = "access.sessions.backend"
CRM_SESSION_IDLE_MINUTES = int(os.environ.get("CRM_SESSION_IDLE_MINUTES", str(8 * 60)))
SESSION_COOKIE_AGE = CRM_SESSION_IDLE_MINUTES * 60

# The client's address: REMOTE_ADDR, or in production the header the trusted reverse proxy sets (e.g.
# X-Forwarded-For, last address; X-Real-IP). Never read from a header outside production mode.
CRM_CLIENT_IP_HEADER = os.environ.get("CRM_CLIENT_IP_HEADER", "") if PRODUCTION else ""

# Lockout after failed logins (django-axes, access/lockout): per username and per client address, for a
# cool-off time; a wrong second-factor code counts as a failed login.
CRM_LOGIN_FAILURE_LIMIT = int(os.environ.get("CRM_LOGIN_FAILURE_LIMIT", "5"))
CRM_LOGIN_FAILURE_LIMIT_IP = int(os.environ.get("CRM_LOGIN_FAILURE_LIMIT_IP", "20"))
AXES_FAILURE_LIMIT = CRM_LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "access.lockout.handler.LockoutHandler"
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CRM_LOGIN_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the cool-off runs from the lockout, not the last try
AXES_LOCKOUT_CALLABLE = "access.lockout.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "access.audit.client_ip"
AXES_VERBOSE = False

# Two-factor login (django-otp, access/twofactor): TOTP apps and one-time recovery codes. Wrong codes back off
# exponentially per device (1, 2, 4... seconds) and count as failed logins for the lockout.
OTP_TOTP_ISSUER = os.environ.get("CRM_TOTP_ISSUER", "CRM")
OTP_TOTP_THROTTLE_FACTOR = 1
CRM_RECOVERY_CODES = 10

# Content-Security-Policy (django-csp): only the project's own scripts, styles and images; no inline code.
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
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), usb=()"
)

# REST API (crm_site/api): token or session auth, JSON only, per-token rate limit, bounded bodies.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm_site.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser's own scripts, CSRF enforced
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["crm_site.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("CRM_API_RATE", "600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm_site.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": "Every registered entity through the same rights as the screens. See README: REST API.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # the Swagger UI from the installed drf-spectacular-sidecar, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
CRM_API_MAX_BODY = int(os.environ.get("CRM_API_MAX_BODY", str(5 * 1024 * 1024)))  # bytes of a request body
CRM_API_MAX_PAGE_SIZE = 500
CRM_API_BULK_MAX = 1000
# Webhooks (crm_site/webhooks): retries with exponential backoff for this long, then the delivery failed; an
# endpoint failing for this long is paused and its owner notified.
CRM_WEBHOOK_RETRY_HOURS = int(os.environ.get("CRM_WEBHOOK_RETRY_HOURS", "24"))
CRM_WEBHOOK_PAUSE_AFTER_HOURS = int(os.environ.get("CRM_WEBHOOK_PAUSE_AFTER_HOURS", "24"))
CRM_WEBHOOK_TIMEOUT = float(os.environ.get("CRM_WEBHOOK_TIMEOUT", "10"))

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
