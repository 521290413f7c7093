"""Settings of the back office's Lambda function (Zappa stage ``prod-backoffice``): the Django
admin under ``/admin/`` (staff sign-in, sessions, every staff page and action) and ``/health``.

Everything of ``tickets.settings`` (the one-server settings ``make dev`` and the tests use)
except what only the public API needs: no CORS, no REST framework app, no OpenAPI generator.
The storefront's paths and Stripe's webhooks are 404s here: CloudFront sends them to the
public API.

This function runs under the back-office IAM role (infra/iam.tf) and with the Stripe key that
may refund (secret ``{project}/{stage}/stripe-backoffice``, named by ``STRIPE_KEY_NAME`` in
zappa_settings.json).
"""

from tickets.settings import *  # noqa: F403
from tickets.settings import MIDDLEWARE as _ONE_SERVER_MIDDLEWARE

FUNCTION = "backoffice"
ROOT_URLCONF = "tickets.urls_backoffice"

INSTALLED_APPS = [
    "tickets.admin_apps.BackOfficeAdminConfig",  # django.contrib.admin with our AdminSite
    "dynamo_admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tickets",
    "orders",
    "payments",
    "staff",
]

MIDDLEWARE = [m for m in _ONE_SERVER_MIDDLEWARE if m != "corsheaders.middleware.CorsMiddleware"]
