"""Settings of the public API's Lambda function (Zappa stage ``prod``): the storefront's
endpoints (``/catalog``, ``/orders*``), Stripe's webhooks, ``/health`` and ``/schema``, and the
scheduled jobs that keep orders and payments moving (docs/deploy.md, "Two functions").

Everything of ``tickets.settings`` (the one-server settings ``make dev`` and the tests use)
except what only staff need: no admin, ``dynamo_admin`` or ``staff`` app, no auth, sessions or
messages, templates only for the buyers' e-mails, and no OpenAPI generator at request time
(``/schema`` serves the document generated at build time, ``storefront/openapi.json``, which
the package carries and ``tests/storefront`` keeps equal to what the generator makes). A
request under ``/admin/`` is a 404 here: CloudFront sends it to the back office.

This function runs under the public IAM role (infra/iam.tf), which cannot read staff accounts,
sessions or the audit log, and with Stripe's restricted key (secret ``{project}/{stage}/stripe``),
which cannot refund; ``tests/test_architecture.py`` proves no refund path is reachable from
here.
"""

from tickets.settings import *  # noqa: F403
from tickets.settings import BASE_DIR, REST_FRAMEWORK

FUNCTION = "public"
ROOT_URLCONF = "tickets.urls_public"

INSTALLED_APPS = [
    "corsheaders",
    "rest_framework",
    "tickets",
    "orders",
    "payments",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Every view here is exempt (DRF's APIView, the webhook, /schema); kept so that a view
    # added later without meaning to be is protected (and `check --deploy` stays clean).
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# JSON only: no page of this function is drawn from a template. The buyers' e-mails are
# (orders/templates/orders/email/: the webhook's task and the sweeper send them from here).
TEMPLATES: list[dict] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
# Nobody signs in here (the API is anonymous; staff use the back office).
AUTHENTICATION_BACKENDS: list[str] = []
# The OpenAPI document, generated at build time (``make storefront-client``), served as is.
API_SCHEMA_FILE = BASE_DIR / "storefront" / "openapi.json"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_SCHEMA_CLASS": None}
