"""Django settings, read from environment variables with production-safe defaults.

Unset, every switch is in its production position (DEBUG off, HTTPS redirect, secure
cookies, HSTS); the local stack and the tests turn them off explicitly. Secrets never come
from here: ``SECRET_KEY`` is read from Secrets Manager on first use (see ``core.config``)
unless ``DJANGO_SECRET_KEY`` is set (``manage.py check --deploy`` in CI, for example).

There is no relational database: ``DATABASES`` uses ``tickets.db_backend``, which lets
``transaction.atomic`` enter and leave (the admin wraps its views in it) and raises on any real
ORM query. Everything persistent, staff accounts and sessions included, lives in DynamoDB.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import SimpleLazyObject

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    from core.config import app_secrets_get

    return app_secrets_get().django_secret_key


# --- Identity of this deployment -------------------------------------------------------------
PROJECT_NAME = os.environ.get("PROJECT_NAME", "ticketstoheaven")
# The deployment whose tables, secrets and parameters this is. APP_STAGE first: Zappa's handler
# sets STAGE to its own stage's name, which for the back office's function is
# ``{stage}-backoffice`` while its data is the stage's (core.config reads the same way).
STAGE = os.environ.get("APP_STAGE") or os.environ.get("STAGE", "dev")
# Every DynamoDB table is named {project}-{stage}-{name}.
TABLE_PREFIX = f"{PROJECT_NAME}-{STAGE}-"

# --- Core ------------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or SimpleLazyObject(_secret_key)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
ROOT_URLCONF = "tickets.urls"
WSGI_APPLICATION = "tickets.wsgi.application"
# Behind the admin's CloudFront distribution, API Gateway still sees its own execute-api Host,
# so Zappa puts the stage in SCRIPT_NAME (/prod) and every link would read /prod/admin/...,
# which CloudFront does not serve. There, links must start at the root. Called directly on
# its execute-api URL (the flag off), links keep the stage prefix, as they must.
FORCE_SCRIPT_NAME = "" if env_bool("DJANGO_BEHIND_CLOUDFRONT", False) else None
APPEND_SLASH = False  # the API's paths have no trailing slash; never redirect a POST

INSTALLED_APPS = [
    # contrib apps the admin needs; their models are never queried (see tickets.db_backend)
    "tickets.admin_apps.BackOfficeAdminConfig",  # django.contrib.admin with our AdminSite
    "dynamo_admin",  # the admin over PynamoDB models (its views and templates)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "tickets",
    "orders",
    "payments",
    "staff",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "staff.signin_guard.DeviceCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Our overrides of the admin's templates win over django.contrib.admin's own.
        "DIRS": [BASE_DIR / "tickets" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# No relational database anywhere (see the module docstring and tickets/db_backend).
DATABASES = {"default": {"ENGINE": "tickets.db_backend"}}

# --- Staff: accounts and sessions in the back-office table (staff/) --------------------------
AUTH_USER_MODEL = "staff.Staff"
AUTHENTICATION_BACKENDS = ["staff.backends.StaffBackend"]
SESSION_ENGINE = "staff.sessions"
SESSION_COOKIE_AGE = int(os.environ.get("STAFF_SESSION_SECONDS", str(8 * 3600)))  # a work day
SESSION_COOKIE_SAMESITE = "Lax"
# Admin messages are items beside the server-side session (no signed cookie to size or leak;
# none lost when two requests of one session finish at once: staff/messages.py).
MESSAGE_STORAGE = "staff.messages.SessionItemStorage"
# Sign-in guessing (staff/signin_guard.py): failures an address (or a known device) may make
# before each further try waits 1 s, 2 s, 4 s, ... up to the maximum; past the account's free
# attempts (from any addresses) a new device's password step no longer says whether the
# password was right (the second factor decides); counters are forgotten a window after their
# last failure. Nobody waits because of a username's failures: that would be a lock-out.
STAFF_SIGNIN_FREE_ATTEMPTS = int(os.environ.get("STAFF_SIGNIN_FREE_ATTEMPTS", "5"))
STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS = int(os.environ.get("STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS", "20"))
STAFF_SIGNIN_BASE_DELAY_SECONDS = float(os.environ.get("STAFF_SIGNIN_BASE_DELAY_SECONDS", "1"))
STAFF_SIGNIN_MAX_DELAY_SECONDS = int(os.environ.get("STAFF_SIGNIN_MAX_DELAY_SECONDS", "900"))
STAFF_SIGNIN_WINDOW_SECONDS = int(os.environ.get("STAFF_SIGNIN_WINDOW_SECONDS", "3600"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]  # fmt: skip
LOGIN_URL = "admin:login"
# Where a sign-in goes when its ``next`` is missing or unsafe (another host, ``javascript:``).
LOGIN_REDIRECT_URL = "admin:index"
# The second factor (staff/factors.py): the roles that must sign in with one (comma-separated;
# anyone who has one is asked for it), and the WebAuthn relying party (empty: the host the
# admin is served from: the first of CSRF_TRUSTED_ORIGINS, else the request's host).
STAFF_SECOND_FACTOR_ROLES = frozenset(env_list("STAFF_SECOND_FACTOR_ROLES", "finance,admin"))
STAFF_WEBAUTHN_RP_ID = os.environ.get("STAFF_WEBAUTHN_RP_ID", "")
STAFF_WEBAUTHN_ORIGIN = os.environ.get("STAFF_WEBAUTHN_ORIGIN", "")
# The admin over DynamoDB (dynamo_admin/README.md): rows per list page (each page is one or a
# few Queries of this size), where it records changes, and which of our errors it shows.
DYNAMO_ADMIN_PAGE_SIZE = int(os.environ.get("ADMIN_PAGE_SIZE", "50"))
DYNAMO_ADMIN_AUDIT_SINK = "tickets.admin_site.BackOfficeAuditSink"
DYNAMO_ADMIN_SUBMISSIONS = "core.submissions.BackOfficeSubmissions"
DYNAMO_ADMIN_CONFLICT_ERRORS = ["core.exceptions.Conflict"]
DYNAMO_ADMIN_USER_ERRORS = ["core.exceptions.ApplicationError"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Static files (see tickets/storage.py). Locally: Django's own storage, served by
# `runserver --insecure`. In Lambda (DJANGO_STATIC_STORAGE=s3): S3 under static/, served by the
# CloudFront distribution at DJANGO_STATIC_CUSTOM_DOMAIN, names from the manifest in the package.
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_MANIFEST_DIR = Path(
    os.environ.get("DJANGO_STATIC_MANIFEST_DIR") or BASE_DIR / "staticmanifest"
)
STATIC_STORAGE = os.environ.get("DJANGO_STATIC_STORAGE", "local")
if STATIC_STORAGE == "s3":
    _static_domain = os.environ.get("DJANGO_STATIC_CUSTOM_DOMAIN") or None
    _static_options = {
        "bucket_name": os.environ.get("DJANGO_STATIC_BUCKET", ""),
        "location": "static",
        "custom_domain": _static_domain,
        "querystring_auth": False,
        "region_name": os.environ.get("AWS_REGION") or "us-east-2",
        "endpoint_url": os.environ.get("AWS_ENDPOINT_URL") or None,
    }
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "tickets.storage.StaticStorage", "OPTIONS": _static_options},
    }
    STATIC_URL = f"https://{_static_domain}/static/" if _static_domain else "/static/"
elif STATIC_STORAGE == "local":
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    STATIC_URL = os.environ.get("DJANGO_STATIC_URL", "/static/")
else:
    raise ImproperlyConfigured(
        f"DJANGO_STATIC_STORAGE must be 'local' or 's3', not {STATIC_STORAGE!r}"
    )

# Bodies are small JSON documents; anything bigger is refused with a 400 before parsing. The
# Stripe webhook reads its raw body itself, up to its own 1 MiB (payments.webhooks).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Security (production positions by default) ----------------------------------------------
# API Gateway terminates TLS and tells us the scheme in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- Django REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # The storefront API is anonymous; staff use the admin with its own sessions.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "core.api_exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TicketsToHeaven storefront API",
    # The long description, headers, error codes and examples: orders/api_schema.py.
    "DESCRIPTION": "See orders.api_schema.API_DESCRIPTION (set by the hook below).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Applies the views' extend_schema first (core/api_docs.py says why they wait).
    "DEFAULT_GENERATOR_CLASS": "core.api_schema_generator.SchemaGenerator",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "orders.api_schema.ORDER_STATE_CHOICES",
        "FulfillmentStateEnum": "orders.api_schema.FULFILLMENT_STATE_CHOICES",
        # Error codes two answers share (one enum component each, named, not hashed).
        "NotFoundCodeEnum": ["not_found"],
        "UnavailableCodeEnum": ["payment_provider_unavailable", "service_unavailable"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "orders.api_schema.schema_postprocess",
    ],
}

# --- E-mail to buyers: Amazon SES v2 through django-anymail (integrations.email) -----------------
# The sender and the configuration set are SSM parameters (core.config); boto3 finds the
# emulator through AWS_ENDPOINT_URL locally, and the Lambda role's credentials in AWS.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "anymail.backends.amazon_ses.EmailBackend")
ANYMAIL = {
    "AMAZON_SES_CLIENT_PARAMS": {
        "region_name": os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-2",
        # SES answers in well under a second; a stuck call is retried by the sweeper.
        "config": {"connect_timeout": 3, "read_timeout": 10, "retries": {"max_attempts": 2}},
    },
}

# --- CORS: only the storefront's origins, only the API ------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
# The admin's "View site" link: the storefront's address (Terraform's ``storefront_url``);
# unset, the admin shows no such link (the back office itself has no public site).
STOREFRONT_URL = os.environ.get("STOREFRONT_URL", "").strip()
CORS_URLS_REGEX = r"^/(catalog|orders|onsales|schema)(/.*)?$"
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_ALLOW_HEADERS = ["accept", "content-type", "idempotency-key", "api-version", "line-token"]
CORS_EXPOSE_HEADERS = ["retry-after", "x-request-id"]
CORS_PREFLIGHT_MAX_AGE = 3600

# --- Logging: JSON lines to stdout (CloudWatch Logs in Lambda) --------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # botocore at DEBUG prints request bodies, which can hold secrets.
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "pynamodb": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
    },
}
